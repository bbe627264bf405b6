// UDP through the host: each guest flow (guest port, destination address and port) gets its
// own host dgram socket, so replies find their way back; a flow closes after it has been idle.
// 10.0.2.2 is the host's 127.0.0.1. Forwarded host ports (port-forward.ts) register inbound
// flows in the same table, keyed the way the guest's replies arrive.

import dgram from 'node:dgram';
import { GATEWAY_IP, inGuestNet, ipToString, LOOPBACK_IP } from './addresses.ts';
import type { NetContext } from './context.ts';
import { PROTO_UDP } from './ipv4.ts';
import { buildUdp, UDP_MAX_PAYLOAD, type UdpDatagram } from './udp.ts';

export const UDP_IDLE_MS = 60_000;
/** Host sockets one guest may hold open for UDP: a bound on file descriptors, not a quota users meet. */
export const MAX_UDP_FLOWS = 512;

export interface UdpFlow {
  /** Carries a guest datagram's payload to the host side. */
  deliver(payload: Uint8Array): void;
  /** Releases host resources (an outbound flow's socket); the table entry is already gone. */
  dispose(): void;
  timer: NodeJS.Timeout;
}

function flowKey(guestPort: number, remoteIp: number, remotePort: number): string {
  return `${guestPort}|${remoteIp}:${remotePort}`;
}

/** Where a guest-visible destination is on the host, or why it cannot be reached. */
export function hostAddressFor(ctx: NetContext, dst: number): string | 'unsupported' | 'policy' {
  if (dst === GATEWAY_IP) return ipToString(LOOPBACK_IP);
  // Other guest-network addresses have nobody behind them; multicast/broadcast are not routed.
  if (inGuestNet(dst) || dst >>> 28 === 0xe || dst >>> 28 === 0xf || dst >>> 24 === 0 || dst >>> 24 === 127) return 'unsupported';
  if (ctx.hostLoopbackOnly) return 'policy';
  return ipToString(dst);
}

export class UdpNat {
  private flows = new Map<string, UdpFlow>();

  constructor(private readonly ctx: NetContext, private readonly idleMs = UDP_IDLE_MS) {}

  get flowCount(): number {
    return this.flows.size;
  }

  /** A datagram the guest sent from `src` to `dst` (not DHCP or DNS: user-net handles those). */
  handle(src: number, dst: number, d: UdpDatagram): void {
    const key = flowKey(d.srcPort, dst, d.dstPort);
    let flow = this.flows.get(key);
    if (!flow) {
      const host = hostAddressFor(this.ctx, dst);
      if (host === 'unsupported' || host === 'policy') return this.ctx.drop(host);
      if (this.flows.size >= MAX_UDP_FLOWS) {
        this.ctx.log(`udp: ${MAX_UDP_FLOWS} flows open; dropping a datagram to ${host}:${d.dstPort}`);
        return this.ctx.drop('policy');
      }
      flow = this.openOutbound(key, src, dst, d.srcPort, d.dstPort, host);
    }
    flow.timer.refresh();
    flow.deliver(d.payload);
  }

  /**
   * Registers a flow that started on the host (a forwarded port): guest datagrams from
   * `guestPort` to 10.0.2.2:`remotePort` go to `deliver`. Returns the flow's keep-alive.
   */
  addInbound(guestPort: number, remotePort: number, deliver: (payload: Uint8Array) => void): () => void {
    const key = flowKey(guestPort, GATEWAY_IP, remotePort);
    const existing = this.flows.get(key);
    if (existing) {
      existing.timer.refresh();
      return () => existing.timer.refresh();
    }
    const flow: UdpFlow = { deliver, dispose: () => {}, timer: this.idleTimer(key) };
    this.flows.set(key, flow);
    return () => flow.timer.refresh();
  }

  /** Sends the guest a datagram from `src`:`srcPort` (a guest-visible address). */
  toGuest(src: number, srcPort: number, dst: number, dstPort: number, payload: Uint8Array): void {
    if (payload.length > UDP_MAX_PAYLOAD) return this.ctx.drop('too-big'); // no fragmentation
    this.ctx.sendIp(src, dst, PROTO_UDP, buildUdp(src, dst, srcPort, dstPort, payload));
  }

  close(): void {
    for (const key of [...this.flows.keys()]) this.remove(key);
  }

  private openOutbound(key: string, guestIp: number, dst: number, guestPort: number, dstPort: number, host: string): UdpFlow {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      // Only the flow's peer may answer, like a connected socket (and a NAT's mapping).
      if (rinfo.address !== host || rinfo.port !== dstPort) return;
      flow.timer.refresh();
      this.toGuest(dst, dstPort, guestIp, guestPort, msg);
    });
    socket.on('error', (err) => {
      this.ctx.log(`udp: flow to ${host}:${dstPort}: ${err.message}`);
      this.remove(key);
    });
    let bound = false;
    const queue: Uint8Array[] = [];
    socket.bind({ port: 0, address: this.ctx.bindAddress, exclusive: true }, () => {
      bound = true;
      for (const p of queue.splice(0)) socket.send(p, dstPort, host);
    });
    const flow: UdpFlow = {
      deliver: (payload) => {
        const copy = Buffer.from(payload); // the frame is the NIC's; do not keep a view of it
        if (bound) socket.send(copy, dstPort, host);
        else if (queue.length < 64) queue.push(copy);
      },
      dispose: () => socket.close(),
      timer: this.idleTimer(key),
    };
    this.flows.set(key, flow);
    return flow;
  }

  private idleTimer(key: string): NodeJS.Timeout {
    const t = setTimeout(() => this.remove(key), this.idleMs);
    t.unref();
    return t;
  }

  private remove(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    clearTimeout(flow.timer);
    try {
      flow.dispose();
    } catch {
      // already closed after an error
    }
  }
}
