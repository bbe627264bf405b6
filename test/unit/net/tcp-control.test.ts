// The sender's estimates on their own: RTO from round trips (RFC 6298, Karn) and the
// congestion window (RFC 5681/3465/6582).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { CongestionWindow, RttEstimator } from '../../../src-core/net/tcp-control.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('RttEstimator', () => {
  it('starts at the initial RTO, then follows srtt + 4 rttvar within its floor and ceiling', () => {
    vi.useFakeTimers();
    const r = new RttEstimator(1000);
    expect(r.rto()).toBe(1000);
    r.start(100);
    vi.advanceTimersByTime(400);
    r.sample(99); // does not cover the timed segment
    expect(r.rto()).toBe(1000);
    r.sample(100); // first sample: srtt 400, rttvar 200
    expect(r.rto()).toBe(400 + 4 * 200);
    r.start(200);
    vi.advanceTimersByTime(2);
    r.sample(300); // srtt 350.25, rttvar 0.75*200 + 0.25*398
    expect(r.rto()).toBeCloseTo(0.875 * 400 + 0.125 * 2 + 4 * (0.75 * 200 + 0.25 * 398), 6);
    for (let i = 0; i < 60; i++) {
      r.start(1000 + i);
      vi.advanceTimersByTime(1);
      r.sample(1000 + i);
    }
    expect(r.rto()).toBe(100); // the floor
  });

  it('does not time a retransmitted segment (Karn)', () => {
    vi.useFakeTimers();
    const r = new RttEstimator(1000);
    r.start(100);
    vi.advanceTimersByTime(50);
    r.cancel();
    vi.advanceTimersByTime(5000);
    r.sample(100);
    expect(r.rto()).toBe(1000);
  });
});

describe('CongestionWindow', () => {
  const mss = 1000;

  it('slow start grows by bytes acknowledged (up to 16 segments per ACK), then linearly', () => {
    const c = new CongestionWindow();
    c.start(mss);
    expect(c.cwnd).toBe(10_000);
    c.acked(1, 12 * mss, mss); // a stretch ACK counts all its bytes
    expect(c.cwnd).toBe(22_000);
    c.acked(2, 40 * mss, mss);
    expect(c.cwnd).toBe(38_000);
    // Loss: three duplicates halve the window to half of what was in flight.
    expect(c.duplicate(30_000, 5, mss)).toBe(false);
    expect(c.duplicate(30_000, 5, mss)).toBe(false);
    expect(c.duplicate(30_000, 5, mss)).toBe(true);
    expect(c.cwnd).toBe(15_000);
    expect(c.duplicate(30_000, 5, mss)).toBe(false); // no second fast retransmit in recovery
    expect(c.acked(3, mss, mss)).toBe(true); // partial: 3 is before the recovery point 5
    expect(c.acked(5, mss, mss)).toBe(false); // recovery over
    expect(c.cwnd).toBe(15_000);
    c.acked(6, mss, mss); // congestion avoidance: mss * mss / cwnd
    expect(c.cwnd).toBe(15_000 + Math.floor((mss * mss) / 15_000));
  });

  it('a timeout starts again from one segment', () => {
    const c = new CongestionWindow();
    c.start(mss);
    c.timeout(8000, mss);
    expect(c.cwnd).toBe(mss);
    c.acked(1, mss, mss); // below ssthresh (4000): slow start again
    expect(c.cwnd).toBe(2 * mss);
  });
});
