// TCP through the NAT with the test playing the guest's TCP stack: handshake, data both ways
// larger than the guest's window, segmentation at the guest's MSS, FIN both ways, refused
// connections, retransmission, guest RST, host backpressure.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SEND_BUFFER } from '../../../src-core/net/tcp-conn.ts';
import { createUserNet, type UserNet, type UserNetOptions } from '../../../src-core/net/user-net.ts';
import { F, FakeGuest, GATEWAY, GUEST } from './fake-guest.ts';
import { GuestTcp } from './guest-tcp.ts';

let backend: UserNet | undefined;
const servers: net.Server[] = [];

async function start(o: Partial<UserNetOptions> = {}): Promise<FakeGuest> {
  backend = await createUserNet({ guestMac: '52:54:00:12:34:56', ...o });
  return new FakeGuest(backend);
}

afterEach(async () => {
  await backend?.close();
  backend = undefined;
  for (const s of servers.splice(0)) s.close();
});

async function listen(onConn: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {}); // resets when a test ends mid-transfer
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

function pattern(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('TCP from the guest', () => {
  it('echoes 200 KB through 10.0.2.2 within an 8 KB window at a 1000-byte MSS, then closes both ways', async () => {
    const port = await listen((s) => s.pipe(s)); // echo; ends when the client ends
    const g = await start();
    const c = new GuestTcp(g, { localPort: 41000, remoteIp: GATEWAY, remotePort: port, mss: 1000, window: 8192 });
    const synAck = await c.connect();
    expect(synAck.tcp).toMatchObject({ flags: F.SYN | F.ACK, ack: 0x10000001, mss: 1460, checksumOk: true });
    expect(synAck.ip).toMatchObject({ src: GATEWAY, dst: GUEST, checksumOk: true });
    expect(backend!.tcpConnections).toBe(1);

    const data = pattern(200_000);
    const received: Buffer[] = [];
    let got = 0;
    for (let i = 0; i < data.length; i += 16_000) {
      c.write(data.subarray(i, i + 16_000));
      // Read what has come back so far, acknowledging within the 8 KB window.
      const want = Math.min(data.length, i + 16_000) - got;
      const r = await c.read(want);
      received.push(r.data);
      got += r.data.length;
    }
    expect(Buffer.concat(received).equals(data)).toBe(true);
    expect(c.maxSegment).toBeLessThanOrEqual(1000);
    expect(c.maxSegment).toBe(1000);
    expect(c.overrun).toBe(0);

    c.fin(); // the echo server ends in turn: its FIN reaches the guest
    const tail = await c.read(1);
    expect(tail).toEqual({ data: Buffer.alloc(0), fin: true });
    await until(() => backend!.tcpConnections === 0);
  });

  it('uses window scaling when the guest offers it: more than 64 KiB in flight, never beyond the window', async () => {
    const data = pattern(1_500_000, 5);
    const port = await listen((s) => s.end(data));
    const g = await start();
    // 200 KB advertised as 12500 << 4: more than 16 bits could say.
    const c = new GuestTcp(g, { localPort: 41010, remoteIp: GATEWAY, remotePort: port, wscale: 4, window: 200_000 });
    const synAck = await c.connect();
    expect(synAck.tcp).toMatchObject({ flags: F.SYN | F.ACK, wscale: 2, mss: 1460 });
    // Rounds: let the backend send, see how far beyond our last ACK it went, read and ack it all.
    // Slow start doubles its congestion window each round until the scaled window limits it.
    const parts: Buffer[] = [];
    let got = 0;
    let ahead = 0;
    for (let round = 0; round < 30 && ahead <= 65535 && got < data.length; round++) {
      await new Promise((r) => setTimeout(r, 40));
      const segs = g.inbox.filter(c.mine);
      if (segs.length === 0) continue;
      ahead = Math.max(ahead, ...segs.map((x) => (x.tcp!.seq + x.tcp!.data.length - c.rcvNxt) | 0));
      const r = await c.read((Math.max(...segs.map((x) => (x.tcp!.seq + x.tcp!.data.length - c.rcvNxt) | 0))));
      parts.push(r.data);
      got += r.data.length;
    }
    expect(ahead).toBeGreaterThan(65535); // more in flight than an unscaled window allows
    expect(ahead).toBeLessThanOrEqual(200_000);
    const rest = await c.read(data.length - got);
    expect(Buffer.concat([...parts, rest.data]).equals(data)).toBe(true);
    expect(c.overrun).toBe(0);
    // Our own window is scaled by 4 (shift 2): 65535 * 4 bytes, about the 256 KiB receive buffer.
    const ack = await g.take((s) => c.mine(s) && (s.tcp!.flags & F.FIN) !== 0);
    expect(ack.tcp!.window).toBe(65535);
  });

  it('answers a connection to a closed host port with RST', async () => {
    const port = await listen(() => {});
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    const g = await start();
    const c = new GuestTcp(g, { localPort: 41001, remoteIp: GATEWAY, remotePort: port });
    const r = await c.connect();
    expect(r.tcp).toMatchObject({ flags: F.RST | F.ACK, seq: 0, ack: 0x10000001, checksumOk: true });
    await until(() => backend!.tcpConnections === 0);
  });

  it('resets segments for unknown connections and refuses outside hosts when loopback-only', async () => {
    const g = await start({ hostLoopbackOnly: true });
    const stray = new GuestTcp(g, { localPort: 41002, remoteIp: GATEWAY, remotePort: 9 });
    stray.out(F.ACK, [1, 2, 3]);
    const r1 = await g.take(stray.mine);
    expect(r1.tcp).toMatchObject({ flags: F.RST, seq: 0 });
    const outside = new GuestTcp(g, { localPort: 41003, remoteIp: '192.0.2.1', remotePort: 80 });
    const r2 = await outside.connect();
    expect(r2.tcp!.flags & F.RST).toBe(F.RST);
    expect(backend!.drops.policy).toBe(1);
  });

  it('retransmits data the guest does not acknowledge', async () => {
    const port = await listen((s) => s.end('hello, guest'));
    const g = await start({ tcpRtoMs: 50 });
    const c = new GuestTcp(g, { localPort: 41004, remoteIp: GATEWAY, remotePort: port });
    await c.connect();
    const first = await g.take((s) => c.mine(s) && s.tcp!.data.length > 0);
    // Not acknowledged: the same bytes come again at the same sequence number.
    const again = await g.take((s) => c.mine(s) && s.tcp!.data.length > 0, 2000);
    expect(again.tcp!.seq).toBe(first.tcp!.seq);
    expect(Buffer.from(again.tcp!.data).toString()).toBe('hello, guest');
    g.inbox.length = 0;
    c.rcvNxt = (first.tcp!.seq + first.tcp!.data.length) >>> 0;
    c.out(F.ACK);
    const fin = await g.take((s) => c.mine(s) && (s.tcp!.flags & F.FIN) !== 0, 2000);
    expect(fin.tcp!.seq).toBe(c.rcvNxt);
  });

  it('probes a zero window with one byte and sends once the guest opens it', async () => {
    const port = await listen((s) => s.end('0123456789'));
    const g = await start({ tcpRtoMs: 50 });
    const c = new GuestTcp(g, { localPort: 41011, remoteIp: GATEWAY, remotePort: port, window: 0 });
    await c.connect();
    // Nothing fits a zero window, except the persist timer's probe: one byte at the next sequence.
    const probe = await g.take((s) => c.mine(s) && s.tcp!.data.length > 0, 3000);
    expect(probe.tcp!.seq).toBe(c.rcvNxt);
    expect(Buffer.from(probe.tcp!.data).toString()).toBe('0');
    c.out(F.ACK); // still a zero window: the probe byte is not taken
    g.inbox.length = 0;
    c.window = 65535;
    c.out(F.ACK); // window update
    const r = await c.read(10);
    expect(r.data.toString()).toBe('0123456789');
  });

  it('a guest RST closes the host socket', async () => {
    let closed!: () => void;
    const hostClosed = new Promise<void>((r) => (closed = r));
    const port = await listen((s) => {
      s.on('error', () => {});
      s.on('close', () => closed());
    });
    const g = await start();
    const c = new GuestTcp(g, { localPort: 41005, remoteIp: GATEWAY, remotePort: port });
    await c.connect();
    c.out(F.RST | F.ACK);
    await hostClosed;
    await until(() => backend!.tcpConnections === 0);
  });

  it('guest data goes to the host in order; out-of-order segments are not delivered early', async () => {
    let chunks = Buffer.alloc(0);
    const port = await listen((s) => s.on('data', (d: Buffer) => (chunks = Buffer.concat([chunks, d]))));
    const g = await start();
    const c = new GuestTcp(g, { localPort: 41006, remoteIp: GATEWAY, remotePort: port });
    await c.connect();
    const base = c.seq;
    c.out(F.ACK | F.PSH, Buffer.from('world'), false, (base + 6) >>> 0); // a hole before it
    const dup = await g.take(c.mine);
    expect(dup.tcp!.ack).toBe(base); // still waiting for the first byte
    c.out(F.ACK | F.PSH, Buffer.from('hello '), false, base);
    c.out(F.ACK | F.PSH, Buffer.from('world'), false, (base + 6) >>> 0);
    await until(() => chunks.length === 11);
    expect(chunks.toString()).toBe('hello world');
  });

  it('pauses the host socket while the guest window is full, and delivers everything afterwards', async () => {
    const total = 4 * 1024 * 1024;
    const data = pattern(total, 3);
    const port = await listen((s) => s.end(data));
    const g = await start();
    const c = new GuestTcp(g, { localPort: 41007, remoteIp: GATEWAY, remotePort: port, window: 16384 });
    await c.connect();
    // The guest reads nothing for a while: at most one window's worth may come (retransmitted
    // after the RTO, but never beyond the window).
    await new Promise((r) => setTimeout(r, 400));
    const segs = g.inbox.filter(c.mine);
    const highest = Math.max(...segs.map((s) => (s.tcp!.seq + s.tcp!.data.length - c.rcvNxt) >>> 0));
    expect(highest).toBeGreaterThan(0);
    expect(highest).toBeLessThanOrEqual(16384);
    expect(backend!.tcpBuffered).toBeGreaterThan(0);
    expect(backend!.tcpBuffered).toBeLessThan(SEND_BUFFER + 128 * 1024); // paused near the limit
    expect(backend!.tcpPaused).toBe(1);
    c.window = 65535;
    const r = await c.read(total, 30_000);
    expect(r.data.length).toBe(total);
    expect(r.data.equals(data)).toBe(true);
    expect(c.overrun).toBe(0);
    expect(backend!.tcpPaused).toBe(0);
  });
});
