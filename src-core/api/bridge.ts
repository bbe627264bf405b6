// Desktop transport. The Electron preload script exposes `window.hangar` (HangarBridge) through
// contextBridge: one function that invokes a service method, and nothing else. Results come
// back wrapped so error codes survive IPC (Electron flattens thrown errors to strings).
// Events arrive on a MessagePort the preload script hands to the page (BRIDGE_EVENTS_MESSAGE).
import { HangarError } from './errors.ts';
import { errorFromWire, isWireError, type Transport } from './client.ts';
import type { HangarEvent, MethodName, WireError } from './service.ts';

export type BridgeResult = { ok: true; result: unknown } | { ok: false; error: WireError };

export interface HangarBridge {
  call(method: string, params: unknown): Promise<BridgeResult>;
}

/** IPC channel of service calls (renderer -> main). */
export const BRIDGE_CALL_CHANNEL = 'hangar:call';
/** Message (main -> preload -> page) that transfers the event port. */
export const BRIDGE_EVENTS_MESSAGE = 'hangar:events';

/** Minimal view of the page's window used to receive the event port. */
export interface EventPortSource {
  addEventListener(type: 'message', l: (e: { data: unknown; ports: readonly { onmessage: ((e: { data: unknown }) => void) | null; start(): void }[] }) => void): void;
}

export function bridgeTransport(bridge: HangarBridge, win?: EventPortSource): Transport {
  const listeners = new Set<(e: HangarEvent) => void>();
  win?.addEventListener('message', (e) => {
    const port = e.ports[0];
    if (e.data !== BRIDGE_EVENTS_MESSAGE || !port) return;
    port.onmessage = (m) => {
      for (const l of listeners) l(m.data as HangarEvent);
    };
    port.start();
  });
  return {
    async call(method: MethodName, params: unknown) {
      const r = await bridge.call(method, params);
      if (r.ok) return r.result;
      throw isWireError(r.error) ? errorFromWire(r.error) : new HangarError('internal', 'the desktop shell sent a malformed error');
    },
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}
