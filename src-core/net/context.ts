// What each protocol handler needs from the backend: where the guest is, a way to send it an
// IP packet, a log, and counters of what was dropped (tests read them; the NIC keeps the VM's
// real traffic statistics).

export type DropReason =
  | 'not-for-us' // Ethernet destination neither the gateway nor broadcast
  | 'malformed'
  | 'ip-checksum'
  | 'tcp-checksum'
  | 'udp-checksum'
  | 'icmp-checksum'
  | 'fragment'
  | 'unsupported' // a protocol or destination the NAT does not serve
  | 'policy' // hostLoopbackOnly refused it
  | 'too-big' // a host reply that does not fit one unfragmented packet
  | 'queue-full'; // frames for the guest piled up beyond what the NIC was taking

/** TCP recovery events, counted for tests and diagnostics. */
export type TcpEvent = 'timeout' | 'fast-retransmit';

export interface NetContext {
  /** The guest's IPv4 address: learned from its traffic, else the DHCP lease (10.0.2.15). */
  guestIp(): number;
  /** Queues an IPv4 packet for the guest from `src` (an address the guest sees) to `dst`. */
  sendIp(src: number, dst: number, protocol: number, payload: Uint8Array): void;
  drop(reason: DropReason): void;
  tcpEvent(event: TcpEvent): void;
  log(line: string): void;
  /** True: the guest may reach only the host (10.0.2.2) and the NAT's own services. */
  readonly hostLoopbackOnly: boolean;
  /** Host-side sockets bind here (127.0.0.1 when loopback-only, any address otherwise). */
  readonly bindAddress: string;
}
