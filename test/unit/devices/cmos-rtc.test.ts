import { describe, expect, it } from 'vitest';
import { CmosRtc } from '../../../src-core/engine/devices/cmos-rtc.ts';
import { RecordingIrq, Rig } from './harness.ts';

const START = new Date(Date.UTC(2026, 10, 26, 13, 45, 30)); // Thursday

function setup() {
  const r = new Rig();
  const irq = new RecordingIrq();
  const rtc = new CmosRtc(r.io, r.clock, irq, START);
  const read = (reg: number) => {
    r.out8(0x70, reg);
    return r.in8(0x71);
  };
  const write = (reg: number, v: number) => {
    r.out8(0x70, reg);
    r.out8(0x71, v);
  };
  return { r, irq, rtc, read, write };
}

describe('MC146818 RTC/CMOS', () => {
  it('reads the start time in BCD, 24-hour mode', () => {
    const { read } = setup();
    expect(read(0x00)).toBe(0x30);
    expect(read(0x02)).toBe(0x45);
    expect(read(0x04)).toBe(0x13);
    expect(read(0x06)).toBe(0x05); // Thursday = 5 (Sunday = 1)
    expect(read(0x07)).toBe(0x26);
    expect(read(0x08)).toBe(0x11);
    expect(read(0x09)).toBe(0x26);
    expect(read(0x32)).toBe(0x20);
    expect(read(0x0d)).toBe(0x80);
  });

  it('advances with the virtual clock and supports binary and 12-hour formats', () => {
    const { r, read, write } = setup();
    r.advance(45e9); // 13:46:15
    write(0x0b, 0x04); // binary, 12-hour
    expect(read(0x00)).toBe(15);
    expect(read(0x02)).toBe(46);
    expect(read(0x04)).toBe(0x80 | 1); // 1 PM
  });

  it('guest writes set the clock', () => {
    const { r, read, write, rtc } = setup();
    write(0x0b, 0x82); // SET
    write(0x09, 0x30);
    write(0x04, 0x08);
    write(0x0b, 0x02);
    expect(read(0x09)).toBe(0x30);
    expect(read(0x04)).toBe(0x08);
    r.advance(2e9);
    expect(new Date(rtc.timeSeconds() * 1000).toISOString()).toBe('2030-11-26T08:45:32.000Z');
  });

  it('shows update-in-progress just before each second boundary', () => {
    const { r, read } = setup();
    r.advance(0.5e9);
    expect(read(0x0a) & 0x80).toBe(0);
    r.advance(0.5e9 - 100_000);
    expect(read(0x0a) & 0x80).toBe(0x80);
  });

  it('periodic interrupt at the programmed rate, acknowledged by reading C', () => {
    const { r, irq, read, write } = setup();
    write(0x0a, 0x26); // 1024 Hz
    write(0x0b, 0x42); // PIE
    let n = 0;
    for (let i = 0; i < 1024; i++) {
      r.advance(1e9 / 1024);
      if (irq.level) {
        expect(read(0x0c) & 0xc0).toBe(0xc0);
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(1023);
    expect(irq.level).toBe(false);
  });

  it('alarm interrupt fires when the time matches (with wildcards)', () => {
    const { r, irq, read, write } = setup();
    write(0x01, 0x35); // alarm at ss=35
    write(0x03, 0xc0); // any minute
    write(0x05, 0xff); // any hour
    write(0x0b, 0x22); // AIE
    r.advance(4.2e9);
    expect(irq.level).toBe(false);
    r.advance(1e9);
    expect(irq.level).toBe(true);
    expect(read(0x0c) & 0xa0).toBe(0xa0);
  });

  it('update-ended interrupt each second', () => {
    const { r, irq, read, write } = setup();
    write(0x0b, 0x12);
    r.advance(1.01e9);
    expect(irq.level).toBe(true);
    expect(read(0x0c) & 0x90).toBe(0x90);
  });

  it('keeps NVRAM and fills memory-size fields', () => {
    const { rtc, read, write } = setup();
    write(0x40, 0x5a);
    expect(read(0x40)).toBe(0x5a);
    rtc.setMemoryLayout(512 * 1024 * 1024, 1024 * 1024 * 1024, 2);
    expect(read(0x15) | (read(0x16) << 8)).toBe(640);
    expect(read(0x30) | (read(0x31) << 8)).toBe(0xfc00); // capped at 63 MiB
    expect(read(0x34) | (read(0x35) << 8)).toBe((512 - 16) * 16);
    expect(read(0x5b) | (read(0x5c) << 8) | (read(0x5d) << 16)).toBe(1024 * 16);
    expect(read(0x5f)).toBe(1);
  });

  it('saves and restores NVRAM and time', () => {
    const { r, rtc, write } = setup();
    write(0x41, 0x77);
    r.advance(10e9);
    const s = structuredClone(rtc.saveState());
    const r2 = new Rig();
    r2.advance(10e9);
    const rtc2 = new CmosRtc(r2.io, r2.clock, new RecordingIrq(), new Date(0));
    rtc2.loadState(s);
    expect(rtc2.timeSeconds()).toBe(rtc.timeSeconds());
    r2.out8(0x70, 0x41);
    expect(r2.in8(0x71)).toBe(0x77);
  });
});
