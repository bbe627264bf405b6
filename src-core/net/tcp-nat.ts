// The table of TCP connections. A guest SYN to an address the NAT serves opens a host socket
// (10.0.2.2 is the host's 127.0.0.1); a forwarded host port opens a connection to the guest from
// 10.0.2.2. Segments for no connection are answered with RST, as a real host would.

import net from 'node:net';
import { GATEWAY_IP } from './addresses.ts';
import type { NetContext } from './context.ts';
import { PROTO_TCP } from './ipv4.ts';
import { ACK, buildTcp, RST, seqAdd, SYN, type TcpSegment } from './tcp-segment.ts';
import { type Endpoints, TcpConn } from './tcp-conn.ts';
import { hostAddressFor } from './udp-nat.ts';

export const TCP_RTO_MS = 1000;
/** Connections one guest may hold open (each is a host socket): a bound on file descriptors. */
export const MAX_TCP_CONNECTIONS = 1024;
/** Source ports on 10.0.2.2 for connections from forwarded host ports. */
const FORWARD_PORT_FIRST = 32768;
const FORWARD_PORT_LAST = 60999;

function key(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
  return `${guestIp}:${guestPort}|${remoteIp}:${remotePort}`;
}

export class TcpNat {
  private conns = new Map<string, TcpConn>();
  private nextForwardPort = FORWARD_PORT_FIRST;

  constructor(private readonly ctx: NetContext, private readonly rtoMs = TCP_RTO_MS) {}

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Bytes held for the guest across connections, and connections whose host socket is paused. */
  get buffered(): { bytes: number; paused: number } {
    let bytes = 0;
    let paused = 0;
    for (const c of this.conns.values()) {
      bytes += c.buffered;
      if (c.hostPaused) paused++;
    }
    return { bytes, paused };
  }

  /** A segment the guest sent from `src` to `dst`. */
  handle(src: number, dst: number, seg: TcpSegment): void {
    const k = key(src, seg.srcPort, dst, seg.dstPort);
    const conn = this.conns.get(k);
    if (conn) return conn.handle(seg);
    if (seg.flags & RST) return;
    if (seg.flags & SYN && !(seg.flags & ACK)) {
      const host = hostAddressFor(this.ctx, dst);
      if (host === 'unsupported' || host === 'policy') {
        this.ctx.drop(host);
        return this.reset(src, dst, seg);
      }
      if (this.conns.size >= MAX_TCP_CONNECTIONS) {
        this.ctx.log(`tcp: ${MAX_TCP_CONNECTIONS} connections open; refusing one to ${host}:${seg.dstPort}`);
        this.ctx.drop('policy');
        return this.reset(src, dst, seg);
      }
      const ep: Endpoints = { guestIp: src, guestPort: seg.srcPort, remoteIp: dst, remotePort: seg.dstPort };
      const connect = () => net.connect({ host, port: seg.dstPort, allowHalfOpen: true, localAddress: this.ctx.hostLoopbackOnly ? '127.0.0.1' : undefined });
      this.conns.set(k, TcpConn.fromGuest(ep, seg, connect, this.options(k)));
      return;
    }
    this.reset(src, dst, seg);
  }

  /** A host client connected to a forwarded port: connect to the guest's `guestIp`:`guestPort`. */
  openToGuest(socket: net.Socket, guestIp: number, guestPort: number): void {
    socket.on('error', () => {}); // reported through the connection once it exists
    const remotePort = this.conns.size < MAX_TCP_CONNECTIONS ? this.allocatePort(guestIp, guestPort) : undefined;
    if (remotePort === undefined) {
      this.ctx.log('tcp: too many connections; a forwarded connection is refused');
      socket.destroy();
      return;
    }
    const k = key(guestIp, guestPort, GATEWAY_IP, remotePort);
    const ep: Endpoints = { guestIp, guestPort, remoteIp: GATEWAY_IP, remotePort };
    this.conns.set(k, TcpConn.toGuest(ep, socket, this.options(k)));
  }

  close(): void {
    for (const c of [...this.conns.values()]) c.destroy();
    this.conns.clear();
  }

  private options(k: string) {
    return {
      ctx: this.ctx,
      rtoMs: this.rtoMs,
      onClosed: () => {
        this.conns.delete(k);
      },
    };
  }

  private allocatePort(guestIp: number, guestPort: number): number | undefined {
    const span = FORWARD_PORT_LAST - FORWARD_PORT_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const port = this.nextForwardPort;
      this.nextForwardPort = port === FORWARD_PORT_LAST ? FORWARD_PORT_FIRST : port + 1;
      if (!this.conns.has(key(guestIp, guestPort, GATEWAY_IP, port))) return port;
    }
    return undefined;
  }

  /** RST for a segment that belongs to no connection (RFC 9293 3.10.7.1). */
  private reset(src: number, dst: number, seg: TcpSegment): void {
    const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & 1 ? 1 : 0);
    const out =
      seg.flags & ACK
        ? { seq: seg.ack, ack: 0, flags: RST }
        : { seq: 0, ack: seqAdd(seg.seq, len), flags: RST | ACK };
    const p = buildTcp(dst, src, { ...out, srcPort: seg.dstPort, dstPort: seg.srcPort, window: 0 });
    this.ctx.sendIp(dst, src, PROTO_TCP, p);
  }
}
