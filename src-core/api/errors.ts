// Errors every layer raises. A HangarError carries a stable code that the CLI maps to an
// exit status and the service API sends to clients; the message is written for the user.

export type ErrorCode =
  | 'usage' // the caller asked for something malformed (CLI exit 2)
  | 'invalid-config' // a machine setting failed validation
  | 'not-found'
  | 'exists'
  | 'inaccessible' // a registered VM whose folder or file cannot be read
  | 'corrupt' // a file on disk is damaged
  | 'locked'
  | 'unsupported'
  | 'io'
  | 'state' // an operation that the current state does not allow
  | 'internal';

export class HangarError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HangarError';
    this.code = code;
    this.details = details;
  }
}

/** Process exit status for an error: 2 for usage errors, 1 for everything operational. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof HangarError && (err.code === 'usage' || err.code === 'invalid-config')) return 2;
  return 1;
}

export function usageError(message: string): HangarError {
  return new HangarError('usage', message);
}
