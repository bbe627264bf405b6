// Transmit offloads of the 82540EM: checksum insertion and TCP segmentation (TSO), driven by a
// context descriptor's offsets. Linux's e1000 driver uses both on this part: every
// CHECKSUM_PARTIAL packet gets a checksum context (start at TUCSS, result at TUCSO, the stack
// having put the pseudo-header sum in the checksum field), and with TSO on (the default for
// 82544 and later) large TCP sends arrive as one header plus up to 64 KiB of payload that the
// device cuts into MSS-sized frames, fixing up lengths, IP IDs, sequence numbers, flags and
// checksums of each.
//
// For TSO the driver seeds the TCP checksum with a pseudo-header sum computed for length 0 and
// zeroes the IPv4 total length and header checksum: the device adds each segment's own length.

import { checksum } from '../../net/checksum.ts';

export interface TxContext {
  ipcss: number;
  ipcso: number;
  /** Last byte of the IP checksum range, inclusive; 0 = to the end of the frame. */
  ipcse: number;
  tucss: number;
  tucso: number;
  /** Last byte of the TCP/UDP checksum range, inclusive; 0 = to the end of the frame. */
  tucse: number;
  paylen: number;
  tucmd: number;
  hdrlen: number;
  mss: number;
}

export function emptyContext(): TxContext {
  return { ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0, paylen: 0, tucmd: 0, hdrlen: 0, mss: 0 };
}

/** Reads a context descriptor (16 bytes). */
export function parseContext(d: Uint8Array): TxContext {
  const dv = new DataView(d.buffer, d.byteOffset, 16);
  return {
    ipcss: d[0]!,
    ipcso: d[1]!,
    ipcse: dv.getUint16(2, true),
    tucss: d[4]!,
    tucso: d[5]!,
    tucse: dv.getUint16(6, true),
    paylen: dv.getUint32(8, true) & 0xfffff,
    tucmd: d[11]!,
    hdrlen: d[13]!,
    mss: dv.getUint16(14, true),
  };
}

function put16(data: Uint8Array, at: number, v: number): void {
  data[at] = (v >> 8) & 0xff;
  data[at + 1] = v & 0xff;
}

function get16(data: Uint8Array, at: number): number {
  return (data[at]! << 8) | data[at + 1]!;
}

/**
 * Sums data[start .. end] (end inclusive; 0 = to the frame's end), including whatever the
 * checksum field holds (a pseudo-header seed), plus `extra`, and stores the complement at
 * `offset`. Offsets outside the frame make the request a no-op, as a malformed descriptor must
 * not corrupt memory or crash. A result of 0 is sent as 0xFFFF (the same value in ones'
 * complement, and the only valid form for UDP, where 0 means "no checksum").
 */
export function insertChecksum(frame: Uint8Array, start: number, offset: number, end: number, extra = 0): void {
  const stop = end === 0 ? frame.length : Math.min(frame.length, end + 1);
  if (start >= stop || offset + 2 > frame.length) return;
  const cs = checksum(frame, start, stop, extra);
  put16(frame, offset, cs === 0 ? 0xffff : cs);
}

/** IPv4 header checksum: the field is zeroed first (it covers no pseudo header). */
export function insertIpChecksum(frame: Uint8Array, start: number, offset: number, end: number): void {
  if (offset + 2 > frame.length) return;
  put16(frame, offset, 0);
  const stop = end === 0 ? frame.length : Math.min(frame.length, end + 1);
  if (start >= stop) return;
  put16(frame, offset, checksum(frame, start, stop));
}

/** Non-TSO packet: the checksums the first data descriptor's POPTS asked for. */
export function applyChecksums(frame: Uint8Array, ctx: TxContext, ixsm: boolean, txsm: boolean): void {
  if (ixsm) insertIpChecksum(frame, ctx.ipcss, ctx.ipcso, ctx.ipcse);
  if (txsm) insertChecksum(frame, ctx.tucss, ctx.tucso, ctx.tucse);
}

/**
 * TCP segmentation: `packet` is the header (ctx.hdrlen bytes) followed by the payload. Returns
 * the frames, each the header (fixed up) plus at most ctx.mss payload bytes. A context that
 * does not fit the packet (header past its end, MSS of 0) yields no frames: a guest bug must
 * not hang or corrupt the device.
 */
export function segment(packet: Uint8Array, ctx: TxContext, ixsm: boolean, txsm: boolean): Uint8Array[] {
  const hdr = ctx.hdrlen;
  const mss = ctx.mss;
  const ipv4 = (ctx.tucmd & 0x02) !== 0;
  const tcp = (ctx.tucmd & 0x01) !== 0;
  if (mss === 0 || hdr === 0 || hdr > packet.length || ctx.tucss + (tcp ? 20 : 8) > hdr || ctx.ipcss + (ipv4 ? 20 : 40) > hdr) return [];
  const payload = packet.length - hdr;
  const ipId = ipv4 ? get16(packet, ctx.ipcss + 4) : 0;
  const seq = tcp ? ((get16(packet, ctx.tucss + 4) * 0x10000) + get16(packet, ctx.tucss + 6)) : 0;
  const flags = tcp ? packet[ctx.tucss + 13]! : 0;
  const seed = get16(packet, ctx.tucso);
  const frames: Uint8Array[] = [];
  let off = 0;
  let i = 0;
  do {
    const len = Math.min(mss, payload - off);
    const last = off + len >= payload;
    const f = new Uint8Array(hdr + len);
    f.set(packet.subarray(0, hdr));
    f.set(packet.subarray(hdr + off, hdr + off + len), hdr);
    if (ipv4) {
      put16(f, ctx.ipcss + 2, f.length - ctx.ipcss); // total length
      put16(f, ctx.ipcss + 4, (ipId + i) & 0xffff); // identification, one per segment
    } else {
      put16(f, ctx.ipcss + 4, f.length - ctx.ipcss - 40); // IPv6 payload length
    }
    if (tcp) {
      const s = (seq + off) % 0x1_0000_0000;
      put16(f, ctx.tucss + 4, Math.floor(s / 0x10000));
      put16(f, ctx.tucss + 6, s & 0xffff);
      // FIN and PSH belong to the last segment only.
      if (!last) f[ctx.tucss + 13] = flags & ~0x09;
    } else {
      put16(f, ctx.tucss + 4, f.length - ctx.tucss); // UDP length
    }
    if (ixsm && ipv4) insertIpChecksum(f, ctx.ipcss, ctx.ipcso, ctx.ipcse);
    if (txsm) {
      // The seed covers the pseudo header without its length: add this segment's L4 length.
      put16(f, ctx.tucso, seed);
      insertChecksum(f, ctx.tucss, ctx.tucso, 0, f.length - ctx.tucss);
    }
    frames.push(f);
    off += len;
    i++;
  } while (off < payload);
  return frames;
}
