// One client interface over any transport. The renderer talks to `ServiceClient`; a transport
// only knows how to send one call and how to deliver events.
import { HangarError, type ErrorCode } from './errors.ts';
import { METHOD_PARAMS, type HangarEvent, type HangarService, type MethodName, type ServiceParams, type ServiceResults, type WireError } from './service.ts';

export interface Transport {
  call(method: MethodName, params: unknown): Promise<unknown>;
  /** Deliver pushed events to `listener`; returns an unsubscribe function. */
  onEvent(listener: (e: HangarEvent) => void): () => void;
  close?(): void;
}

export type ServiceClient = HangarService & {
  onEvent(listener: (e: HangarEvent) => void): () => void;
  close(): void;
};

const METHODS = Object.keys(METHOD_PARAMS) as MethodName[];

export function createClient(t: Transport): ServiceClient {
  const client: Record<string, unknown> = {
    onEvent: (l: (e: HangarEvent) => void) => t.onEvent(l),
    close: () => t.close?.(),
  };
  for (const m of METHODS) {
    client[m] = (params: ServiceParams[typeof m]) => t.call(m, params) as Promise<ServiceResults[typeof m]>;
  }
  return client as ServiceClient;
}

/** Rebuild a HangarError from what a transport carried, so callers can branch on `code`. */
export function errorFromWire(e: WireError): HangarError {
  return new HangarError(e.code, e.message, e.details);
}

const CODES: readonly ErrorCode[] = ['usage', 'invalid-config', 'not-found', 'exists', 'inaccessible', 'corrupt', 'locked', 'unsupported', 'io', 'state', 'internal'];

export function isWireError(v: unknown): v is WireError {
  const o = v as WireError | null;
  return typeof o === 'object' && o !== null && typeof o.message === 'string' && CODES.includes(o.code);
}
