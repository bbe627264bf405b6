// The VM process's end of the control socket: a Unix socket (mode 0600, so only the user who
// started the VM can control it) that speaks JSON lines (protocol.ts, PROTOCOL.md). Requests
// are answered in order per connection; events go to connections that subscribed to them.
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { HangarError } from '../api/errors.ts';
import {
  EVENT_KINDS, LineDecoder, errorResponse, parseRequest, type EventKind, type Request, type Response, type VmEvent,
} from './protocol.ts';

export interface ControlConnection {
  readonly subscriptions: Set<EventKind>;
  send(msg: Response | VmEvent): void;
}

export type RequestHandler = (req: Request, conn: ControlConnection) => Promise<unknown>;

class Connection implements ControlConnection {
  readonly subscriptions = new Set<EventKind>();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly socket: Socket, handler: RequestHandler) {
    const decoder = new LineDecoder((line) => {
      // Answer in order: each request waits for the previous one.
      this.queue = this.queue.then(async () => {
        let req: Request;
        try {
          req = parseRequest(line);
        } catch (err) {
          this.send(errorResponse(undefined, err));
          return;
        }
        try {
          const result = await handler(req, this);
          this.send({ id: req.id, ok: true, result: result ?? {} });
        } catch (err) {
          this.send(errorResponse(req.id, err));
        }
      });
    });
    socket.on('data', (d: Buffer) => {
      try {
        decoder.push(d);
      } catch (err) {
        this.send(errorResponse(undefined, err));
        socket.end();
      }
    });
    socket.on('error', () => socket.destroy());
  }

  send(msg: Response | VmEvent): void {
    if (!this.socket.writable) return;
    this.socket.write(JSON.stringify(msg) + '\n');
  }
}

export class ControlServer {
  private server: Server | undefined;
  private readonly conns = new Set<Connection>();

  constructor(readonly path: string, private readonly handler: RequestHandler) {}

  async listen(): Promise<void> {
    rmSync(this.path, { force: true }); // a stale socket from a VM process that died
    const server = createServer((s) => {
      const c = new Connection(s, this.handler);
      this.conns.add(c);
      s.on('close', () => this.conns.delete(c));
    });
    // Create the socket file with mode 0600 from the start (no window where others could connect).
    const old = process.umask(0o177);
    try {
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(this.path, () => res());
      });
    } catch (err) {
      throw new HangarError('io', `cannot create the control socket ${this.path}: ${(err as Error).message}`);
    } finally {
      process.umask(old);
    }
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  broadcast(ev: VmEvent): void {
    for (const c of this.conns) if (c.subscriptions.has(ev.event)) c.send(ev);
  }

  /** Stop accepting, let pending writes drain, then close every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await Promise.all([...this.conns].map((c) => new Promise<void>((res) => {
      c.socket.end(() => res());
      setTimeout(res, 200).unref();
    })));
    for (const c of this.conns) c.socket.destroy();
    if (server) await new Promise<void>((res) => server.close(() => res()));
    rmSync(this.path, { force: true });
  }
}

export function parseEventKinds(v: unknown): EventKind[] {
  if (v === undefined) return [...EVENT_KINDS];
  if (!Array.isArray(v) || v.some((k) => !(EVENT_KINDS as readonly string[]).includes(k))) {
    throw new HangarError('usage', `subscribe: argument "events" must be a list of ${EVENT_KINDS.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as EventKind[];
}
