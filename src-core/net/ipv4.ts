// IPv4 headers (RFC 791). The guest's header checksum is verified; options are skipped over;
// fragments are dropped (the backend does no reassembly: the guest's MTU is 1500 and Linux
// sets DF on TCP, so fragments only come from unusual UDP senders).

import { checksum, verifies } from './checksum.ts';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const IPV4_HEADER = 20;
/** The largest IPv4 packet on a 1500-byte MTU link. */
export const IP_MTU = 1500;

export interface Ipv4Packet {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** The transport payload (a view, trimmed to the header's total length). */
  payload: Uint8Array;
}

export type Ipv4Parse = { ok: true; packet: Ipv4Packet } | { ok: false; reason: 'malformed' | 'checksum' | 'fragment' };

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function parseIpv4(b: Uint8Array): Ipv4Parse {
  if (b.length < IPV4_HEADER || b[0] >> 4 !== 4) return { ok: false, reason: 'malformed' };
  const headerLen = (b[0] & 0x0f) * 4;
  // Ethernet pads short frames, so the real end comes from the total-length field.
  const total = (b[2] << 8) | b[3];
  if (headerLen < IPV4_HEADER || total < headerLen || total > b.length) return { ok: false, reason: 'malformed' };
  if (!verifies(b, 0, headerLen)) return { ok: false, reason: 'checksum' };
  const flagsFrag = (b[6] << 8) | b[7];
  // More-fragments set, or a non-zero offset: part of a fragmented datagram.
  if (flagsFrag & 0x2000 || flagsFrag & 0x1fff) return { ok: false, reason: 'fragment' };
  return {
    ok: true,
    packet: { src: u32(b, 12), dst: u32(b, 16), protocol: b[9], ttl: b[8], payload: b.subarray(headerLen, total) },
  };
}

let nextId = 1;

/** A new IPv4 packet around `payload` (TTL 64, DF clear, no options). */
export function buildIpv4(src: number, dst: number, protocol: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(IPV4_HEADER + payload.length);
  const total = p.length;
  const id = nextId;
  nextId = (nextId + 1) & 0xffff;
  p[0] = 0x45;
  p[2] = total >>> 8;
  p[3] = total & 0xff;
  p[4] = id >>> 8;
  p[5] = id & 0xff;
  p[8] = 64;
  p[9] = protocol;
  p[12] = src >>> 24; p[13] = (src >>> 16) & 0xff; p[14] = (src >>> 8) & 0xff; p[15] = src & 0xff;
  p[16] = dst >>> 24; p[17] = (dst >>> 16) & 0xff; p[18] = (dst >>> 8) & 0xff; p[19] = dst & 0xff;
  const sum = checksum(p, 0, IPV4_HEADER);
  p[10] = sum >>> 8;
  p[11] = sum & 0xff;
  p.set(payload, IPV4_HEADER);
  return p;
}
