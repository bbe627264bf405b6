import { describe, expect, it } from 'vitest';
import { DualPic } from '../../../src-core/engine/devices/pic8259.ts';
import { Rig } from './harness.ts';

/** Linux's init_8259A sequence: vectors 0x30 (master) and 0x38 (slave), 8086 mode. */
function programLikeLinux(r: Rig): void {
  r.out8(0x21, 0xff);
  r.out8(0xa1, 0xff);
  r.out8(0x20, 0x11); // ICW1: edge, cascade, ICW4
  r.out8(0x21, 0x30); // ICW2
  r.out8(0x21, 0x04); // ICW3: slave on IRQ2
  r.out8(0x21, 0x01); // ICW4: 8086
  r.out8(0xa0, 0x11);
  r.out8(0xa1, 0x38);
  r.out8(0xa1, 0x02);
  r.out8(0xa1, 0x01);
  r.out8(0x21, 0x00); // unmask all
  r.out8(0xa1, 0x00);
}

function setup() {
  const r = new Rig();
  const pic = new DualPic(r.io);
  programLikeLinux(r);
  return { r, pic };
}

describe('dual 8259 PIC', () => {
  it('delivers a master IRQ with the programmed vector and tracks ISR until EOI', () => {
    const { r, pic } = setup();
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x34);
    expect(pic.hasInterrupt()).toBe(false);
    r.out8(0x20, 0x0b); // OCW3: read ISR
    expect(r.in8(0x20)).toBe(0x10);
    r.out8(0x20, 0x20); // non-specific EOI
    expect(r.in8(0x20)).toBe(0x00);
  });

  it('cascades slave IRQs through master IRQ2', () => {
    const { r, pic } = setup();
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x3c);
    r.out8(0x20, 0x0b);
    r.out8(0xa0, 0x0b);
    expect(r.in8(0x20)).toBe(0x04); // IRQ2 in service on the master
    expect(r.in8(0xa0)).toBe(0x10); // IRQ12 = slave line 4
  });

  it('honours masks and priority; a higher line preempts a lower one in service', () => {
    const { r, pic } = setup();
    r.out8(0x21, 0x01); // mask IRQ0
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x33);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false); // 5 is lower priority than 3 in service
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x31); // 1 beats 3
    r.out8(0x21, 0x00);
    r.out8(0x20, 0x61); // specific EOI for 1
    r.out8(0x20, 0x63); // specific EOI for 3
    expect(pic.acknowledge()).toBe(0x30); // IRQ0 was latched while masked
  });

  it('edge mode latches once per rising edge, level mode follows the line (ELCR)', () => {
    const { r, pic } = setup();
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x3a);
    r.out8(0xa0, 0x20);
    r.out8(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // still high, but edge triggered: no new request
    r.out8(0x4d1, 0x04); // IRQ10 level triggered
    expect(r.in8(0x4d1)).toBe(0x04);
    pic.setIrq(10, false);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x3a);
    r.out8(0xa0, 0x20);
    r.out8(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(true); // level still asserted: requested again
    pic.setIrq(10, false);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('reports a spurious IRQ7 when the request vanished before INTA', () => {
    const { pic } = setup();
    expect(pic.acknowledge()).toBe(0x37);
  });

  it('reads IRR by default and supports the poll command', () => {
    const { r, pic } = setup();
    pic.setIrq(6, true);
    expect(r.in8(0x20) & 0x40).toBe(0x40);
    r.out8(0x20, 0x0c); // poll
    expect(r.in8(0x20)).toBe(0x86);
    r.out8(0x20, 0x0b);
    expect(r.in8(0x20)).toBe(0x40);
  });

  it('auto-EOI mode leaves nothing in service', () => {
    const r = new Rig();
    const pic = new DualPic(r.io);
    r.out8(0x20, 0x11);
    r.out8(0x21, 0x08);
    r.out8(0x21, 0x04);
    r.out8(0x21, 0x03); // 8086 + AEOI
    r.out8(0x21, 0x00);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09);
    r.out8(0x20, 0x0b);
    expect(r.in8(0x20)).toBe(0);
  });

  it('saves and restores state', () => {
    const { r, pic } = setup();
    r.out8(0x21, 0xaa);
    pic.setIrq(14, true);
    const s = structuredClone(pic.saveState());
    const r2 = new Rig();
    const pic2 = new DualPic(r2.io);
    pic2.loadState(s);
    expect(r2.in8(0x21)).toBe(0xaa);
    expect(pic2.acknowledge()).toBe(0x3e);
  });
});
