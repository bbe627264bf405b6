// A guest-side TCP endpoint for tests: handshakes, sends, reads with an advertised window it
// enforces (the backend must never send beyond it, nor segments above the guest's MSS).

import { F, type FakeGuest, GUEST, type Seen, tcpSegment } from './fake-guest.ts';

export interface GuestTcpOptions {
  localPort: number;
  remoteIp: string;
  remotePort: number;
  mss?: number;
  window?: number;
  /** Offer window scaling with this shift (this.window is then in bytes, sent scaled). */
  wscale?: number;
}

export class GuestTcp {
  seq = 0x10000000;
  /** Next byte expected from the backend. */
  rcvNxt = 0;
  readonly mss: number;
  window: number;
  /** Largest segment and window overrun seen from the backend (tests assert on these). */
  maxSegment = 0;
  overrun = 0;
  private rightEdge = 0;
  remoteMss: number | undefined;
  remoteWscale: number | undefined;

  constructor(readonly g: FakeGuest, readonly o: GuestTcpOptions) {
    this.mss = o.mss ?? 1460;
    this.window = o.window ?? 65535;
  }

  mine = (s: Seen): boolean =>
    !!s.tcp && s.ip!.src === this.o.remoteIp && s.ip!.dst === GUEST && s.tcp.sport === this.o.remotePort && s.tcp.dport === this.o.localPort;

  out(flags: number, data?: ArrayLike<number>, bad = false, seq = this.seq): void {
    const seg = tcpSegment(GUEST, this.o.remoteIp, {
      sport: this.o.localPort, dport: this.o.remotePort, seq, ack: this.rcvNxt, flags,
      window: flags & F.SYN ? Math.min(this.window, 65535) : Math.min(65535, this.window >>> this.shift()),
      mss: flags & F.SYN ? this.mss : undefined, wscale: flags & F.SYN ? this.o.wscale : undefined, data,
    }, bad);
    this.g.sendIp(this.o.remoteIp, 6, seg);
    if (flags & F.ACK) this.rightEdge = (this.rcvNxt + this.window) >>> 0;
  }

  /** Our window's shift: only once both SYNs carried the option. */
  private shift(): number {
    return this.o.wscale !== undefined && this.remoteWscale !== undefined ? this.o.wscale : 0;
  }

  /** Active open. Returns the backend's SYN-ACK (or throws with what came instead). */
  async connect(): Promise<Seen> {
    this.out(F.SYN);
    const synAck = await this.g.take(this.mine);
    if (synAck.tcp!.flags !== (F.SYN | F.ACK)) return synAck; // e.g. RST: the caller checks
    this.seq = (this.seq + 1) >>> 0;
    this.rcvNxt = (synAck.tcp!.seq + 1) >>> 0;
    this.remoteMss = synAck.tcp!.mss;
    this.remoteWscale = synAck.tcp!.wscale;
    this.out(F.ACK);
    return synAck;
  }

  /** Passive open: waits for the backend's SYN, answers SYN-ACK, waits for its ACK. */
  async accept(ms = 3000): Promise<Seen> {
    const syn = await this.g.take(this.mine, ms);
    if (syn.tcp!.flags !== F.SYN) throw new Error(`expected SYN, got flags ${syn.tcp!.flags}`);
    this.rcvNxt = (syn.tcp!.seq + 1) >>> 0;
    this.remoteMss = syn.tcp!.mss;
    this.out(F.SYN | F.ACK);
    this.seq = (this.seq + 1) >>> 0;
    const ack = await this.g.take(this.mine);
    if (ack.tcp!.flags & (F.SYN | F.RST) || ack.tcp!.ack !== this.seq) throw new Error('bad handshake ACK');
    return syn;
  }

  write(bytes: Uint8Array): void {
    const mss = this.remoteMss ?? 536;
    for (let i = 0; i < bytes.length; i += mss) {
      const chunk = bytes.subarray(i, Math.min(bytes.length, i + mss));
      this.out(F.ACK | F.PSH, chunk);
      this.seq = (this.seq + chunk.length) >>> 0;
    }
  }

  fin(): void {
    this.out(F.FIN | F.ACK);
    this.seq = (this.seq + 1) >>> 0;
  }

  /**
   * Reads until `n` bytes arrived (or the backend's FIN), acknowledging every in-order segment
   * with this.window. Returns the bytes and whether a FIN came.
   */
  async read(n: number, ms = 10_000): Promise<{ data: Buffer; fin: boolean }> {
    const parts: Buffer[] = [];
    let got = 0;
    let fin = false;
    const deadline = Date.now() + ms;
    while (got < n && !fin) {
      const s = await this.g.take(this.mine, Math.max(1, deadline - Date.now()));
      const t = s.tcp!;
      if (!t.checksumOk) throw new Error('bad TCP checksum from the backend');
      if (t.flags & F.RST) throw new Error('connection reset by the backend');
      this.maxSegment = Math.max(this.maxSegment, t.data.length);
      const end = (t.seq + t.data.length) >>> 0;
      if (((end - this.rightEdge) | 0) > 0) this.overrun = Math.max(this.overrun, (end - this.rightEdge) | 0);
      if (t.seq !== this.rcvNxt) {
        this.out(F.ACK); // a retransmission or a gap: say where we are
        continue;
      }
      if (t.data.length) {
        parts.push(Buffer.from(t.data));
        got += t.data.length;
        this.rcvNxt = end;
      }
      if (t.flags & F.FIN) {
        fin = true;
        this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      }
      if (t.data.length || fin) this.out(F.ACK);
    }
    return { data: Buffer.concat(parts), fin };
  }
}
