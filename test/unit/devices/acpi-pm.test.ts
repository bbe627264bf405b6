import { describe, expect, it } from 'vitest';
import { AcpiPm, PM_TIMER_HZ, S5_SLP_TYP } from '../../../src-core/engine/devices/acpi-pm.ts';
import { RecordingIrq, Rig } from './harness.ts';

function setup() {
  const r = new Rig();
  const sci = new RecordingIrq();
  const pm = new AcpiPm(r.io, r.clock, sci);
  return { r, sci, pm };
}

describe('ACPI PM registers', () => {
  it('PM timer counts at 3.579545 MHz in 24 bits', () => {
    const { r } = setup();
    const a = r.in32(0x608);
    r.advance(1e6); // 1 ms
    const b = r.in32(0x608);
    expect(b - a).toBeGreaterThanOrEqual(3579 - 1);
    expect(b - a).toBeLessThanOrEqual(3580 + 1);
    r.advance((0x1000000 / PM_TIMER_HZ) * 1e9);
    expect(r.in32(0x608)).toBeLessThan(0x1000000);
  });

  it('a 32-bit read samples the timer once, so it never tears across a carry', () => {
    const { r } = setup();
    // Make time move on every clock read, as a realtime clock does: with one sample per
    // byte, a read starting just below a 0x100 boundary returned a value 0x100 too high.
    let ns = 0;
    r.clock.attachInstructionCounter(() => (ns += 30));
    let prev = r.in32(0x608);
    for (let i = 0; i < 20_000; i++) {
      const v = r.in32(0x608);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });

  it('starts in ACPI mode (SCI_EN) and powers off on SLP_EN with the S5 type', () => {
    const { r, pm } = setup();
    let off = 0;
    pm.onPowerOff = () => off++;
    expect(r.in16(0x604) & 1).toBe(1);
    r.out16(0x604, (S5_SLP_TYP << 10) | 1); // type only: nothing happens
    expect(off).toBe(0);
    r.out16(0x604, (S5_SLP_TYP << 10) | (1 << 13) | 1);
    expect(off).toBe(1);
    expect(r.in16(0x604) & (1 << 13)).toBe(0); // SLP_EN reads back 0
  });

  it('power button sets PWRBTN_STS and raises SCI when enabled; write-1-to-clear', () => {
    const { r, sci, pm } = setup();
    pm.pressPowerButton();
    expect(r.in16(0x600) & 0x100).toBe(0x100);
    expect(sci.level).toBe(false);
    r.out16(0x602, 0x100);
    expect(sci.level).toBe(true);
    r.out16(0x600, 0x100);
    expect(r.in16(0x600) & 0x100).toBe(0);
    expect(sci.level).toBe(false);
  });

  it('timer overflow sets TMR_STS and SCI when TMR_EN is on', () => {
    const { r, sci } = setup();
    r.out16(0x602, 0x001);
    r.advance(2.4e9); // bit 23 flips every ~2.34 s
    expect(r.in16(0x600) & 1).toBe(1);
    expect(sci.level).toBe(true);
  });

  it('saves and restores status and enables', () => {
    const { r, pm } = setup();
    r.out16(0x602, 0x100);
    pm.pressPowerButton();
    const s = structuredClone(pm.saveState());
    const r2 = new Rig();
    const sci2 = new RecordingIrq();
    const pm2 = new AcpiPm(r2.io, r2.clock, sci2);
    pm2.loadState(s);
    expect(r2.in16(0x600) & 0x100).toBe(0x100);
    expect(sci2.level).toBe(true);
  });
});
