// UDP headers (RFC 768) with the pseudo-header checksum. A zero checksum from the guest means
// "none" and is accepted; ours is always computed (0 is sent as 0xffff, as the RFC says).

import { checksum, pseudoHeaderSum, verifies } from './checksum.ts';
import { PROTO_UDP } from './ipv4.ts';

export const UDP_HEADER = 8;
/** The largest UDP payload that fits one unfragmented packet on a 1500-byte MTU. */
export const UDP_MAX_PAYLOAD = 1500 - 20 - UDP_HEADER;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export type UdpParse = { ok: true; datagram: UdpDatagram } | { ok: false; reason: 'malformed' | 'udp-checksum' };

export function parseUdp(src: number, dst: number, p: Uint8Array): UdpParse {
  if (p.length < UDP_HEADER) return { ok: false, reason: 'malformed' };
  const length = (p[4] << 8) | p[5];
  if (length < UDP_HEADER || length > p.length) return { ok: false, reason: 'malformed' };
  const hasSum = p[6] !== 0 || p[7] !== 0;
  if (hasSum && !verifies(p, 0, length, pseudoHeaderSum(src, dst, PROTO_UDP, length))) {
    return { ok: false, reason: 'udp-checksum' };
  }
  return {
    ok: true,
    datagram: { srcPort: (p[0] << 8) | p[1], dstPort: (p[2] << 8) | p[3], payload: p.subarray(UDP_HEADER, length) },
  };
}

export function buildUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const length = UDP_HEADER + payload.length;
  const p = new Uint8Array(length);
  p[0] = srcPort >>> 8; p[1] = srcPort & 0xff;
  p[2] = dstPort >>> 8; p[3] = dstPort & 0xff;
  p[4] = length >>> 8; p[5] = length & 0xff;
  p.set(payload, UDP_HEADER);
  const sum = checksum(p, 0, length, pseudoHeaderSum(src, dst, PROTO_UDP, length)) || 0xffff;
  p[6] = sum >>> 8;
  p[7] = sum & 0xff;
  return p;
}
