// Preload script (sandboxed, context-isolated): exposes `window.hangar` with one function that
// calls the service, and hands the page the MessagePort that carries service events. No
// ipcRenderer, no callbacks and no Node APIs reach the page. A sandboxed preload cannot load
// local modules, so the two channel names are repeated here (a unit test keeps them equal
// to src-core/api/bridge.ts).
import { contextBridge, ipcRenderer } from 'electron';
import type { BridgeResult, HangarBridge } from '../src-core/api/bridge.ts';

export const CALL_CHANNEL = 'hangar:call';
export const EVENTS_MESSAGE = 'hangar:events';

const bridge: HangarBridge = Object.freeze({
  call(method: string, params: unknown): Promise<BridgeResult> {
    return ipcRenderer.invoke(CALL_CHANNEL, String(method), params) as Promise<BridgeResult>;
  },
});

contextBridge.exposeInMainWorld('hangar', bridge);

/** The page's window, as far as this script uses it (typed here so the file needs no DOM lib). */
const page = globalThis as unknown as { location: { origin: string }; postMessage(message: unknown, targetOrigin: string, transfer: unknown[]): void };

ipcRenderer.on(EVENTS_MESSAGE, (event) => {
  // Only the port goes to the page, addressed to the app's own origin.
  page.postMessage(EVENTS_MESSAGE, page.location.origin, [...event.ports]);
});
