// Web-mode transport: JSON messages over one WebSocket (see wire.ts). Works with the
// browser's WebSocket and with the `ws` package in Node (benchmarks, tests).
import { HangarError } from './errors.ts';
import { errorFromWire, isWireError, type Transport } from './client.ts';
import type { HangarEvent, MethodName } from './service.ts';
import type { WireRequest, WireServerMessage } from './wire.ts';

/** The part of the WebSocket interface this transport uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error', l: () => void): void;
  addEventListener(type: 'message', l: (e: { data: unknown }) => void): void;
}

const OPEN = 1;

export function wsTransport(socket: SocketLike): Transport {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: HangarEvent) => void>();
  let closed: HangarError | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    if (socket.readyState === OPEN) resolve();
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('close', () => reject(new HangarError('io', 'the connection to the Hangar service was refused or closed; check that "hangar serve" is running and reload with the URL it printed')));
  });
  opened.catch(() => {});

  const failAll = (): void => {
    closed = new HangarError('io', 'the connection to the Hangar service closed; restart "hangar serve" and reload the page with the URL it prints');
    for (const p of pending.values()) p.reject(closed);
    pending.clear();
  };
  socket.addEventListener('close', failAll);
  socket.addEventListener('message', (e) => {
    let msg: WireServerMessage;
    try {
      msg = JSON.parse(String(e.data)) as WireServerMessage;
    } catch {
      return; // not ours: ignore rather than break every pending call
    }
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(isWireError(msg.error) ? errorFromWire(msg.error) : new HangarError('internal', 'the service sent a malformed error'));
  });

  return {
    async call(method: MethodName, params: unknown): Promise<unknown> {
      await opened;
      if (closed) throw closed;
      const id = nextId++;
      const req: WireRequest = { id, method, params };
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify(req));
      });
    },
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: () => socket.close(),
  };
}
