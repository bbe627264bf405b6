// The e1000's segmentation and checksum helpers on their own: IPv6 TSO (payload length per
// segment, no IP checksum, TCP checksum over the IPv6 pseudo header), UDP checksum 0 sent as
// 0xFFFF, and offsets outside the frame ignored.
import { describe, expect, it } from 'vitest';
import { emptyContext, insertChecksum, segment } from '../../../src-core/engine/devices/e1000-offload.ts';
import { MAC, PEER, bytes, ethHeader, inetSum } from './e1000-rig.ts';

function ipv6Tcp(payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 40 + 20 + payload.length);
  f.set(ethHeader(PEER, MAC, 0x86dd));
  f[14] = 0x60;
  f[14 + 6] = 6; // next header TCP
  f[14 + 7] = 64;
  f.set(bytes(16, 5), 14 + 8); // source
  f.set(bytes(16, 9), 14 + 24); // destination
  const t = 54;
  f[t + 1] = 80;
  f[t + 3] = 99;
  new DataView(f.buffer).setUint32(t + 4, 1000);
  f[t + 12] = 5 << 4;
  f[t + 13] = 0x18;
  f.set(payload, 74);
  return f;
}

/** IPv6 pseudo-header sum for an upper-layer packet of `len` bytes. */
const pseudo6 = (f: Uint8Array, len: number) => inetSum(f, 22, 54) + 6 + len;

describe('e1000 offloads', () => {
  it('segments an IPv6 TCP send: payload length per segment, checksum over the IPv6 pseudo header', () => {
    const payload = bytes(2000, 4);
    const pkt = ipv6Tcp(payload);
    // Linux: payload_len 0, TCP checksum seeded with the pseudo header for length 0.
    const seed = pseudo6(pkt, 0);
    pkt[70] = (seed >> 8) & 0xff;
    pkt[71] = seed & 0xff;
    const ctx = { ...emptyContext(), ipcss: 14, ipcso: 0, tucss: 54, tucso: 70, tucmd: 0x01 | 0x04, hdrlen: 74, mss: 1400 };
    const frames = segment(pkt, ctx, false, true);
    expect(frames.map((f) => f.length)).toEqual([74 + 1400, 74 + 600]);
    frames.forEach((f, i) => {
      expect((f[18]! << 8) | f[19]!).toBe(f.length - 54); // IPv6 payload length
      expect(new DataView(f.buffer).getUint32(58)).toBe(1000 + i * 1400);
      expect(inetSum(f, 54, f.length, pseudo6(f, f.length - 54))).toBe(0xffff);
      expect(f.subarray(74)).toEqual(payload.subarray(i * 1400, i * 1400 + f.length - 74));
    });
  });

  it('writes a zero checksum result as 0xFFFF and ignores offsets outside the frame', () => {
    // A UDP datagram whose data sums to make the checksum come out 0.
    const f = new Uint8Array(12);
    f.set([0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    insertChecksum(f, 0, 6, 0);
    expect((f[6]! << 8) | f[7]!).toBe(0xffff);
    const g = bytes(20);
    const copy = g.slice();
    insertChecksum(g, 0, 40, 0);
    insertChecksum(g, 30, 2, 0);
    expect(g).toEqual(copy);
  });
});
