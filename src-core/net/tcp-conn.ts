// One TCP connection between the guest and the NAT, which terminates it and relays the bytes
// over a host socket. The NAT is a real TCP endpoint toward the guest: its own sequence numbers,
// the guest's window and MSS respected, unacknowledged data retransmitted on a timer (go-back-N
// from the oldest unacknowledged byte, RTO doubling), zero-window probes, FIN in both
// directions (half-close), RST both ways. The RTO follows the measured round-trip time (RFC
// 6298, Karn's rule), since a guest on an emulated CPU can take far longer to answer than a
// real one. Host-side backpressure: when more than SEND_BUFFER
// bytes wait for the guest's acknowledgement (its window is full), the host socket is paused.
//
// Window scaling (RFC 7323) is used when the guest offers it, since a 64 KiB window caps a
// transfer at 64 KiB per round trip, and round trips through an emulated guest are slow. No
// SACK or timestamps.
//
// Congestion control (RFC 5681: slow start, congestion avoidance, fast retransmit on three
// duplicate ACKs) matters even on a virtual wire: the guest's NIC has a finite receive ring and
// drops what does not fit, exactly like a congested router would.

import type { Socket } from 'node:net';
import type { NetContext } from './context.ts';
import { PROTO_TCP } from './ipv4.ts';
import { CongestionWindow, MAX_RTO_MS, RttEstimator } from './tcp-control.ts';
import { ACK, buildTcp, DEFAULT_MSS, FIN, type OutSegment, PSH, RST, seqAdd, seqDiff, SYN, type TcpSegment } from './tcp-segment.ts';

/** Our MSS on a 1500-byte MTU (no options on data segments). */
export const OUR_MSS = 1460;
/** Bytes from the host held for the guest before the host socket is paused. */
export const SEND_BUFFER = 512 * 1024;
/** Bytes the guest may send that the host socket has not taken yet: our advertised window. */
const RECEIVE_BUFFER = 256 * 1024;
/** Our window-scale shift: 256 KiB fits in 16 bits shifted by 2. */
const OUR_WSCALE = 2;
const MAX_RETRIES = 8;

export interface Endpoints {
  guestIp: number;
  guestPort: number;
  /** The address and port the guest sees for the far end. */
  remoteIp: number;
  remotePort: number;
}

export interface TcpConnOptions {
  ctx: NetContext;
  /** Initial retransmission timeout. */
  rtoMs: number;
  /** Called once when the connection is over and may leave the table. */
  onClosed(): void;
}

type State = 'connecting' | 'syn-sent' | 'syn-rcvd' | 'established' | 'closed';

export class TcpConn {
  state: State;
  private readonly iss = (Math.random() * 0x100000000) >>> 0;
  /** Oldest unacknowledged sequence number; sendBuf[0] is the byte at sndUna. */
  private sndUna = 0;
  private sndNxt = 0;
  private sndWnd = 0;
  private sndMss = DEFAULT_MSS;
  /** Window-scale shifts in use (0 unless both SYNs carried the option). */
  private sndShift = 0;
  private rcvShift = 0;
  /** The guest's SYN offered window scaling (so our SYN-ACK may carry the option). */
  private peerScales = false;
  private rcvNxt = 0;
  private sendBuf: Buffer = Buffer.alloc(0);
  private hostEnded = false;
  private finSent = false;
  private finAcked = false;
  private finReceived = false;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private rto: number;
  private retries = 0;
  private readonly rtt: RttEstimator;
  private readonly cc = new CongestionWindow();
  private ackScheduled = false;
  /** One past the highest sequence number ever sent: below it, a send is a retransmission. */
  private sndMax = 0;
  private ackPending = false;
  private socket: Socket | undefined;

  private constructor(readonly ep: Endpoints, private readonly o: TcpConnOptions, state: State) {
    this.state = state;
    this.rto = o.rtoMs;
    this.rtt = new RttEstimator(o.rtoMs);
  }

  /** The guest opened a connection (its SYN): connect on the host, answer once that succeeds. */
  static fromGuest(ep: Endpoints, syn: TcpSegment, connect: () => Socket, o: TcpConnOptions): TcpConn {
    const c = new TcpConn(ep, o, 'connecting');
    c.rcvNxt = seqAdd(syn.seq, 1);
    c.learnPeer(syn);
    const socket = connect();
    socket.setTimeout(30_000); // an unreachable host: give up before the guest stops retrying
    socket.once('timeout', () => {
      if (c.state === 'connecting') socket.destroy(new Error('connect timed out'));
    });
    socket.once('connect', () => {
      socket.setTimeout(0);
      if (c.state !== 'connecting') return;
      c.state = 'syn-rcvd';
      c.sndNxt = seqAdd(c.iss, 1);
      c.sendSyn();
    });
    c.attach(socket);
    return c;
  }

  /** A host client reached a forwarded port: open a connection to the guest (our SYN). */
  static toGuest(ep: Endpoints, socket: Socket, o: TcpConnOptions): TcpConn {
    const c = new TcpConn(ep, o, 'syn-sent');
    c.sndNxt = seqAdd(c.iss, 1);
    c.attach(socket);
    c.sendSyn();
    return c;
  }

  /** A segment from the guest for this connection. */
  handle(seg: TcpSegment): void {
    if (this.state === 'closed') return;
    if (seg.flags & RST) return this.onGuestReset(seg);
    switch (this.state) {
      case 'connecting':
        return; // duplicate SYNs while the host connect is in progress
      case 'syn-sent':
        if (seg.flags & SYN && seg.flags & ACK && seg.ack === seqAdd(this.iss, 1)) {
          this.rcvNxt = seqAdd(seg.seq, 1);
          this.learnPeer(seg);
          this.establish();
          this.sendAck();
          this.pump();
        } else if (seg.flags & ACK) {
          this.emit({ seq: seg.ack, ack: 0, flags: RST });
        }
        return;
      case 'syn-rcvd':
        if (seg.flags & SYN) {
          if (seqAdd(seg.seq, 1) === this.rcvNxt) this.sendSyn(); // our SYN-ACK was lost
          return;
        }
        if (!(seg.flags & ACK) || seg.ack !== seqAdd(this.iss, 1)) return;
        this.sndWnd = seg.window << this.sndShift;
        this.establish();
        break;
    }
    this.retries = 0; // the guest is alive
    if (seg.flags & SYN) return this.sendAck(); // a stray SYN on an open connection
    if (seg.flags & ACK) this.onAck(seg);
    if (this.state !== 'established') return;
    this.onData(seg);
    this.pump();
    this.maybeFinished();
  }

  /** Bytes from the host not yet acknowledged by the guest. */
  get buffered(): number {
    return this.sendBuf.length;
  }

  /** True while the host socket is paused because the guest is not taking data. */
  get hostPaused(): boolean {
    return this.paused;
  }

  /** Drops the connection without telling the guest (the backend is closing). */
  destroy(): void {
    this.socket?.destroy();
    this.finish();
  }

  /** From the guest's SYN or SYN-ACK: its MSS, window scaling and (unscaled) first window. */
  private learnPeer(seg: TcpSegment): void {
    this.sndWnd = seg.window; // never scaled in a SYN
    this.sndMss = Math.min(OUR_MSS, Math.max(64, seg.mss ?? DEFAULT_MSS));
    this.peerScales = seg.wscale !== undefined;
    if (seg.wscale !== undefined) {
      this.sndShift = seg.wscale;
      this.rcvShift = OUR_WSCALE;
    }
  }

  private establish(): void {
    this.state = 'established';
    this.sndUna = seqAdd(this.iss, 1);
    this.sndNxt = this.sndUna;
    this.sndMax = this.sndUna;
    this.cc.start(this.sndMss);
    this.stopTimer();
    this.rtt.sample(this.sndUna);
    this.rto = this.rtt.rto();
    this.retries = 0;
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.state === 'closed') return;
      this.sendBuf = this.sendBuf.length ? Buffer.concat([this.sendBuf, chunk]) : chunk;
      if (this.sendBuf.length >= SEND_BUFFER && !this.paused) {
        this.paused = true;
        socket.pause();
      }
      this.pump();
    });
    socket.on('end', () => {
      this.hostEnded = true;
      this.pump();
    });
    socket.on('drain', () => {
      if (this.state === 'established') this.sendAck(); // our window opened again
    });
    socket.on('error', (err) => {
      if (this.state === 'closed') return;
      this.o.ctx.log(`tcp: ${this.describe()}: host socket: ${err.message}`);
      this.resetGuest();
    });
    socket.on('close', () => {
      // A socket closed without an error after its end: remaining data still goes to the guest.
      if (this.state === 'connecting') this.resetGuest();
      else if (!this.hostEnded) {
        this.hostEnded = true;
        this.pump();
      }
    });
  }

  private onGuestReset(seg: TcpSegment): void {
    const ok =
      this.state === 'syn-sent'
        ? seg.flags & ACK && seg.ack === seqAdd(this.iss, 1)
        : seqDiff(seg.seq, this.rcvNxt) >= 0 && seqDiff(seg.seq, this.rcvNxt) <= RECEIVE_BUFFER;
    if (!ok) return;
    this.abortHost(); // the guest's RST becomes an RST on the host connection
    this.finish();
  }

  private onAck(seg: TcpSegment): void {
    const acked = seqDiff(seg.ack, this.sndUna);
    if (acked < 0) return; // old
    if (seqDiff(seg.ack, this.sndNxt) > 0) return this.sendAck(); // acknowledges what we never sent
    const window = seg.window << this.sndShift;
    if (acked === 0) {
      // A duplicate ACK (RFC 5681 2): nothing new acknowledged, no data, same window, data out.
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const dup = seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) && window === this.sndWnd && inFlight > 0;
      this.sndWnd = window;
      if (dup && this.cc.duplicate(inFlight, this.sndNxt, this.sndMss)) {
        this.o.ctx.tcpEvent('fast-retransmit');
        this.retransmitFirst(this.sndUna);
      }
      return;
    }
    this.sndWnd = window;
    const partial = this.cc.acked(seg.ack, acked, this.sndMss);
    const dataAcked = Math.min(acked, this.sendBuf.length);
    if (acked > this.sendBuf.length && this.finSent) this.finAcked = true;
    this.sendBuf = this.sendBuf.subarray(dataAcked);
    this.sndUna = seg.ack;
    this.rtt.sample(seg.ack);
    this.rto = this.rtt.rto();
    this.stopTimer();
    // NewReno partial ACK (RFC 6582): the next hole was lost too; resend it now.
    if (partial) this.retransmitFirst(this.sndUna);
    if (this.paused && this.sendBuf.length < SEND_BUFFER / 2) {
      this.paused = false;
      this.socket?.resume();
    }
  }

  private onData(seg: TcpSegment): void {
    const len = seg.payload.length;
    const fin = (seg.flags & FIN) !== 0;
    if (len === 0 && !fin) return;
    const already = seqDiff(this.rcvNxt, seg.seq);
    if (already < 0 || already > len || (already === len && !fin) || this.finReceived) {
      // Out of order (a hole before it) or entirely old: tell the guest where we are.
      this.sendAck();
      return;
    }
    const data = seg.payload.subarray(already);
    if (data.length) {
      this.socket?.write(Buffer.from(data)); // a copy: the frame belongs to the NIC
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    }
    if (fin) {
      this.finReceived = true;
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.socket?.end();
      this.sendAck();
      return;
    }
    this.scheduleAck();
  }

  /** Resends one segment's worth from `seq` (at or after sndUna), leaving sndNxt alone. */
  private retransmitFirst(seq: number): void {
    const off = seqDiff(seq, this.sndUna);
    const n = Math.min(this.sndMss, this.sendBuf.length - off);
    if (n <= 0) return;
    this.rtt.cancel();
    this.emit({ seq, ack: this.rcvNxt, flags: ACK, payload: this.sendBuf.subarray(off, off + n) });
    this.stopTimer();
    this.armTimer();
  }

  /** Sends what the guest's window allows, then our FIN once the host has ended. */
  private pump(): void {
    if (this.state !== 'established') return;
    while (!this.finSent) {
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const unsent = this.sendBuf.length - inFlight;
      const room = Math.min(this.sndWnd, this.cc.cwnd) - inFlight;
      if (unsent > 0 && room > 0) {
        const n = Math.min(unsent, room, this.sndMss);
        const payload = this.sendBuf.subarray(inFlight, inFlight + n);
        const fresh = seqDiff(this.sndNxt, this.sndMax) >= 0;
        this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: ACK | (n === unsent ? PSH : 0), payload });
        this.sndNxt = seqAdd(this.sndNxt, n);
        if (seqDiff(this.sndNxt, this.sndMax) > 0) this.sndMax = this.sndNxt;
        if (fresh) this.rtt.start(this.sndNxt); // Karn: never time a retransmission
        continue;
      }
      if (unsent === 0 && this.hostEnded) {
        this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: FIN | ACK });
        this.sndNxt = seqAdd(this.sndNxt, 1);
        this.finSent = true;
      }
      break;
    }
    // Retransmission timer while anything is unacknowledged; persist timer on a zero window.
    if (seqDiff(this.sndNxt, this.sndUna) > 0 || this.sendBuf.length > 0) this.armTimer();
  }

  private onTimeout(): void {
    this.timer = undefined;
    if (this.state === 'closed') return;
    const zeroWindow = this.state === 'established' && this.sndWnd === 0;
    if (!zeroWindow && ++this.retries > MAX_RETRIES) {
      this.o.ctx.log(`tcp: ${this.describe()}: the guest stopped answering; reset`);
      this.abortHost();
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: RST | ACK });
      return this.finish();
    }
    this.rto = Math.min(this.rto * 2, MAX_RTO_MS);
    this.o.ctx.tcpEvent('timeout');
    if (this.state === 'established' && !zeroWindow) this.cc.timeout(seqDiff(this.sndNxt, this.sndUna), this.sndMss);
    if (this.state === 'syn-sent' || this.state === 'syn-rcvd') {
      this.sendSyn();
      return;
    }
    // Go back to the oldest unacknowledged byte and send again from there. Karn: what is sent
    // again is not timed (its acknowledgement could be for either copy).
    this.rtt.cancel();
    this.sndNxt = this.sndUna;
    this.finSent = false;
    if (zeroWindow && this.sendBuf.length > 0) {
      // Zero-window probe: one byte beyond the window, which draws an ACK with the window.
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: ACK, payload: this.sendBuf.subarray(0, 1) });
      this.sndNxt = seqAdd(this.sndNxt, 1);
      this.armTimer();
      return;
    }
    this.pump();
  }

  private sendSyn(): void {
    const synAck = this.state === 'syn-rcvd';
    const flags = synAck ? SYN | ACK : SYN;
    if (this.retries === 0) this.rtt.start(seqAdd(this.iss, 1));
    else this.rtt.cancel();
    // Our SYN always offers scaling; a SYN-ACK only answers the guest's offer (RFC 7323 1.3).
    const wscale = !synAck || this.peerScales ? OUR_WSCALE : undefined;
    this.emit({ seq: this.iss, ack: this.rcvNxt, flags, mss: OUR_MSS, wscale });
    this.armTimer();
  }

  private sendAck(): void {
    this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: ACK });
  }

  /** One ACK for a burst of segments processed in the same turn of the event loop. */
  private scheduleAck(): void {
    this.ackPending = true;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      if (this.ackPending && this.state === 'established') this.sendAck();
    });
  }

  private resetGuest(): void {
    if (this.state === 'connecting') {
      // Connection refused (or unreachable): RST answering the guest's SYN.
      this.emit({ seq: 0, ack: this.rcvNxt, flags: RST | ACK });
    } else if (this.state !== 'closed') {
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: RST | ACK });
    }
    this.socket?.destroy();
    this.finish();
  }

  private abortHost(): void {
    const s = this.socket;
    if (!s || s.destroyed) return;
    if (s.connecting || s.pending) s.destroy();
    else s.resetAndDestroy();
  }

  private maybeFinished(): void {
    if (this.finReceived && this.finAcked) this.finish(); // the socket closes itself after end()
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopTimer();
    this.o.onClosed();
  }

  /** The window field: free room toward the host socket, in units of our scale (never scaled in a SYN). */
  private window(syn: boolean): number {
    const queued = this.socket?.writableLength ?? 0;
    const shift = syn ? 0 : this.rcvShift;
    const room = Math.max(0, Math.min(RECEIVE_BUFFER, 0xffff << shift) - queued);
    return Math.min(0xffff, room >>> shift);
  }

  private emit(s: Omit<OutSegment, 'srcPort' | 'dstPort' | 'window'>): void {
    if (s.flags & ACK) this.ackPending = false;
    const { ep } = this;
    const seg: OutSegment = { ...s, srcPort: ep.remotePort, dstPort: ep.guestPort, window: s.flags & RST ? 0 : this.window((s.flags & SYN) !== 0) };
    this.o.ctx.sendIp(ep.remoteIp, ep.guestIp, PROTO_TCP, buildTcp(ep.remoteIp, ep.guestIp, seg));
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.onTimeout(), this.rto);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private describe(): string {
    const ip = (n: number) => `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
    return `${ip(this.ep.guestIp)}:${this.ep.guestPort} <-> ${ip(this.ep.remoteIp)}:${this.ep.remotePort}`;
  }
}
