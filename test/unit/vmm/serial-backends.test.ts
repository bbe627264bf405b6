// The serial backends shared by library VMs and `hangar run`: parsing, a file that receives
// output synchronously, and a 127.0.0.1 TCP console exercised with real sockets (output to
// every client, input from any, replay on connect, a port in use refused with the reason).
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialBackend, parseSerialSpec, type SerialBackend } from '../../../src-core/vmm/serial-backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-serial-'));
const open: SerialBackend[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((b) => b.close()));
});

/** A port nobody listens on right now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP client that collects what it receives. */
async function client(port: number): Promise<{ sock: Socket; text: () => string; waitFor: (s: string) => Promise<void> }> {
  let buf = '';
  const sock = await new Promise<Socket>((res, rej) => {
    const s = connect(port, '127.0.0.1', () => res(s));
    s.on('error', rej);
  });
  sockets.push(sock);
  const waiters: (() => void)[] = [];
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (s: string) => new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`timed out waiting for ${JSON.stringify(s)}; got ${JSON.stringify(buf)}`)), 5000);
    const check = () => {
      if (buf.includes(s)) {
        clearTimeout(t);
        res();
      } else waiters.push(check);
    };
    check();
  });
  return { sock, text: () => buf, waitFor };
}

describe('serial backend specs', () => {
  it('parses stdio, file: and tcp:127.0.0.1: and refuses everything else, saying why', () => {
    expect(parseSerialSpec('stdio')).toEqual({ kind: 'stdio' });
    expect(parseSerialSpec('file:/tmp/c.log')).toEqual({ kind: 'file', path: '/tmp/c.log' });
    expect(parseSerialSpec('tcp:127.0.0.1:4555')).toEqual({ kind: 'tcp', port: 4555 });
    expect(() => parseSerialSpec('tcp:0.0.0.0:4555')).toThrow(/only 127\.0\.0\.1 may be used as the listen address \(got "0\.0\.0\.0"\)/);
    expect(() => parseSerialSpec('tcp:localhost:4555')).toThrow(/only 127\.0\.0\.1/);
    expect(() => parseSerialSpec('tcp:[::]:4555')).toThrow(/only 127\.0\.0\.1/);
    expect(() => parseSerialSpec('tcp:127.0.0.1:0')).toThrow(/TCP port "0" is not valid; allowed: 1-65535/);
    expect(() => parseSerialSpec('tcp:127.0.0.1:70000')).toThrow(/TCP port "70000"/);
    expect(() => parseSerialSpec('tcp:127.0.0.1:x')).toThrow(/TCP port "x"/);
    expect(() => parseSerialSpec('file:')).toThrow(/file: needs a path/);
    expect(() => parseSerialSpec('pty')).toThrow(/"pty" is not valid; allowed: stdio, file:PATH, tcp:127\.0\.0\.1:PORT/);
    expect(() => parseSerialSpec('stdio', 'COM1', false)).toThrow(/COM1 "stdio" is not valid; allowed: file:PATH, tcp:127\.0\.0\.1:PORT/);
  });
});

describe('file backend', () => {
  it('appends output and has it in the file as soon as write() returns', async () => {
    const path = join(dir, 'out.log');
    const b = await openSerialBackend({ kind: 'file', path });
    open.push(b);
    b.write(Buffer.from('hello '));
    expect(readFileSync(path, 'latin1')).toBe('hello ');
    b.write(Uint8Array.from([0x77, 0x6f, 0x72, 0x6c, 0x64, 0x0a]));
    expect(readFileSync(path, 'latin1')).toBe('hello world\n');
    await b.close();
    // Appends, never truncates: a second VM start keeps the first one's console.
    const again = await openSerialBackend({ kind: 'file', path });
    open.push(again);
    again.write(Buffer.from('more\n'));
    expect(readFileSync(path, 'latin1')).toBe('hello world\nmore\n');
    expect(again.describe).toBe(`file ${path}`);
  });

  it('refuses a file it cannot create, naming it', async () => {
    const target = join(dir, 'no-such-dir', 'x.log');
    await expect(openSerialBackend({ kind: 'file', path: target })).rejects.toThrow(new RegExp(`serial file ${target}: ENOENT`));
  });
});

describe('tcp backend', () => {
  it('serves 127.0.0.1 only: output to every client, input from any, recent output replayed on connect', async () => {
    const port = await freePort();
    const input: string[] = [];
    const b = await openSerialBackend({ kind: 'tcp', port }, { onInput: (d) => input.push(d.toString()), replayBytes: 8 });
    open.push(b);
    expect(b.describe).toBe(`tcp 127.0.0.1:${port}`);
    let connected = false;
    void b.firstClient.then(() => (connected = true));
    // Before anyone connects: only the last 8 bytes are kept for replay.
    b.write(Buffer.from('boot log... login: '));
    expect(b.clients).toBe(0);
    const a = await client(port);
    await a.waitFor('login: ');
    expect(a.text()).toBe(' login: ');
    expect(connected).toBe(true);
    const c2 = await client(port);
    await c2.waitFor('login: ');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.clients).toBe(2);
    b.write(Buffer.from('\r\n# '));
    await a.waitFor('# ');
    await c2.waitFor('# ');
    a.sock.write('ls\n');
    c2.sock.write('id\n');
    for (let i = 0; i < 100 && input.join('').length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    expect(input.join('').split('\n').sort()).toEqual(['', 'id', 'ls']);
    // A client leaving does not disturb the others.
    a.sock.destroy();
    for (let i = 0; i < 100 && b.clients !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.clients).toBe(1);
    b.write(Buffer.from('still here'));
    await c2.waitFor('still here');
    // The listener is on the loopback address only.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      await expect(new Promise((res, rej) => {
        const s = connect(port, external.address, () => res('connected'));
        s.on('error', rej);
        sockets.push(s);
      })).rejects.toThrow(/ECONNREFUSED/);
    }
  });

  it('refuses a port that is in use, saying so', async () => {
    const port = await freePort();
    const b = await openSerialBackend({ kind: 'tcp', port });
    open.push(b);
    await expect(openSerialBackend({ kind: 'tcp', port })).rejects.toThrow(`serial console tcp:127.0.0.1:${port}: cannot listen: the port is already in use`);
  });

  it('close() delivers the last output and frees the port', async () => {
    const port = await freePort();
    const b = await openSerialBackend({ kind: 'tcp', port });
    const a = await client(port);
    await b.firstClient;
    b.write(Buffer.from('Power down.\n'));
    await b.close();
    await a.waitFor('Power down.\n');
    const again = await openSerialBackend({ kind: 'tcp', port });
    open.push(again);
    expect(again.clients).toBe(0);
  });
});
