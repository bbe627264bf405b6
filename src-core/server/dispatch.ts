// One entry for every transport: check the method name and its parameters against the API's
// zod schemas, run the call, and turn any failure into the {code, message} clients receive.
import { HangarError } from '../api/errors.ts';
import { isMethodName, METHOD_PARAMS, type HangarService, type WireError } from '../api/service.ts';

export type DispatchResult = { ok: true; result: unknown } | { ok: false; error: WireError };

export function toWireError(err: unknown): WireError {
  if (err instanceof HangarError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  const errno = err as NodeJS.ErrnoException;
  if (err instanceof Error && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
    // A file-system failure: its message names the path and the reason.
    return { code: 'io', message: err.message };
  }
  return { code: 'internal', message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/** Check a call from outside; returns the parsed parameters or throws a usage error. */
export function checkCall(method: unknown, params: unknown): { method: keyof HangarService; params: unknown } {
  if (!isMethodName(method)) throw new HangarError('usage', `unknown service method ${JSON.stringify(method)}`);
  const parsed = METHOD_PARAMS[method].safeParse(params ?? {});
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
    throw new HangarError('usage', `${method}: bad parameters: ${what}`);
  }
  return { method, params: parsed.data };
}

/** `service` may be a part of the API (the library half alone, in tests); the rest answers 'unsupported'. */
export async function dispatch(service: Partial<HangarService>, method: unknown, params: unknown): Promise<DispatchResult> {
  try {
    const c = checkCall(method, params);
    const fn = service[c.method] as ((p: unknown) => Promise<unknown>) | undefined;
    if (!fn) throw new HangarError('unsupported', `${c.method} is not available from this service`);
    return { ok: true, result: await fn(c.params) };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}
