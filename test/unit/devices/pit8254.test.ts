import { describe, expect, it } from 'vitest';
import { PIT_HZ, Pit } from '../../../src-core/engine/devices/pit8254.ts';
import { RecordingIrq, Rig } from './harness.ts';

const tickNs = (ticks: number) => Math.ceil((ticks * 1e9) / PIT_HZ);

function setup() {
  const r = new Rig();
  const irq = new RecordingIrq();
  const pit = new Pit(r.io, r.clock, irq);
  return { r, irq, pit };
}

function latch(r: Rig, ch: number): number {
  r.out8(0x43, ch << 6); // counter latch
  const lo = r.in8(0x40 + ch);
  return lo | (r.in8(0x40 + ch) << 8);
}

describe('8254 PIT', () => {
  it('channel 0 in rate-generator mode raises IRQ0 once per period', () => {
    const { r, irq } = setup();
    r.out8(0x43, 0x34); // ch0, lo/hi, mode 2
    r.out8(0x40, 1193 & 0xff);
    r.out8(0x40, 1193 >> 8); // ~1 kHz
    r.advance(10);
    for (let i = 0; i < 10; i++) r.advance(tickNs(1193));
    expect(irq.edges).toBe(10);
  });

  it('periods missed while the host was away are owed: one per acknowledgement, at the next poll', () => {
    const { r, irq, pit } = setup();
    r.out8(0x43, 0x34); // ch0, lo/hi, mode 2
    r.out8(0x40, 1193 & 0xff);
    r.out8(0x40, 1193 >> 8);
    // One poll 10 periods late: pulsing 10 times in a row would merge into one request.
    r.advance(tickNs(1193) * 10 + 10);
    expect(irq.edges).toBe(1);
    expect(pit.owedTicks).toBe(9);
    pit.tickAcknowledged();
    pit.tickAcknowledged(); // a second acknowledgement of the same tick changes nothing
    expect(irq.edges).toBe(1); // not inside the CPU slice that acknowledged it...
    r.advance(1);
    expect(irq.edges).toBe(2); // ...but at the poll that ends it
    for (let i = 0; i < 8; i++) {
      pit.tickAcknowledged();
      r.advance(1);
    }
    expect(irq.edges).toBe(10);
    expect(pit.owedTicks).toBe(0);
    pit.tickAcknowledged(); // nothing owed: no extra tick
    r.advance(1);
    expect(irq.edges).toBe(10);
    // Back on schedule: the next period ends on time.
    r.advance(tickNs(1193) - 9 - 10);
    expect(irq.edges).toBe(11);
  });

  it('a period ending while an owed tick is unacknowledged is owed, not merged; debts are void after reprogramming', () => {
    const { r, irq, pit } = setup();
    r.out8(0x43, 0x34);
    r.out8(0x40, 1193 & 0xff);
    r.out8(0x40, 1193 >> 8);
    r.advance(tickNs(1193) * 3 + 10);
    expect([irq.edges, pit.owedTicks]).toEqual([1, 2]);
    r.advance(Math.round(tickNs(1193) * 0.7));
    pit.tickAcknowledged();
    r.advance(1); // owed tick 1 sent, 0.3 periods before the next one ends
    expect([irq.edges, pit.owedTicks]).toEqual([2, 1]);
    r.advance(Math.round(tickNs(1193) * 0.35)); // it ends before the guest took the owed tick
    expect([irq.edges, pit.owedTicks]).toEqual([2, 2]);
    pit.tickAcknowledged();
    r.advance(1);
    expect([irq.edges, pit.owedTicks]).toEqual([3, 1]);
    // A new count (Linux switching the PIT off or to one-shot) drops what is owed.
    r.out8(0x43, 0x30);
    expect(pit.owedTicks).toBe(0);
    pit.tickAcknowledged();
    r.advance(1);
    expect(irq.edges).toBe(3);
  });

  it('owes at most 100 ms of ticks', () => {
    const { r, pit } = setup();
    r.out8(0x43, 0x34);
    r.out8(0x40, 0x9c); // 11932: 100 Hz
    r.out8(0x40, 0x2e);
    r.advance(5e9);
    expect(pit.owedTicks).toBe(9); // 100 ms / 10.00002 ms
  });

  it('mode 0 one-shot fires once at terminal count', () => {
    const { r, irq } = setup();
    r.out8(0x43, 0x30);
    r.out8(0x40, 100);
    r.out8(0x40, 0);
    r.advance(tickNs(99));
    expect(irq.edges).toBe(0);
    r.advance(tickNs(2));
    expect(irq.edges).toBe(1);
    r.advance(tickNs(100_000));
    expect(irq.edges).toBe(1);
  });

  it('latched counts decrease with virtual time', () => {
    const { r } = setup();
    r.out8(0x43, 0x34);
    r.out8(0x40, 0x00);
    r.out8(0x40, 0x00); // 65536
    r.advance(tickNs(1000));
    const c = latch(r, 0);
    expect(c).toBeGreaterThanOrEqual(65536 - 1001);
    expect(c).toBeLessThanOrEqual(65536 - 999);
    r.advance(tickNs(30000));
    const c2 = latch(r, 0);
    expect(c - c2).toBeGreaterThanOrEqual(29999);
    expect(c - c2).toBeLessThanOrEqual(30001);
  });

  it('channel 2 is gated by port 0x61 and its OUT shows in bit 5 (Linux TSC calibration)', () => {
    const { r } = setup();
    r.out8(0x61, (r.in8(0x61) & ~0x02) | 0x01); // gate on, speaker off
    r.out8(0x43, 0xb0); // ch2, lo/hi, mode 0
    const latchValue = Math.floor(PIT_HZ / 20); // 50 ms, as pit_calibrate_tsc uses
    r.out8(0x42, latchValue & 0xff);
    r.out8(0x42, latchValue >> 8);
    expect(r.in8(0x61) & 0x20).toBe(0);
    r.advance(tickNs(latchValue - 10));
    expect(r.in8(0x61) & 0x20).toBe(0);
    r.advance(tickNs(20));
    expect(r.in8(0x61) & 0x20).toBe(0x20);
  });

  it('gate low stops channel 2 from counting', () => {
    const { r } = setup();
    r.out8(0x61, 0x00);
    r.out8(0x43, 0xb0);
    r.out8(0x42, 0xff);
    r.out8(0x42, 0xff);
    r.advance(tickNs(5000));
    expect(latch(r, 2)).toBe(0xffff);
    r.out8(0x61, 0x01);
    r.advance(tickNs(5000));
    const c = latch(r, 2);
    expect(0xffff - c).toBeGreaterThanOrEqual(4999);
    expect(0xffff - c).toBeLessThanOrEqual(5001);
  });

  it('unlatched lo/hi reads track the MSB as quick_pit_calibrate reads it', () => {
    const { r } = setup();
    r.out8(0x61, 0x01);
    r.out8(0x43, 0xb0);
    r.out8(0x42, 0xff);
    r.out8(0x42, 0xff);
    r.advance(tickNs(256 * 3 + 5));
    r.in8(0x42); // lsb
    const msb = r.in8(0x42);
    expect(msb).toBe(0xfc);
  });

  it('read-back returns status with mode, access and output', () => {
    const { r } = setup();
    r.out8(0x43, 0x36); // ch0 lo/hi mode 3
    r.out8(0x40, 0x00);
    r.out8(0x40, 0x10);
    r.out8(0x43, 0xe2); // read-back status of ch0 only
    expect(r.in8(0x40)).toBe(0x80 | 0x30 | 0x06);
  });

  it('port 0x61 refresh bit toggles with time', () => {
    const { r } = setup();
    const a = r.in8(0x61) & 0x10;
    r.advance(15_085);
    expect(r.in8(0x61) & 0x10).not.toBe(a);
  });

  it('saves and restores a running channel', () => {
    const { r, pit } = setup();
    r.out8(0x43, 0x34);
    r.out8(0x40, 0xe8);
    r.out8(0x40, 0x03); // 1000
    r.advance(tickNs(250));
    const s = structuredClone(pit.saveState());
    const r2 = new Rig();
    r2.advance(tickNs(250));
    const irq2 = new RecordingIrq();
    const pit2 = new Pit(r2.io, r2.clock, irq2);
    pit2.loadState(s);
    expect(latch(r2, 0)).toBe(latch(r, 0));
    r2.advance(tickNs(800));
    expect(irq2.edges).toBe(1);
  });
});
