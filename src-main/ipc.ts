// The main-process end of the bridge: one IPC channel for service calls. Each call must come
// from the app's own top-level page (custom protocol, main frame) and is checked against the
// API's zod schemas by dispatch() before it reaches the library.
import { BRIDGE_CALL_CHANNEL, type BridgeResult } from '../src-core/api/bridge.ts';
import type { HangarService } from '../src-core/api/service.ts';
import { dispatch } from '../src-core/server/dispatch.ts';
import { isAppUrl } from './protocol.ts';

/** The parts of Electron's WebFrameMain the check reads. */
export interface FrameLike {
  url: string;
  parent: unknown;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: FrameLike | null }, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** True only for the top frame of a page the app itself served. */
export function isTrustedFrame(frame: FrameLike | null | undefined): boolean {
  if (!frame || frame.parent) return false;
  return isAppUrl(frame.url);
}

export async function handleCall(service: HangarService, frame: FrameLike | null, method: unknown, params: unknown): Promise<BridgeResult> {
  if (!isTrustedFrame(frame)) {
    return { ok: false, error: { code: 'usage', message: `refused a service call from ${frame?.url ?? 'an unknown frame'}: only the Hangar window may call the service` } };
  }
  return dispatch(service, method, params);
}

export function registerIpc(ipcMain: IpcMainLike, service: HangarService): () => void {
  ipcMain.handle(BRIDGE_CALL_CHANNEL, (event, method, params, ...extra) => {
    if (extra.length) return Promise.resolve({ ok: false, error: { code: 'usage', message: 'a service call takes exactly a method and one parameter object' } });
    return handleCall(service, event.senderFrame, method, params);
  });
  return () => ipcMain.removeHandler(BRIDGE_CALL_CHANNEL);
}
