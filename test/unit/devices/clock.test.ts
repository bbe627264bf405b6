import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src-core/engine/clock.ts';

describe('VirtualClock', () => {
  it('deterministic time is instructions times ns per instruction plus skipped idle time', () => {
    const c = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 2.5 });
    c.setInstructionCount(1000);
    expect(c.now()).toBe(2500);
    c.skipTo(10_000);
    expect(c.now()).toBe(10_000);
    c.setInstructionCount(2000);
    expect(c.now()).toBe(12_500);
  });

  it('fires timers in deadline order and only once due', () => {
    const c = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
    const fired: string[] = [];
    const a = c.createTimer('a', () => fired.push('a'));
    const b = c.createTimer('b', () => fired.push('b'));
    a.setAt(300);
    b.setAt(100);
    expect(c.nextDeadline()).toBe(100);
    c.setInstructionCount(50);
    expect(c.poll()).toBe(0);
    c.setInstructionCount(500);
    expect(c.poll()).toBe(2);
    expect(fired).toEqual(['b', 'a']);
    expect(a.armed).toBe(false);
    expect(c.nextDeadline()).toBe(-1);
  });

  it('lets a timer re-arm itself from its callback (periodic devices)', () => {
    const c = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
    let n = 0;
    let due = 100;
    const t = c.createTimer('p', () => {
      n++;
      due += 100;
      t.setAt(due);
    });
    t.setAt(due);
    c.setInstructionCount(1050);
    c.poll();
    expect(n).toBe(10);
  });

  it('a live instruction counter drives time and folding keeps time monotonic across a CPU reset', () => {
    const c = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
    let count = 700;
    c.attachInstructionCounter(() => count);
    expect(c.now()).toBe(700);
    c.foldInstructions();
    count = 0;
    expect(c.now()).toBe(700);
    count = 5;
    expect(c.now()).toBe(705);
  });

  it('realtime mode follows the host clock only while resumed', async () => {
    const c = new VirtualClock({ kind: 'realtime' });
    expect(c.now()).toBe(0);
    c.resume();
    await new Promise((r) => setTimeout(r, 20));
    const t = c.now();
    expect(t).toBeGreaterThanOrEqual(15e6);
    c.pause();
    const frozen = c.now();
    await new Promise((r) => setTimeout(r, 10));
    expect(c.now()).toBe(frozen);
  });

  it('rejects a non-positive instruction period', () => {
    expect(() => new VirtualClock({ kind: 'deterministic', nsPerInstruction: 0 })).toThrow(/nsPerInstruction/);
  });

  it('saves and restores time', () => {
    const c = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
    c.setInstructionCount(42);
    c.skipTo(100);
    const s = c.saveState();
    const d = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
    d.loadState(s);
    expect(d.now()).toBe(100);
  });
});
