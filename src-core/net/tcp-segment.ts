// TCP segments (RFC 9293): header fields, the MSS and window-scale (RFC 7323) options, the
// pseudo-header checksum. The NAT offers no SACK or timestamps, so it reads and writes no
// other options.

import { checksum, pseudoHeaderSum, verifies } from './checksum.ts';
import { PROTO_TCP } from './ipv4.ts';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export const TCP_HEADER = 20;
/** RFC 9293's default when the peer sends no MSS option. */
export const DEFAULT_MSS = 536;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The MSS option (SYN segments), if present. */
  mss?: number;
  /** The window-scale shift (SYN segments), if present. */
  wscale?: number;
  payload: Uint8Array;
}

export type TcpParse = { ok: true; segment: TcpSegment } | { ok: false; reason: 'malformed' | 'tcp-checksum' };

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function parseTcp(src: number, dst: number, p: Uint8Array): TcpParse {
  if (p.length < TCP_HEADER) return { ok: false, reason: 'malformed' };
  const offset = (p[12] >> 4) * 4;
  if (offset < TCP_HEADER || offset > p.length) return { ok: false, reason: 'malformed' };
  if (!verifies(p, 0, p.length, pseudoHeaderSum(src, dst, PROTO_TCP, p.length))) return { ok: false, reason: 'tcp-checksum' };
  let mss: number | undefined;
  let wscale: number | undefined;
  for (let i = TCP_HEADER; i < offset; ) {
    const kind = p[i];
    if (kind === 0) break; // end of options
    if (kind === 1) { i++; continue; } // no-op
    const len = i + 1 < offset ? p[i + 1] : 0;
    if (len < 2 || i + len > offset) return { ok: false, reason: 'malformed' };
    if (kind === 2 && len === 4) mss = (p[i + 2] << 8) | p[i + 3];
    if (kind === 3 && len === 3) wscale = Math.min(14, p[i + 2]); // RFC 7323 2.3: at most 14
    i += len;
  }
  return {
    ok: true,
    segment: {
      srcPort: (p[0] << 8) | p[1],
      dstPort: (p[2] << 8) | p[3],
      seq: u32(p, 4),
      ack: u32(p, 8),
      flags: p[13] & 0x3f,
      window: (p[14] << 8) | p[15],
      mss,
      wscale,
      payload: p.subarray(offset),
    },
  };
}

export interface OutSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss?: number;
  wscale?: number;
  payload?: Uint8Array;
}

export function buildTcp(src: number, dst: number, s: OutSegment): Uint8Array {
  const opts = (s.mss !== undefined ? 4 : 0) + (s.wscale !== undefined ? 4 : 0);
  const header = TCP_HEADER + opts;
  const payload = s.payload ?? new Uint8Array(0);
  const p = new Uint8Array(header + payload.length);
  p[0] = s.srcPort >>> 8; p[1] = s.srcPort & 0xff;
  p[2] = s.dstPort >>> 8; p[3] = s.dstPort & 0xff;
  putU32(p, 4, s.seq);
  putU32(p, 8, s.flags & ACK ? s.ack : 0);
  p[12] = (header / 4) << 4;
  p[13] = s.flags;
  p[14] = s.window >>> 8; p[15] = s.window & 0xff;
  let o = TCP_HEADER;
  if (s.mss !== undefined) {
    p.set([2, 4, s.mss >>> 8, s.mss & 0xff], o);
    o += 4;
  }
  if (s.wscale !== undefined) p.set([1, 3, 3, s.wscale], o); // NOP keeps the header 4-aligned
  p.set(payload, header);
  const sum = checksum(p, 0, p.length, pseudoHeaderSum(src, dst, PROTO_TCP, p.length));
  p[16] = sum >>> 8;
  p[17] = sum & 0xff;
  return p;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}

/** Sequence-space arithmetic modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a - b as a signed 32-bit distance: positive when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
