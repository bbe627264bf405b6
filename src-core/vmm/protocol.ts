// The control protocol spoken on a running VM's control socket: JSON lines (one JSON object
// per "\n"-terminated line) in both directions. PROTOCOL.md is the user-facing description;
// this file is its single source of truth for names and shapes.
import { HangarError, type ErrorCode } from '../api/errors.ts';
import type { VmState } from './states.ts';
import type { StatsSample } from './stats.ts';

export const PROTOCOL_VERSION = 1;
/** A line longer than this is refused (a client cannot make the VM buffer without bound). */
export const MAX_LINE_BYTES = 1024 * 1024;

export const COMMANDS = [
  'query-status', 'query-stats', 'pause', 'resume', 'reset', 'acpi-powerbutton', 'poweroff', 'savestate',
  'attach-media', 'detach-media', 'subscribe', 'unsubscribe', 'serial-input',
] as const;
export type Command = (typeof COMMANDS)[number];

export const EVENT_KINDS = ['state', 'serial', 'panic', 'stats', 'log'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface Request {
  id?: number | string;
  cmd: Command;
  args?: Record<string, unknown>;
}

export type Response =
  | { id?: number | string; ok: true; result: unknown }
  | { id?: number | string; ok: false; error: { code: ErrorCode; message: string } };

export type VmEvent =
  | { event: 'state'; state: VmState; previous: VmState; reason?: string }
  | { event: 'serial'; port: string; b64: string }
  | { event: 'panic'; message: string }
  | { event: 'stats'; sample: StatsSample }
  | { event: 'log'; level: string; message: string };

export interface StatusResult {
  protocol: number;
  uuid: string;
  name: string;
  state: VmState;
  pid: number;
  uptimeMs: number;
  socket: string;
  engine: string;
  cpuCap: number;
  priority: string;
}

/** Splits a byte stream into lines; refuses lines longer than the limit. */
export class LineDecoder {
  private buf = '';
  constructor(private readonly onLine: (line: string) => void, private readonly max = MAX_LINE_BYTES) {}

  push(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      if (line.trim() !== '') this.onLine(line);
    }
    if (this.buf.length > this.max) {
      this.buf = '';
      throw new HangarError('usage', `control protocol: a line is longer than ${this.max} bytes`);
    }
  }
}

/** Parses and checks one request line; errors say what was wrong and what is allowed. */
export function parseRequest(line: string): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new HangarError('usage', `control protocol: not valid JSON (${(err as Error).message}); send one JSON object per line like {"id":1,"cmd":"query-status"}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HangarError('usage', 'control protocol: each line must be a JSON object like {"id":1,"cmd":"query-status"}');
  }
  const r = raw as Record<string, unknown>;
  if (r.id !== undefined && typeof r.id !== 'number' && typeof r.id !== 'string') {
    throw new HangarError('usage', `control protocol: "id" must be a number or a string, got ${JSON.stringify(r.id)}`);
  }
  if (typeof r.cmd !== 'string' || !(COMMANDS as readonly string[]).includes(r.cmd)) {
    throw new HangarError('usage', `control protocol: unknown command ${JSON.stringify(r.cmd)}; allowed: ${COMMANDS.join(', ')}`);
  }
  if (r.args !== undefined && (typeof r.args !== 'object' || r.args === null || Array.isArray(r.args))) {
    throw new HangarError('usage', `control protocol: "args" must be an object, got ${JSON.stringify(r.args)}`);
  }
  return { id: r.id as Request['id'], cmd: r.cmd as Command, args: r.args as Record<string, unknown> | undefined };
}

export function errorResponse(id: Request['id'], err: unknown): Response {
  if (err instanceof HangarError) return { id, ok: false, error: { code: err.code, message: err.message } };
  return { id, ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
}

/** Argument helpers: each names the command, the argument and what is allowed. */
export function argString(cmd: string, args: Record<string, unknown> | undefined, key: string, optional = false): string | undefined {
  const v = args?.[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new HangarError('usage', `${cmd}: argument "${key}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function argInt(cmd: string, args: Record<string, unknown> | undefined, key: string, min: number, max: number, optional = false): number | undefined {
  const v = args?.[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HangarError('usage', `${cmd}: argument "${key}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}
