import { describe, expect, it } from 'vitest';
import { CapGovernor } from '../../../src-core/vmm/cap-governor.ts';

/** Simulates a busy guest under the governor with a given timer overshoot; returns the duty cycle. */
function simulate(cap: number, overshootMs: number, seconds = 10): number {
  let now = 0;
  const g = new CapGovernor(cap, now);
  let busy = 0;
  while (now < seconds * 1000) {
    const slice = g.sliceMs();
    now += slice;
    busy += slice;
    const sleep = g.afterSlice(slice, now);
    if (sleep > 0) now += sleep + overshootMs;
  }
  return (busy / now) * 100;
}

describe('CapGovernor', () => {
  it('holds the duty cycle within 10% of the cap, even with late timers', () => {
    for (const cap of [10, 25, 50, 75, 90]) {
      for (const overshoot of [0, 1, 3]) {
        const duty = simulate(cap, overshoot);
        expect(Math.abs(duty - cap) / cap, `cap ${cap}% overshoot ${overshoot} ms gave ${duty.toFixed(1)}%`).toBeLessThan(0.1);
      }
    }
  });

  it('never sleeps at cap 100', () => {
    const g = new CapGovernor(100, 0);
    expect(g.afterSlice(20, 20)).toBe(0);
  });

  it('pays back a long slice with a longer sleep', () => {
    const g = new CapGovernor(50, 0);
    expect(g.afterSlice(10, 10)).toBeCloseTo(10);
    expect(g.afterSlice(40, 60)).toBeCloseTo(40); // 50 ms busy in 60 ms: sleep 40 to reach 50%
  });

  it('does not let an idle stretch become a burst above the cap', () => {
    const g = new CapGovernor(25, 0);
    // 5 s idle, then busy: the sleep after the first slice is as if there had been no idle time.
    expect(g.afterSlice(10, 5000)).toBeCloseTo(30);
  });

  it('rejects caps outside 1-100', () => {
    expect(() => new CapGovernor(0)).toThrow(/1-100 percent/);
    expect(() => new CapGovernor(101)).toThrow(/1-100 percent/);
  });
});
