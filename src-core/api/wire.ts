// Messages on a service connection (WebSocket in web mode). Requests carry an id chosen by
// the client; each gets exactly one response with the same id. Events carry no id.
import type { HangarEvent, MethodName, WireError } from './service.ts';

export interface WireRequest {
  id: number;
  method: MethodName;
  params: unknown;
}

export type WireResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

export interface WireEvent {
  event: HangarEvent;
}

export type WireServerMessage = WireResponse | WireEvent;

/** Name of the query parameter (web mode) that carries the access token. */
export const TOKEN_PARAM = 'token';
/** Path of the WebSocket endpoint in web mode. */
export const WS_PATH = '/api';
