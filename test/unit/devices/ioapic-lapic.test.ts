import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { ApicBus } from '../../../src-core/engine/devices/apic-bus.ts';
import { IOAPIC_BASE, IoApic } from '../../../src-core/engine/devices/ioapic.ts';
import { LAPIC_BASE, LocalApic } from '../../../src-core/engine/devices/lapic.ts';
import { DualPic } from '../../../src-core/engine/devices/pic8259.ts';
import { Rig } from './harness.ts';

function setup(cpus = 1) {
  const r = new Rig();
  const mem = new MemoryBus(16 * 1024 * 1024);
  const bus = new ApicBus();
  const ioapic = new IoApic(bus);
  const lapics = Array.from({ length: cpus }, (_, i) => new LocalApic(i, r.clock, bus));
  mem.addMmio(IOAPIC_BASE, 0x1000, ioapic, 'ioapic');
  mem.addMmio(LAPIC_BASE, 0x1000, lapics[0]!, 'lapic');
  const ioWrite = (reg: number, v: number) => {
    mem.write32(IOAPIC_BASE, reg);
    mem.write32(IOAPIC_BASE + 0x10, v);
  };
  const ioRead = (reg: number) => {
    mem.write32(IOAPIC_BASE, reg);
    return mem.read32(IOAPIC_BASE + 0x10);
  };
  const lapicW = (off: number, v: number) => mem.write32(LAPIC_BASE + off, v);
  const lapicR = (off: number) => mem.read32(LAPIC_BASE + off);
  lapicW(0xf0, 0x1ff); // software enable, spurious vector 0xff
  return { r, mem, bus, ioapic, lapics, ioWrite, ioRead, lapicW, lapicR };
}

describe('IOAPIC', () => {
  it('reports id, version and 24 entries', () => {
    const { ioRead } = setup();
    expect(ioRead(1)).toBe(0x00170011);
  });

  it('routes an edge pin to the local APIC as the programmed vector', () => {
    const { ioapic, lapics, ioWrite, ioRead, lapicR, lapicW } = setup();
    ioWrite(0x10 + 2 * 2, 0x30); // pin 2 -> vector 0x30, fixed, physical, edge, unmasked
    ioWrite(0x11 + 2 * 2, 0x00000000);
    expect(ioRead(0x10 + 4)).toBe(0x30);
    ioapic.setPin(2, true);
    expect(lapics[0]!.hasInterrupt()).toBe(true);
    expect(lapicR(0x200 + 0x10)).toBe(1 << 16); // IRR bit 0x30
    expect(lapics[0]!.acknowledge()).toBe(0x30);
    expect(lapicR(0x100 + 0x10)).toBe(1 << 16); // now in ISR
    lapicW(0xb0, 0); // EOI
    expect(lapicR(0x100 + 0x10)).toBe(0);
    ioapic.setPin(2, true); // already high: no new edge
    expect(lapics[0]!.hasInterrupt()).toBe(false);
  });

  it('masked pins send nothing', () => {
    const { ioapic, lapics, ioWrite } = setup();
    ioWrite(0x10 + 2 * 4, 0x10031);
    ioapic.setPin(4, true);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
  });

  it('level pins hold Remote IRR until EOI and re-deliver while still asserted', () => {
    const { ioapic, lapics, ioWrite, ioRead, lapicW } = setup();
    ioWrite(0x10 + 2 * 9, 0x8041 | 0); // vector 0x41, level, active high
    ioapic.setPin(9, true);
    expect(ioRead(0x10 + 18) & (1 << 14)).not.toBe(0); // Remote IRR
    expect(lapics[0]!.acknowledge()).toBe(0x41);
    lapicW(0xb0, 0); // EOI -> broadcast to IOAPIC; pin still high -> again
    expect(lapics[0]!.hasInterrupt()).toBe(true);
    expect(lapics[0]!.acknowledge()).toBe(0x41);
    ioapic.setPin(9, false);
    lapicW(0xb0, 0);
    expect(ioRead(0x10 + 18) & (1 << 14)).toBe(0);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
  });

  it('active-low pins assert when driven low', () => {
    const { ioapic, lapics, ioWrite } = setup();
    ioapic.setPin(16, true); // idle high
    ioWrite(0x10 + 2 * 16, 0xa050); // vector 0x50, level, active low
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    ioapic.setPin(16, false);
    expect(lapics[0]!.acknowledge()).toBe(0x50);
  });

  it('logical destinations pick APICs by LDR (flat model)', () => {
    const { ioapic, lapics, ioWrite } = setup(2);
    lapics[1]!.writeRegister(0xf0, 0x1ff);
    lapics[0]!.writeRegister(0xd0, 0x01000000);
    lapics[1]!.writeRegister(0xd0, 0x02000000);
    ioWrite(0x10 + 2 * 5, 0x0835); // logical, vector 0x35
    ioWrite(0x11 + 2 * 5, 0x02000000);
    ioapic.setPin(5, true);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    expect(lapics[1]!.acknowledge()).toBe(0x35);
  });

  it('saves and restores redirection entries', () => {
    const { ioapic, ioWrite } = setup();
    ioWrite(0x10 + 2 * 7, 0x2a34);
    const s = structuredClone(ioapic.saveState());
    const other = new IoApic(new ApicBus());
    other.loadState(s);
    other.write(0, 4, 0x10 + 14);
    expect(other.read(0x10, 4)).toBe(0x2a34);
  });
});

describe('local APIC', () => {
  it('reports id and version; TPR blocks lower-priority vectors', () => {
    const { lapics, lapicR, lapicW } = setup();
    expect(lapicR(0x20) >>> 24).toBe(0);
    expect(lapicR(0x30) & 0xff).toBe(0x14);
    lapicW(0x80, 0x50);
    lapics[0]!.receive({ vector: 0x45, deliveryMode: 0, logical: false, destination: 0, level: false, shorthand: 0, sourceId: -1 });
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    lapicW(0x80, 0x30);
    expect(lapicR(0xa0)).toBe(0x30); // PPR
    expect(lapics[0]!.acknowledge()).toBe(0x45);
    expect(lapicR(0xa0)).toBe(0x40); // PPR now the ISR class
  });

  it('one-shot timer counts down at bus clock / divider and fires its vector', () => {
    const { r, lapics, lapicR, lapicW } = setup();
    lapicW(0x3e0, 0x3); // divide by 16
    lapicW(0x320, 0x00ec); // one-shot, vector 0xec
    lapicW(0x380, 1000); // 1000 ticks * 16 ns
    r.advance(8000);
    expect(lapicR(0x390)).toBe(500);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    r.advance(8000);
    expect(lapicR(0x390)).toBe(0);
    expect(lapics[0]!.acknowledge()).toBe(0xec);
    lapicW(0xb0, 0);
    r.advance(100_000);
    expect(lapics[0]!.hasInterrupt()).toBe(false); // one-shot: fired once
  });

  it('periodic timer keeps firing', () => {
    const { r, lapics, lapicW } = setup();
    lapicW(0x3e0, 0xb); // divide by 1
    lapicW(0x320, 0x20000 | 0xef);
    lapicW(0x380, 100);
    let count = 0;
    for (let i = 0; i < 10; i++) {
      r.advance(100);
      if (lapics[0]!.hasInterrupt()) {
        expect(lapics[0]!.acknowledge()).toBe(0xef);
        lapicW(0xb0, 0);
        count++;
      }
    }
    expect(count).toBe(10);
  });

  it('periodic timer: periods missed while the host was away raise one interrupt and keep the phase', () => {
    const { r, lapics, lapicW, lapicR } = setup();
    lapicW(0x3e0, 0xb); // divide by 1
    lapicW(0x320, 0x20000 | 0xef);
    lapicW(0x380, 1000);
    r.advance(10_000 + 5); // one poll, ten periods late
    expect(lapics[0]!.acknowledge()).toBe(0xef);
    lapicW(0xb0, 0);
    expect(lapics[0]!.hasInterrupt()).toBe(false); // not replayed (see LocalApic.timerFired)
    expect(lapicR(0x390)).toBe(995); // the count keeps its phase
    r.advance(994);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    r.advance(2);
    expect(lapics[0]!.hasInterrupt()).toBe(true);
  });

  it('masked timer does not interrupt; software-disabled APIC forces LVT masks', () => {
    const { r, lapics, lapicR, lapicW } = setup();
    lapicW(0x320, 0x10000 | 0x40);
    lapicW(0x380, 10);
    r.advance(1000);
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    lapicW(0xf0, 0x0ff); // software disable
    lapicW(0x350, 0x700);
    expect(lapicR(0x350) & 0x10000).toBe(0x10000);
  });

  it('illegal vectors set ESR and raise the error LVT', () => {
    const { lapics, lapicR, lapicW } = setup();
    lapicW(0x370, 0xfe);
    lapicW(0x300, 0x44005); // self IPI with vector 5 (illegal)
    lapicW(0x280, 0);
    expect(lapicR(0x280) & 0x20).toBe(0x20);
    expect(lapics[0]!.acknowledge()).toBe(0xfe);
  });

  it('sends fixed IPIs by physical id and shorthand, and INIT/SIPI to the hooks', () => {
    const { lapics, lapicW } = setup(3);
    lapics[1]!.writeRegister(0xf0, 0x1ff);
    lapics[2]!.writeRegister(0xf0, 0x1ff);
    const events: string[] = [];
    lapics[1]!.hooks = { onInit: () => events.push('init1'), onStartup: (v) => events.push(`sipi1:${v}`) };
    lapics[2]!.hooks = { onNmi: () => events.push('nmi2') };
    lapicW(0x310, 0x02000000);
    lapicW(0x300, 0x00000061); // fixed vector 0x61 to APIC 2
    expect(lapics[2]!.acknowledge()).toBe(0x61);
    expect(lapics[1]!.hasInterrupt()).toBe(false);
    lapicW(0x310, 0x01000000);
    lapicW(0x300, 0x00004500); // INIT assert to APIC 1
    lapicW(0x300, 0x00004608); // SIPI vector 8
    lapicW(0x300, 0x000c0400); // NMI to all excluding self
    expect(events).toEqual(['init1', 'sipi1:8', 'nmi2']);
    lapicW(0x300, 0x000c0070); // fixed 0x70 to all excluding self
    expect(lapics[0]!.hasInterrupt()).toBe(false);
    expect(lapics[1]!.acknowledge()).toBe(0x70);
  });

  it('passes the 8259 through LINT0 in ExtINT mode only', () => {
    const r = new Rig();
    const pic = new DualPic(r.io);
    r.out8(0x20, 0x11); r.out8(0x21, 0x20); r.out8(0x21, 4); r.out8(0x21, 1); r.out8(0x21, 0);
    const lapic = new LocalApic(0, r.clock, new ApicBus());
    lapic.extInt = pic;
    pic.setIrq(1, true);
    expect(lapic.hasInterrupt()).toBe(false); // LINT0 masked after reset
    lapic.setVirtualWire();
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x21);
  });

  it('returns the spurious vector when nothing is pending at INTA', () => {
    const { lapics } = setup();
    expect(lapics[0]!.acknowledge()).toBe(0xff);
  });

  it('saves and restores registers and a running timer', () => {
    const { r, lapics, lapicW } = setup();
    lapicW(0x80, 0x20);
    lapicW(0x320, 0xe1);
    lapicW(0x380, 500);
    const s = structuredClone(lapics[0]!.saveState());
    const l2 = new LocalApic(0, r.clock, new ApicBus());
    l2.loadState(s);
    expect(l2.readRegister(0x80)).toBe(0x20);
    r.advance(2000);
    expect(l2.acknowledge()).toBe(0xe1);
  });
});
