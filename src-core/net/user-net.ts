// User-mode NAT, like QEMU's `-netdev user` and VirtualBox's NAT: the guest sits alone on
// 10.0.2.0/24 behind a gateway that is really this process. ARP and DHCP come from here, ping
// reaches the gateway, DNS at 10.0.2.3 uses the host's resolver, and the guest's UDP and TCP
// become ordinary host sockets (10.0.2.2 is the host's 127.0.0.1). Port-forwarding rules listen
// on the host's loopback and connect into the guest. No privileges, no raw sockets, no TAP.
//
// createUserNet is async because it listens on the forwarded ports first: a port that is
// already taken rejects the promise with an error naming the rule, and nothing stays open.

import type { PortForward } from '../api/machine.ts';
import {
  BROADCAST_MAC, DNS_IP, GATEWAY_IP, GATEWAY_MAC, GUEST_IP, inGuestNet, LIMITED_BROADCAST, parseMac, sameMac,
} from './addresses.ts';
import { handleArp } from './arp.ts';
import type { NetBackend } from './backend.ts';
import type { DropReason, NetContext, TcpEvent } from './context.ts';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, handleDhcp } from './dhcp.ts';
import { DNS_PORT, DnsServer, hostLookup, type Lookup } from './dns.ts';
import { buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from './ethernet.ts';
import { handleIcmp } from './icmp.ts';
import { buildIpv4, parseIpv4, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './ipv4.ts';
import { openPortForwards, type PortForwards } from './port-forward.ts';
import { TCP_RTO_MS, TcpNat } from './tcp-nat.ts';
import { parseTcp } from './tcp-segment.ts';
import { buildUdp, parseUdp } from './udp.ts';
import { UDP_IDLE_MS, UdpNat } from './udp-nat.ts';

/**
 * Frames handed to the NIC per turn of the event loop. The guest's receive ring is finite (the
 * Linux e1000 driver posts 256 buffers) and the guest CPU runs between turns, so a burst larger
 * than the ring would only be dropped at the NIC; the rest waits for the next turn.
 */
export const FRAMES_PER_TURN = 64;
/** Frames waiting for the NIC before new ones are dropped (TCP resends; UDP is lossy anyway). */
const MAX_QUEUED_FRAMES = 4096;

export interface UserNetOptions {
  /** The adapter's MAC (config `network[].mac`): where frames for the guest are addressed. */
  guestMac: string;
  /** The adapter's port-forwarding rules (config `network[].portForwards`). */
  portForwards?: readonly PortForward[];
  /** Only the host (10.0.2.2) and the NAT's own services are reachable; no outside traffic. */
  hostLoopbackOnly?: boolean;
  /** Lines for the VM's log (refused connections, failed lookups, host socket errors). */
  log?: (line: string) => void;
  /** Initial TCP retransmission timeout (default 1 s). */
  tcpRtoMs?: number;
  /** Idle time after which a UDP flow's host socket closes (default 60 s). */
  udpIdleMs?: number;
  /** Name resolution for the DNS server (default: the host's, via dns.lookup). */
  dnsLookup?: Lookup;
}

export interface UserNet extends NetBackend {
  /** Frames dropped, by reason (bad checksums, fragments, ...). */
  readonly drops: Readonly<Record<DropReason, number>>;
  /** TCP retransmission timeouts and fast retransmits so far. */
  readonly tcpEvents: Readonly<Record<TcpEvent, number>>;
  /** Host ports listened on, by rule name. */
  readonly forwardedPorts: ReadonlyMap<string, number>;
  readonly tcpConnections: number;
  /** Bytes from host sockets waiting for the guest to acknowledge them. */
  readonly tcpBuffered: number;
  /** Connections whose host socket is paused (the guest's window is full). */
  readonly tcpPaused: number;
  readonly udpFlows: number;
}

export async function createUserNet(options: UserNetOptions): Promise<UserNet> {
  const configuredMac = parseMac(options.guestMac);
  const net = new UserNetwork(configuredMac, options);
  try {
    net.forwards = await openPortForwards(options.portForwards ?? [], {
      tcp: net.tcp,
      udp: net.udp,
      guestIp: () => net.guestIp(),
      log: (l) => net.log(l),
    });
  } catch (err) {
    await net.close();
    throw err;
  }
  return net;
}

function emptyDrops(): Record<DropReason, number> {
  return {
    'not-for-us': 0, malformed: 0, 'ip-checksum': 0, 'tcp-checksum': 0, 'udp-checksum': 0, 'icmp-checksum': 0,
    fragment: 0, unsupported: 0, policy: 0, 'too-big': 0, 'queue-full': 0,
  };
}

class UserNetwork implements UserNet, NetContext {
  readonly drops = emptyDrops();
  readonly tcpEvents: Record<TcpEvent, number> = { timeout: 0, 'fast-retransmit': 0 };
  readonly hostLoopbackOnly: boolean;
  readonly bindAddress: string;
  readonly tcp: TcpNat;
  readonly udp: UdpNat;
  forwards: PortForwards | undefined;
  private readonly dns: DnsServer;
  private guestMac: Uint8Array;
  private learnedIp: number | undefined;
  private receiver: ((frame: Uint8Array) => void) | undefined;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly logLine: (line: string) => void;

  constructor(mac: Uint8Array, o: UserNetOptions) {
    this.guestMac = mac;
    this.hostLoopbackOnly = o.hostLoopbackOnly ?? false;
    this.bindAddress = this.hostLoopbackOnly ? '127.0.0.1' : '0.0.0.0';
    this.logLine = o.log ?? (() => {});
    this.tcp = new TcpNat(this, o.tcpRtoMs ?? TCP_RTO_MS);
    this.udp = new UdpNat(this, o.udpIdleMs ?? UDP_IDLE_MS);
    this.dns = new DnsServer(o.dnsLookup ?? hostLookup, (l) => this.log(l));
  }

  get forwardedPorts(): ReadonlyMap<string, number> {
    return this.forwards?.ports ?? new Map();
  }

  get tcpConnections(): number {
    return this.tcp.connectionCount;
  }

  get tcpBuffered(): number {
    return this.tcp.buffered.bytes;
  }

  get tcpPaused(): number {
    return this.tcp.buffered.paused;
  }

  get udpFlows(): number {
    return this.udp.flowCount;
  }

  setReceiver(receive: (frame: Uint8Array) => void): void {
    this.receiver = receive;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    const eth = parseEthernet(frame);
    if (!eth) return this.drop('malformed');
    if (!sameMac(eth.dst, GATEWAY_MAC) && !sameMac(eth.dst, BROADCAST_MAC)) return this.drop('not-for-us');
    if (eth.type === ETHERTYPE_ARP) {
      const arp = handleArp(eth.payload);
      if (!arp) return this.drop('malformed');
      this.guestMac = arp.senderMac;
      if (arp.senderIp !== 0 && inGuestNet(arp.senderIp)) this.learnedIp = arp.senderIp;
      if (arp.reply) this.queueFrame(buildEthernet(arp.senderMac, GATEWAY_MAC, ETHERTYPE_ARP, arp.reply));
      return;
    }
    if (eth.type !== ETHERTYPE_IPV4) return this.drop('unsupported'); // IPv6 and the rest
    const ip = parseIpv4(eth.payload);
    if (!ip.ok) return this.drop(ip.reason === 'checksum' ? 'ip-checksum' : ip.reason);
    const { src, dst, protocol, payload } = ip.packet;
    if (src !== 0 && inGuestNet(src)) {
      this.learnedIp = src;
      if (!sameMac(eth.src, this.guestMac)) this.guestMac = eth.src.slice(); // a copy: the frame is the NIC's
    }
    if (protocol === PROTO_TCP) {
      const t = parseTcp(src, dst, payload);
      return t.ok ? this.tcp.handle(src, dst, t.segment) : this.drop(t.reason);
    }
    if (protocol === PROTO_UDP) {
      const u = parseUdp(src, dst, payload);
      if (!u.ok) return this.drop(u.reason);
      return this.onUdp(src, dst, u.datagram.srcPort, u.datagram.dstPort, u.datagram.payload);
    }
    if (protocol === PROTO_ICMP) return handleIcmp(this, src, dst, payload);
    this.drop('unsupported');
  }

  private onUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: Uint8Array): void {
    if (dstPort === DHCP_SERVER_PORT && (dst === LIMITED_BROADCAST || dst === GATEWAY_IP)) {
      const r = handleDhcp(payload);
      if (!r) return;
      this.guestMac = r.clientMac;
      const udp = buildUdp(GATEWAY_IP, LIMITED_BROADCAST, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, r.message);
      const to = r.broadcast ? BROADCAST_MAC : r.clientMac;
      this.queueFrame(buildEthernet(to, GATEWAY_MAC, ETHERTYPE_IPV4, buildIpv4(GATEWAY_IP, LIMITED_BROADCAST, PROTO_UDP, udp)));
      return;
    }
    if (dst === DNS_IP) {
      if (dstPort !== DNS_PORT) return this.drop('unsupported');
      const query = payload.slice(); // answered later: the frame is the NIC's
      void this.dns.answer(query).then((reply) => {
        if (reply && !this.closed) this.udp.toGuest(DNS_IP, DNS_PORT, src, srcPort, reply);
      });
      return;
    }
    this.udp.handle(src, dst, { srcPort, dstPort, payload });
  }

  // NetContext

  guestIp(): number {
    return this.learnedIp ?? GUEST_IP;
  }

  sendIp(src: number, dst: number, protocol: number, payload: Uint8Array): void {
    this.queueFrame(buildEthernet(this.guestMac, GATEWAY_MAC, ETHERTYPE_IPV4, buildIpv4(src, dst, protocol, payload)));
  }

  drop(reason: DropReason): void {
    this.drops[reason]++;
  }

  tcpEvent(event: TcpEvent): void {
    this.tcpEvents[event]++;
  }

  log(line: string): void {
    this.logLine(line);
  }

  /** Frames reach the NIC from the event loop, never from inside its own send(). */
  private queueFrame(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length - this.queueHead >= MAX_QUEUED_FRAMES) return this.drop('queue-full');
    this.queue.push(frame);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closed) return;
      const end = Math.min(this.queue.length, this.queueHead + FRAMES_PER_TURN);
      const receive = this.receiver;
      for (; this.queueHead < end; this.queueHead++) {
        const f = this.queue[this.queueHead];
        if (receive) receive(f);
      }
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      } else {
        if (this.queueHead > 1024) {
          this.queue = this.queue.slice(this.queueHead);
          this.queueHead = 0;
        }
        this.scheduleFlush();
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queueHead = 0;
    this.tcp.close();
    this.udp.close();
    await this.forwards?.close();
  }
}
