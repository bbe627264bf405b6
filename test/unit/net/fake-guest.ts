// Plays the guest on the other end of a NetBackend: builds frames byte by byte and parses what
// comes back. Its checksum and header code is written independently of src-core/net so a
// mistake on one side cannot hide behind the same mistake on the other.

import type { NetBackend } from '../../../src-core/net/backend.ts';

export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const GATEWAY_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
export const GUEST = '10.0.2.15';
export const GATEWAY = '10.0.2.2';
export const DNS = '10.0.2.3';

export function ip(text: string): number[] {
  return text.split('.').map(Number);
}

export function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** RFC 1071, the straightforward way. */
export function inetSum(bytes: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function pseudo(src: number[], dst: number[], proto: number, len: number): number[] {
  return [...src, ...dst, 0, proto, ...be16(len)];
}

export function ethFrame(dst: number[], type: number, payload: ArrayLike<number>, src = GUEST_MAC): Uint8Array {
  return Uint8Array.from([...dst, ...src, ...be16(type), ...Array.from(payload)]);
}

export interface IpOpts {
  badChecksum?: boolean;
  fragment?: boolean;
  ttl?: number;
}

export function ipPacket(src: string, dst: string, proto: number, payload: ArrayLike<number>, o: IpOpts = {}): number[] {
  const total = 20 + payload.length;
  const h = [0x45, 0, ...be16(total), 0x12, 0x34, o.fragment ? 0x20 : 0x40, 0, o.ttl ?? 64, proto, 0, 0, ...ip(src), ...ip(dst)];
  const sum = inetSum(h) ^ (o.badChecksum ? 0x0101 : 0);
  h[10] = sum >> 8;
  h[11] = sum & 0xff;
  return [...h, ...Array.from(payload)];
}

export function udpDatagram(src: string, sport: number, dst: string, dport: number, data: ArrayLike<number>, bad = false): number[] {
  const len = 8 + data.length;
  const u = [...be16(sport), ...be16(dport), ...be16(len), 0, 0, ...Array.from(data)];
  let sum = inetSum([...pseudo(ip(src), ip(dst), 17, len), ...u]) || 0xffff;
  if (bad) sum ^= 0x0404;
  u[6] = sum >> 8;
  u[7] = sum & 0xff;
  return u;
}

export interface TcpOut {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  mss?: number;
  wscale?: number;
  data?: ArrayLike<number>;
}

export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export function tcpSegment(src: string, dst: string, s: TcpOut, bad = false): number[] {
  const opts = [...(s.mss !== undefined ? [2, 4, ...be16(s.mss)] : []), ...(s.wscale !== undefined ? [3, 3, s.wscale, 0] : [])];
  const hl = 20 + opts.length;
  const data = Array.from(s.data ?? []);
  const t = [...be16(s.sport), ...be16(s.dport), ...be32(s.seq), ...be32(s.ack ?? 0), (hl / 4) << 4, s.flags, ...be16(s.window ?? 65535), 0, 0, 0, 0, ...opts, ...data];
  let sum = inetSum([...pseudo(ip(src), ip(dst), 6, t.length), ...t]);
  if (bad) sum ^= 0x0808;
  t[16] = sum >> 8;
  t[17] = sum & 0xff;
  return t;
}

/** What the helper makes of a frame from the backend; checksums are verified on the way. */
export interface Seen {
  raw: Uint8Array;
  dstMac: number[];
  srcMac: number[];
  type: number;
  ip?: { src: string; dst: string; proto: number; payload: Uint8Array; checksumOk: boolean };
  udp?: { sport: number; dport: number; data: Uint8Array; checksumOk: boolean };
  tcp?: { sport: number; dport: number; seq: number; ack: number; flags: number; window: number; mss?: number; wscale?: number; data: Uint8Array; checksumOk: boolean };
}

const ipStr = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function parseFrame(raw: Uint8Array): Seen {
  const seen: Seen = { raw, dstMac: [...raw.subarray(0, 6)], srcMac: [...raw.subarray(6, 12)], type: rd16(raw, 12) };
  if (seen.type !== 0x0800) return seen;
  const p = raw.subarray(14);
  const hl = (p[0] & 15) * 4;
  const total = rd16(p, 2);
  const payload = p.subarray(hl, total);
  const src = ipStr(p, 12);
  const dst = ipStr(p, 16);
  seen.ip = { src, dst, proto: p[9], payload, checksumOk: inetSum(p.subarray(0, hl)) === 0 };
  const ps = pseudo(ip(src), ip(dst), p[9], payload.length);
  if (p[9] === 17) {
    seen.udp = { sport: rd16(payload, 0), dport: rd16(payload, 2), data: payload.subarray(8, rd16(payload, 4)), checksumOk: inetSum([...ps, ...payload]) === 0 };
  } else if (p[9] === 6) {
    const off = (payload[12] >> 4) * 4;
    let mss: number | undefined;
    let wscale: number | undefined;
    for (let i = 20; i < off; ) {
      if (payload[i] === 0) break;
      if (payload[i] === 1) { i++; continue; }
      if (payload[i] === 2) mss = rd16(payload, i + 2);
      if (payload[i] === 3) wscale = payload[i + 2];
      i += payload[i + 1];
    }
    seen.tcp = {
      sport: rd16(payload, 0), dport: rd16(payload, 2), seq: rd32(payload, 4), ack: rd32(payload, 8), flags: payload[13],
      window: rd16(payload, 14), mss, wscale, data: payload.subarray(off), checksumOk: inetSum([...ps, ...payload]) === 0,
    };
  }
  return seen;
}

/** The guest end of the wire: an inbox of frames from the backend and ways to wait on it. */
export class FakeGuest {
  readonly inbox: Seen[] = [];
  private waiters: (() => void)[] = [];
  reentrant = false;
  private inSend = false;

  constructor(readonly net: NetBackend) {
    net.setReceiver((frame) => {
      if (this.inSend) this.reentrant = true;
      this.inbox.push(parseFrame(frame));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(frame: ArrayLike<number>): void {
    this.inSend = true;
    try {
      this.net.send(Uint8Array.from(frame as ArrayLike<number>));
    } finally {
      this.inSend = false;
    }
  }

  sendIp(dst: string, proto: number, payload: number[], o: IpOpts = {}, src = GUEST): void {
    this.send(ethFrame(GATEWAY_MAC, 0x0800, ipPacket(src, dst, proto, payload, o)));
  }

  /** Removes and returns the first frame matching `pred`, waiting up to `ms` for it. */
  async take(pred: (s: Seen) => boolean, ms = 3000): Promise<Seen> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame from the backend');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Lets queued frames arrive, then reports whether any matched `pred` (without taking them). */
  async settle(ms = 50): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }
}
