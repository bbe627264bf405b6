// The client end of a VM's control socket, used by the manager and the CLI.
import { connect, type Socket } from 'node:net';
import { HangarError, type ErrorCode } from '../api/errors.ts';
import { LineDecoder, type Command, type EventKind, type Response, type VmEvent } from './protocol.ts';

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  private readonly listeners = new Set<(ev: VmEvent) => void>();
  private closedErr: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket, readonly path: string) {
    const decoder = new LineDecoder((line) => this.onLine(line));
    socket.on('data', (d: Buffer) => decoder.push(d));
    this.closed = new Promise((res) => {
      socket.on('close', () => {
        this.closedErr ??= new HangarError('state', `the VM closed its control socket ${path}`);
        for (const p of this.pending.values()) p.rej(this.closedErr);
        this.pending.clear();
        res();
      });
    });
    socket.on('error', (err) => {
      this.closedErr = new HangarError('io', `control socket ${path}: ${err.message}`);
    });
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((res, rej) => {
      const s = connect(path);
      const t = setTimeout(() => {
        s.destroy();
        rej(new HangarError('io', `control socket ${path} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        res(new ControlClient(s, path));
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(t);
        rej(new HangarError(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'state' : 'io',
          `cannot reach the VM's control socket ${path}: ${err.message} (is the VM running?)`));
      });
    });
  }

  private onLine(line: string): void {
    let msg: Response | VmEvent;
    try {
      msg = JSON.parse(line) as Response | VmEvent;
    } catch {
      return;
    }
    if ('event' in msg) {
      for (const l of this.listeners) l(msg);
      return;
    }
    const id = typeof msg.id === 'number' ? msg.id : -1;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (msg.ok) p.res(msg.result);
    else p.rej(new HangarError(msg.error.code as ErrorCode, msg.error.message));
  }

  request<T = unknown>(cmd: Command, args?: Record<string, unknown>): Promise<T> {
    if (this.closedErr || this.socket.destroyed) return Promise.reject(this.closedErr ?? new HangarError('state', 'control socket is closed'));
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { res: res as (v: unknown) => void, rej });
      this.socket.write(JSON.stringify({ id, cmd, ...(args ? { args } : {}) }) + '\n');
    });
  }

  onEvent(cb: (ev: VmEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async subscribe(events: EventKind[], opts: { backlog?: boolean } = {}): Promise<void> {
    await this.request('subscribe', { events, ...(opts.backlog ? { backlog: true } : {}) });
  }

  /** Write a raw line (tests use this to send malformed input). */
  writeRaw(text: string): void {
    this.socket.write(text);
  }

  /** Flush what was written, then close (a destroy right away would drop pending requests). */
  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
