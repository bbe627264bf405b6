// Where a serial port's bytes go outside the guest, for library VMs (the VM process) and for
// `hangar run` alike:
//   file:PATH              guest output appended to PATH (written synchronously, so a line the
//                          guest printed is in the file by the time anyone hears of it)
//   tcp:127.0.0.1:PORT     a listening socket; every connected client (e.g. `nc 127.0.0.1 PORT`)
//                          sees the output and types into the port. Only the loopback address
//                          is accepted: the console is a root shell for whoever reaches it.
// Backends are engine-agnostic: the caller feeds guest output to write() and passes onInput
// to receive what clients type. The terminal (`hangar run --serial stdio`) stays in the CLI.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { HangarError, usageError } from '../api/errors.ts';

export type SerialBackendSpec = { kind: 'file'; path: string } | { kind: 'tcp'; port: number };
export type SerialSpec = { kind: 'stdio' } | SerialBackendSpec;

export const LOOPBACK = '127.0.0.1';

/**
 * Parses `stdio`, `file:PATH` or `tcp:127.0.0.1:PORT` (`what` names the option in errors).
 * `stdio` is refused unless `allowStdio`.
 */
export function parseSerialSpec(spec: string, what = '--serial', allowStdio = true): SerialSpec {
  const allowed = `${allowStdio ? 'stdio, ' : ''}file:PATH, tcp:${LOOPBACK}:PORT`;
  if (spec === 'stdio' && allowStdio) return { kind: 'stdio' };
  if (spec.startsWith('file:')) {
    const path = spec.slice(5);
    if (!path) throw usageError(`${what} file: needs a path, e.g. file:/tmp/console.log`);
    return { kind: 'file', path };
  }
  const m = /^tcp:(.*):([^:]*)$/.exec(spec);
  if (m) {
    if (m[1] !== LOOPBACK) throw usageError(`${what} ${spec}: only ${LOOPBACK} may be used as the listen address (got "${m[1]}"); any other would expose the guest's console to the network`);
    return { kind: 'tcp', port: tcpPort(what, m[2]!) };
  }
  throw usageError(`${what} "${spec}" is not valid; allowed: ${allowed}`);
}

function tcpPort(what: string, raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usageError(`${what}: TCP port "${raw}" is not valid; allowed: 1-65535`);
  return n;
}

export interface SerialBackend {
  readonly spec: SerialBackendSpec;
  /** Human-readable place, e.g. "tcp 127.0.0.1:4555" or "file /x/com1.log". */
  readonly describe: string;
  /** Guest output. Never throws: a failing file is reported once through onError and dropped. */
  write(data: Uint8Array): void;
  /** TCP: resolves when the first client connects (`hangar run` waits for it, as QEMU's wait). */
  readonly firstClient: Promise<void>;
  /** TCP: clients connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

export interface SerialBackendOptions {
  /** Bytes a client types. */
  onInput?: (data: Buffer) => void;
  /** A backend that stopped working (file write error); the guest keeps running. */
  onError?: (message: string) => void;
  /** TCP: replay up to this many bytes of recent output to a client when it connects. */
  replayBytes?: number;
}

/** Opens the backend: the file is opened (created) now, the TCP port is listening on return. */
export async function openSerialBackend(spec: SerialBackendSpec, opts: SerialBackendOptions = {}): Promise<SerialBackend> {
  return spec.kind === 'file' ? openFileBackend(spec, opts) : openTcpBackend(spec, opts);
}

function openFileBackend(spec: { kind: 'file'; path: string }, opts: SerialBackendOptions): SerialBackend {
  let fd: number | undefined;
  try {
    fd = openSync(spec.path, 'a');
  } catch (err) {
    throw new HangarError('io', `serial file ${spec.path}: ${(err as Error).message}`);
  }
  return {
    spec,
    describe: `file ${spec.path}`,
    firstClient: Promise.resolve(),
    clients: 0,
    write(data) {
      if (fd === undefined) return;
      try {
        writeSync(fd, data);
      } catch (err) {
        closeSync(fd);
        fd = undefined;
        opts.onError?.(`cannot write ${spec.path}: ${(err as Error).message}; file output stopped`);
      }
    },
    close: async () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

async function openTcpBackend(spec: { kind: 'tcp'; port: number }, opts: SerialBackendOptions): Promise<SerialBackend> {
  const clients = new Set<Socket>();
  const replayMax = opts.replayBytes ?? 0;
  let replay: Buffer[] = [];
  let replayLen = 0;
  let firstClient!: () => void;
  const first = new Promise<void>((r) => (firstClient = r));
  const server: Server = createServer((sock) => {
    clients.add(sock);
    if (replayLen > 0) sock.write(Buffer.concat(replay));
    firstClient();
    sock.on('data', (d: Buffer) => opts.onInput?.(d));
    sock.on('close', () => clients.delete(sock));
    // A client that vanished: forget it; the guest and other clients carry on.
    sock.on('error', () => clients.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(new HangarError('io', `serial console tcp:${LOOPBACK}:${spec.port}: cannot listen: ${why}`));
    });
    server.listen(spec.port, LOOPBACK, () => resolve());
  });
  return {
    spec,
    describe: `tcp ${LOOPBACK}:${spec.port}`,
    firstClient: first,
    get clients() {
      return clients.size;
    },
    write(data) {
      if (replayMax > 0) {
        const b = Buffer.from(data);
        replay.push(b);
        replayLen += b.length;
        while (replayLen > replayMax && replay.length > 1) replayLen -= replay.shift()!.length;
        if (replayLen > replayMax) {
          replay = [replay[0]!.subarray(replayLen - replayMax)];
          replayLen = replayMax;
        }
      }
      for (const c of clients) c.write(data);
    },
    close: () => new Promise<void>((resolve) => {
      // end(), not destroy(): let the last console bytes reach the clients first.
      for (const c of clients) c.end();
      const t = setTimeout(() => { for (const c of clients) c.destroy(); }, 2000);
      server.close(() => {
        clearTimeout(t);
        resolve();
      });
    }),
  };
}
