// ARP, DHCP, ping to the gateway, and the checks on what the guest sends (checksums,
// fragments, frames for someone else).

import { afterEach, describe, expect, it } from 'vitest';
import { createUserNet, type UserNet } from '../../../src-core/net/user-net.ts';
import {
  be16, be32, DNS, ethFrame, FakeGuest, GATEWAY, GATEWAY_MAC, GUEST, GUEST_MAC, inetSum, ip, ipPacket, rd32, tcpSegment, udpDatagram,
} from './fake-guest.ts';

const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
let net: UserNet | undefined;

async function start(): Promise<FakeGuest> {
  net = await createUserNet({ guestMac: '52:54:00:12:34:56' });
  return new FakeGuest(net);
}

afterEach(async () => {
  await net?.close();
  net = undefined;
});

function arpRequest(target: string, senderIp = GUEST): number[] {
  return [0, 1, 8, 0, 6, 4, 0, 1, ...GUEST_MAC, ...ip(senderIp), 0, 0, 0, 0, 0, 0, ...ip(target)];
}

function dhcp(type: number, xid: number, extra: number[] = [], flags = 0): number[] {
  const m = new Array(236).fill(0);
  m[0] = 1; m[1] = 1; m[2] = 6;
  m.splice(4, 4, ...be32(xid));
  m.splice(10, 2, ...be16(flags));
  m.splice(28, 6, ...GUEST_MAC);
  return [...m, 0x63, 0x82, 0x53, 0x63, 53, 1, type, 55, 4, 1, 3, 6, 51, ...extra, 255];
}

function dhcpOptions(m: Uint8Array): Map<number, number[]> {
  const opts = new Map<number, number[]>();
  for (let i = 240; i < m.length && m[i] !== 255; ) {
    if (m[i] === 0) { i++; continue; }
    opts.set(m[i], [...m.subarray(i + 2, i + 2 + m[i + 1])]);
    i += 2 + m[i + 1];
  }
  return opts;
}

describe('ARP', () => {
  it('answers for the gateway with its fixed MAC, byte for byte', async () => {
    const g = await start();
    g.send(ethFrame(BCAST, 0x0806, arpRequest(GATEWAY)));
    const r = await g.take(() => true);
    expect([...r.raw]).toEqual([
      ...GUEST_MAC, ...GATEWAY_MAC, 0x08, 0x06,
      0, 1, 8, 0, 6, 4, 0, 2, ...GATEWAY_MAC, 10, 0, 2, 2, ...GUEST_MAC, 10, 0, 2, 15,
    ]);
    expect(g.reentrant).toBe(false);
  });

  it('answers for the DNS address and stays silent for others', async () => {
    const g = await start();
    g.send(ethFrame(BCAST, 0x0806, arpRequest('10.0.2.77')));
    g.send(ethFrame(BCAST, 0x0806, arpRequest(DNS)));
    const r = await g.take(() => true);
    expect([...r.raw.subarray(28, 32)]).toEqual([10, 0, 2, 3]);
    await g.settle();
    expect(g.inbox).toHaveLength(0);
  });
});

describe('DHCP', () => {
  it('offers and acknowledges 10.0.2.15 with mask, router, DNS and lease', async () => {
    const g = await start();
    const discover = udpDatagram('0.0.0.0', 68, '255.255.255.255', 67, dhcp(1, 0xcafe0001));
    g.send(ethFrame(BCAST, 0x0800, ipPacket('0.0.0.0', '255.255.255.255', 17, discover)));
    const offer = await g.take((s) => !!s.udp);
    expect(offer.dstMac).toEqual(GUEST_MAC);
    expect(offer.srcMac).toEqual(GATEWAY_MAC);
    expect(offer.ip).toMatchObject({ src: GATEWAY, dst: '255.255.255.255', checksumOk: true });
    expect(offer.udp).toMatchObject({ sport: 67, dport: 68, checksumOk: true });
    const m = offer.udp!.data;
    expect(m.length).toBeGreaterThanOrEqual(300);
    expect(m[0]).toBe(2);
    expect(rd32(m, 4)).toBe(0xcafe0001);
    expect([...m.subarray(16, 20)]).toEqual([10, 0, 2, 15]); // yiaddr
    expect([...m.subarray(28, 34)]).toEqual(GUEST_MAC);
    expect(rd32(m, 236)).toBe(0x63825363);
    const o = dhcpOptions(m);
    expect(o.get(53)).toEqual([2]);
    expect(o.get(54)).toEqual([10, 0, 2, 2]);
    expect(o.get(51)).toEqual(be32(86400));
    expect(o.get(1)).toEqual([255, 255, 255, 0]);
    expect(o.get(3)).toEqual([10, 0, 2, 2]);
    expect(o.get(6)).toEqual([10, 0, 2, 3]);

    const request = udpDatagram('0.0.0.0', 68, '255.255.255.255', 67, dhcp(3, 0xcafe0002, [50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2]));
    g.send(ethFrame(BCAST, 0x0800, ipPacket('0.0.0.0', '255.255.255.255', 17, request)));
    const ack = await g.take((s) => !!s.udp);
    expect(dhcpOptions(ack.udp!.data).get(53)).toEqual([5]);
    expect(rd32(ack.udp!.data, 4)).toBe(0xcafe0002);
    expect([...ack.udp!.data.subarray(16, 20)]).toEqual([10, 0, 2, 15]);
  });

  it('refuses a request for another address (NAK, broadcast) and ignores one for another server', async () => {
    const g = await start();
    const wrong = udpDatagram('0.0.0.0', 68, '255.255.255.255', 67, dhcp(3, 7, [50, 4, 10, 0, 2, 99]));
    g.send(ethFrame(BCAST, 0x0800, ipPacket('0.0.0.0', '255.255.255.255', 17, wrong)));
    const nak = await g.take((s) => !!s.udp);
    expect(dhcpOptions(nak.udp!.data).get(53)).toEqual([6]);
    expect(nak.dstMac).toEqual(BCAST);
    const other = udpDatagram('0.0.0.0', 68, '255.255.255.255', 67, dhcp(3, 8, [50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 9]));
    g.send(ethFrame(BCAST, 0x0800, ipPacket('0.0.0.0', '255.255.255.255', 17, other)));
    await g.settle();
    expect(g.inbox).toHaveLength(0);
  });

  it('replies to the broadcast address when the client sets the broadcast flag', async () => {
    const g = await start();
    const discover = udpDatagram('0.0.0.0', 68, '255.255.255.255', 67, dhcp(1, 9, [], 0x8000));
    g.send(ethFrame(BCAST, 0x0800, ipPacket('0.0.0.0', '255.255.255.255', 17, discover)));
    const offer = await g.take((s) => !!s.udp);
    expect(offer.dstMac).toEqual(BCAST);
  });
});

function echoRequest(id: number, seqNo: number, data: number[]): number[] {
  const m = [8, 0, 0, 0, ...be16(id), ...be16(seqNo), ...data];
  const sum = inetSum(m);
  m[2] = sum >> 8;
  m[3] = sum & 0xff;
  return m;
}

describe('ICMP', () => {
  it('answers ping to the gateway with the same id, sequence and data', async () => {
    const g = await start();
    const data = Array.from({ length: 56 }, (_, i) => i);
    g.sendIp(GATEWAY, 1, echoRequest(0x4242, 7, data));
    const r = await g.take((s) => s.ip?.proto === 1);
    expect(r.ip).toMatchObject({ src: GATEWAY, dst: GUEST, checksumOk: true });
    const p = r.ip!.payload;
    expect(p[0]).toBe(0);
    expect(inetSum(p)).toBe(0);
    expect([...p.subarray(4)]).toEqual([0x42, 0x42, 0, 7, ...data]);
  });

  it('drops echo requests to other hosts and counts them', async () => {
    const g = await start();
    g.sendIp('192.0.2.1', 1, echoRequest(1, 1, [1, 2, 3]));
    await g.settle();
    expect(g.inbox).toHaveLength(0);
    expect(net!.drops.unsupported).toBe(1);
  });
});

describe('what the guest sends is checked', () => {
  it('drops bad IP, UDP, TCP and ICMP checksums and counts each', async () => {
    const g = await start();
    g.sendIp(GATEWAY, 1, echoRequest(1, 1, [1]), { badChecksum: true });
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 5000, GATEWAY, 9, [1, 2, 3], true));
    g.sendIp(GATEWAY, 6, tcpSegment(GUEST, GATEWAY, { sport: 5000, dport: 9, seq: 1, flags: 2, mss: 1460 }, true));
    const icmp = echoRequest(1, 2, [1]);
    icmp[2] ^= 0x10;
    g.sendIp(GATEWAY, 1, icmp);
    await g.settle();
    expect(g.inbox).toHaveLength(0);
    expect(net!.drops).toMatchObject({ 'ip-checksum': 1, 'udp-checksum': 1, 'tcp-checksum': 1, 'icmp-checksum': 1 });
  });

  it('drops fragments, truncated packets and frames for another MAC', async () => {
    const g = await start();
    g.sendIp(GATEWAY, 1, echoRequest(1, 1, [1]), { fragment: true });
    const short = ipPacket(GUEST, GATEWAY, 1, echoRequest(1, 1, [1]));
    g.send(ethFrame(GATEWAY_MAC, 0x0800, short.slice(0, 24)));
    g.send(ethFrame([2, 0, 0, 0, 0, 1], 0x0800, ipPacket(GUEST, GATEWAY, 1, echoRequest(1, 1, [1]))));
    g.send([1, 2, 3]);
    await g.settle();
    expect(g.inbox).toHaveLength(0);
    expect(net!.drops).toMatchObject({ fragment: 1, malformed: 2, 'not-for-us': 1 });
  });
});
