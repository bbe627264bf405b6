// The board's x87 error logic alone: FERR# latches IRQ 13 once per activation, port F0h clears
// the latch and asserts IGNNE# only while FERR# is active, IGNNE# drops with FERR#, and reset
// and snapshots keep the interrupt line consistent.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { FpuErrorPort } from '../../../src-core/engine/devices/fpu-error.ts';

function board(): { dev: FpuErrorPort; io: IoBus; line: { level: boolean; edges: number } } {
  const io = new IoBus();
  const line = { level: false, edges: 0 };
  const dev = new FpuErrorPort(io, {
    raise: () => { if (!line.level) line.edges++; line.level = true; },
    lower: () => { line.level = false; },
    pulse: () => { line.edges++; },
  });
  return { dev, io, line };
}

describe('FPU error port (FERR# / IRQ 13 / IGNNE#)', () => {
  it('latches IRQ 13 on FERR#, clears it on a write to F0h and then asserts IGNNE# until FERR# drops', () => {
    const { dev, io, line } = board();
    io.write(0xf0, 1, 0); // nothing pending: no effect
    expect(dev.ignne).toBe(false);
    dev.ferr(true);
    expect(line).toEqual({ level: true, edges: 1 });
    dev.ferr(true); // still active: no second request
    expect(line.edges).toBe(1);
    expect(dev.ignne).toBe(false);
    io.write(0xf0, 1, 0);
    expect(line.level).toBe(false);
    expect(dev.ignne).toBe(true);
    expect(io.read(0xf0, 1)).toBe(0xff);
    dev.ferr(false);
    expect(dev.ignne).toBe(false);
    dev.ferr(true); // a new exception: a new request
    expect(line).toEqual({ level: true, edges: 2 });
  });

  it('does not assert IGNNE# when the handler cleared the exception before writing F0h', () => {
    const { dev, io, line } = board();
    dev.ferr(true);
    dev.ferr(false); // FNCLEX first
    expect(line.level).toBe(true); // the request stays latched
    io.write(0xf0, 1, 0);
    expect(line.level).toBe(false);
    expect(dev.ignne).toBe(false);
  });

  it('resets and round-trips its state, driving the line to match', () => {
    const { dev, io } = board();
    dev.ferr(true);
    io.write(0xf0, 1, 0);
    const s = structuredClone(dev.saveState());
    const b = board();
    b.dev.loadState(s);
    expect(b.dev.ignne).toBe(true);
    expect(b.line.level).toBe(false);
    b.dev.loadState({ ferr: true, irq: true, ignne: false });
    expect(b.line.level).toBe(true);
    b.dev.reset();
    expect(b.line.level).toBe(false);
    expect(b.dev.ignne).toBe(false);
    expect(() => b.dev.loadState({ ferr: 1 })).toThrow(/ferr/);
  });
});
