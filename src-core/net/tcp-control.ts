// The two estimates a TCP sender keeps besides its sequence numbers: the retransmission timeout
// from measured round trips (RFC 6298, with Karn's rule) and the congestion window (RFC 5681
// slow start and congestion avoidance with byte counting as in RFC 3465, fast retransmit after
// three duplicate ACKs, NewReno recovery from RFC 6582).

import { seqDiff } from './tcp-segment.ts';

export const MAX_RTO_MS = 30_000;
/** RFC 6298 suggests 1 s, Linux uses 200 ms; on a virtual wire 100 ms. Never above the initial RTO. */
const MIN_RTO_MS = 100;
/** RFC 6928's initial window of ten segments. */
const INITIAL_CWND_SEGMENTS = 10;
/** Byte counting limit per ACK, in segments: guests with GRO acknowledge a dozen at once. */
const ABC_LIMIT_SEGMENTS = 16;

export class RttEstimator {
  private srtt: number | undefined;
  private rttvar = 0;
  /** The acknowledgement that completes the segment being timed, and when it was sent. */
  private timedAck: number | undefined;
  private timedAt = 0;

  constructor(private readonly initialMs: number) {}

  /** Times a segment sent for the first time (ack = the acknowledgement that completes it), if none is being timed. */
  start(ack: number): void {
    if (this.timedAck !== undefined) return;
    this.timedAck = ack;
    this.timedAt = Date.now();
  }

  /** Karn: a retransmission's acknowledgement could be for either copy, so stop timing. */
  cancel(): void {
    this.timedAck = undefined;
  }

  /** An acknowledgement up to `ack` arrived: finish the timing it completes (RFC 6298 2.2-2.3). */
  sample(ack: number): void {
    if (this.timedAck === undefined || seqDiff(ack, this.timedAck) < 0) return;
    const r = Math.max(1, Date.now() - this.timedAt);
    this.timedAck = undefined;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
  }

  rto(): number {
    if (this.srtt === undefined) return this.initialMs;
    const min = Math.min(MIN_RTO_MS, this.initialMs);
    return Math.min(MAX_RTO_MS, Math.max(min, this.srtt + Math.max(10, 4 * this.rttvar)));
  }
}

export class CongestionWindow {
  /** Bytes the sender may have unacknowledged. */
  cwnd = 0;
  private ssthresh = 0x7fffffff;
  private dupAcks = 0;
  /** While recovering from a fast retransmit: the sequence number that ends the recovery. */
  private recover: number | undefined;

  start(mss: number): void {
    this.cwnd = INITIAL_CWND_SEGMENTS * mss;
  }

  /** A duplicate ACK; true on the third in a row outside recovery: resend the first segment. */
  duplicate(inFlight: number, sndNxt: number, mss: number): boolean {
    if (++this.dupAcks !== 3 || this.recover !== undefined) return false;
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * mss);
    this.cwnd = this.ssthresh;
    this.recover = sndNxt;
    return true;
  }

  /** New data acknowledged (`acked` bytes up to `ack`). True for a NewReno partial ACK: resend the next hole. */
  acked(ack: number, acked: number, mss: number): boolean {
    this.dupAcks = 0;
    const counted = Math.min(acked, ABC_LIMIT_SEGMENTS * mss);
    if (this.recover !== undefined) {
      if (seqDiff(ack, this.recover) < 0) return true;
      this.recover = undefined; // everything that was out at the loss is acknowledged
      this.cwnd = this.ssthresh;
    } else if (this.cwnd < this.ssthresh) {
      this.cwnd += counted; // slow start
    } else {
      this.cwnd += Math.max(1, Math.floor((mss * counted) / this.cwnd)); // congestion avoidance
    }
    return false;
  }

  /** RFC 5681 3.1: after a retransmission timeout, start again from one segment. */
  timeout(inFlight: number, mss: number): void {
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * mss);
    this.cwnd = mss;
    this.recover = undefined;
    this.dupAcks = 0;
  }
}
