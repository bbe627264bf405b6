// UDP through host sockets (echo on 127.0.0.1 reached as 10.0.2.2, idle expiry) and the DNS
// server at 10.0.2.3 (the host resolver for names, and the error codes).

import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lookup } from '../../../src-core/net/dns.ts';
import { createUserNet, type UserNet, type UserNetOptions } from '../../../src-core/net/user-net.ts';
import { be16, DNS, FakeGuest, GATEWAY, GUEST, rd16, udpDatagram } from './fake-guest.ts';

let net: UserNet | undefined;
const closers: (() => void)[] = [];

async function start(o: Partial<UserNetOptions> = {}): Promise<FakeGuest> {
  net = await createUserNet({ guestMac: '52:54:00:12:34:56', ...o });
  return new FakeGuest(net);
}

afterEach(async () => {
  await net?.close();
  net = undefined;
  for (const c of closers.splice(0)) c();
});

async function udpEchoServer(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, r) => s.send(Buffer.concat([Buffer.from('echo:'), msg]), r.port, r.address));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  closers.push(() => s.close());
  return s.address().port;
}

describe('UDP NAT', () => {
  it('carries a datagram to a host echo server via 10.0.2.2 and the reply back', async () => {
    const port = await udpEchoServer();
    const g = await start();
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 40000, GATEWAY, port, Buffer.from('ping 1')));
    const r = await g.take((s) => !!s.udp);
    expect(r.ip).toMatchObject({ src: GATEWAY, dst: GUEST, checksumOk: true });
    expect(r.udp).toMatchObject({ sport: port, dport: 40000, checksumOk: true });
    expect(Buffer.from(r.udp!.data).toString()).toBe('echo:ping 1');
    // The same flow is reused for the next datagram.
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 40000, GATEWAY, port, Buffer.from('ping 2')));
    const r2 = await g.take((s) => !!s.udp);
    expect(Buffer.from(r2.udp!.data).toString()).toBe('echo:ping 2');
    expect(net!.udpFlows).toBe(1);
  });

  it('closes an idle flow and opens a fresh one on the next datagram', async () => {
    const port = await udpEchoServer();
    const g = await start({ udpIdleMs: 100 });
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 40001, GATEWAY, port, [1]));
    await g.take((s) => !!s.udp);
    expect(net!.udpFlows).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(net!.udpFlows).toBe(0);
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 40001, GATEWAY, port, [2]));
    const r = await g.take((s) => !!s.udp);
    expect([...r.udp!.data]).toEqual([...Buffer.from('echo:'), 2]);
  });

  it('refuses outside destinations when loopback-only, and never routes to other guest-network addresses', async () => {
    const g = await start({ hostLoopbackOnly: true });
    g.sendIp('192.0.2.1', 17, udpDatagram(GUEST, 40002, '192.0.2.1', 9, [1]));
    g.sendIp('10.0.2.99', 17, udpDatagram(GUEST, 40002, '10.0.2.99', 9, [1]));
    await g.settle();
    expect(net!.drops).toMatchObject({ policy: 1, unsupported: 1 });
    expect(net!.udpFlows).toBe(0);
  });
});

function query(id: number, name: string, type: number, flags = 0x0100): number[] {
  const q = [...be16(id), ...be16(flags), 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.split('.')) q.push(label.length, ...Buffer.from(label));
  return [...q, 0, ...be16(type), 0, 1];
}

async function ask(g: FakeGuest, q: number[]): Promise<Uint8Array> {
  g.sendIp(DNS, 17, udpDatagram(GUEST, 5353, DNS, 53, q));
  const r = await g.take((s) => !!s.udp);
  expect(r.ip).toMatchObject({ src: DNS, dst: GUEST, checksumOk: true });
  expect(r.udp).toMatchObject({ sport: 53, dport: 5353, checksumOk: true });
  return r.udp!.data;
}

const rcode = (m: Uint8Array) => m[3] & 0x0f;

describe('DNS at 10.0.2.3', () => {
  it('resolves localhost through the host resolver, as the gateway address', async () => {
    const g = await start();
    const q = query(0x1234, 'localhost', 1);
    const m = await ask(g, q);
    expect(rd16(m, 0)).toBe(0x1234);
    expect(m[2] & 0x80).toBe(0x80); // a response
    expect(m[2] & 0x01).toBe(1); // RD echoed
    expect(rcode(m)).toBe(0);
    expect(rd16(m, 4)).toBe(1);
    expect(rd16(m, 6)).toBe(1);
    expect([...m.subarray(12, q.length)]).toEqual(q.slice(12)); // the question echoed
    const a = m.subarray(q.length);
    expect([...a]).toEqual([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 2, 2]);
  });

  it('maps the resolver outcome to NXDOMAIN, SERVFAIL and an empty answer', async () => {
    const lookup: Lookup = async (name) => {
      const fail = (code: string) => Object.assign(new Error(code), { code });
      if (name === 'nowhere.example') throw fail('ENOTFOUND');
      if (name === 'broken.example') throw fail('EAI_AGAIN');
      if (name === 'nodata.example') throw fail('ENODATA');
      return ['192.0.2.10', '192.0.2.11', '192.0.2.10'];
    };
    const g = await start({ dnsLookup: lookup });
    expect(rcode(await ask(g, query(1, 'nowhere.example', 1)))).toBe(3);
    expect(rcode(await ask(g, query(2, 'broken.example', 1)))).toBe(2);
    const nodata = await ask(g, query(3, 'nodata.example', 1));
    expect([rcode(nodata), rd16(nodata, 6)]).toEqual([0, 0]);
    const two = await ask(g, query(4, 'two.example', 1));
    expect(rd16(two, 6)).toBe(2); // duplicates removed
    expect([...two.subarray(two.length - 4)]).toEqual([192, 0, 2, 11]);
    const aaaa = await ask(g, query(5, 'two.example', 28));
    expect([rcode(aaaa), rd16(aaaa, 6)]).toEqual([0, 0]);
  });

  it('answers other types and opcodes with NOTIMP and malformed queries with FORMERR', async () => {
    const g = await start({ dnsLookup: async () => ['192.0.2.1'] });
    expect(rcode(await ask(g, query(1, 'mail.example', 15)))).toBe(4); // MX
    expect(rcode(await ask(g, query(2, 'x.example', 1, 0x2800)))).toBe(4); // UPDATE opcode
    const compressed = [...query(3, 'x.example', 1).slice(0, 12), 0xc0, 0x0c, 0, 1, 0, 1];
    expect(rcode(await ask(g, compressed))).toBe(1);
  });
});
