// Picks the transport: the desktop shell's bridge when the preload script put one on the
// window, else the web-mode WebSocket with the token from the URL `hangar serve` printed.
import { bridgeTransport, type EventPortSource, type HangarBridge } from '../../../src-core/api/bridge.ts';
import { createClient, type ServiceClient } from '../../../src-core/api/client.ts';
import { TOKEN_PARAM, WS_PATH } from '../../../src-core/api/wire.ts';
import { wsTransport, type SocketLike } from '../../../src-core/api/ws-transport.ts';

const TOKEN_KEY = 'hangar.token';

export function connect(): ServiceClient {
  const bridge = (window as unknown as { hangar?: HangarBridge }).hangar;
  if (bridge) return createClient(bridgeTransport(bridge, window as unknown as EventPortSource));
  const params = new URLSearchParams(location.search);
  let token = params.get(TOKEN_PARAM);
  if (token) {
    // Keep the token for reloads of this tab, and out of the address bar and history.
    sessionStorage.setItem(TOKEN_KEY, token);
    params.delete(TOKEN_PARAM);
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  } else {
    token = sessionStorage.getItem(TOKEN_KEY);
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}${WS_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token ?? '')}`);
  return createClient(wsTransport(ws as unknown as SocketLike));
}
