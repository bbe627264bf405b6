import { describe, expect, it } from 'vitest';
import { PciFunction, PciHost } from '../../../src-core/engine/devices/pci-host.ts';
import { Rig } from './harness.ts';

function cfgAddr(dev: number, fn: number, reg: number): number {
  return (0x80000000 | (dev << 11) | (fn << 8) | reg) >>> 0;
}

function setup() {
  const r = new Rig();
  const pci = new PciHost(r.io);
  const read32 = (dev: number, fn: number, reg: number) => {
    r.out32(0xcf8, cfgAddr(dev, fn, reg));
    return r.in32(0xcfc) >>> 0;
  };
  return { r, pci, read32 };
}

describe('PCI host (i440FX + PIIX3), configuration mechanism #1', () => {
  it('enumerates the host bridge and the ISA bridge', () => {
    const { read32 } = setup();
    expect(read32(0, 0, 0)).toBe(0x12378086);
    expect(read32(0, 0, 8) >>> 8).toBe(0x060000);
    expect(read32(1, 0, 0)).toBe(0x70008086);
    expect(read32(1, 0, 8) >>> 8).toBe(0x060100);
    expect((read32(1, 0, 0x0c) >>> 16) & 0xff).toBe(0x80); // multi-function header
  });

  it('reads all ones from empty slots and other buses, and when the enable bit is clear', () => {
    const { r, read32 } = setup();
    expect(read32(5, 0, 0)).toBe(0xffffffff);
    r.out32(0xcf8, (0x80000000 | (1 << 16)) >>> 0);
    expect(r.in32(0xcfc) >>> 0).toBe(0xffffffff);
    r.out32(0xcf8, 0x00000000);
    expect(r.in16(0xcfc)).toBe(0xffff);
  });

  it('byte and word accesses through 0xCFD-0xCFF hit the right config bytes', () => {
    const { r } = setup();
    r.out32(0xcf8, cfgAddr(0, 0, 0));
    expect(r.in16(0xcfe)).toBe(0x1237);
    expect(r.in8(0xcfd)).toBe(0x80);
  });

  it('PIIX3 PIRQ routing registers are writable and decoded', () => {
    const { r, pci } = setup();
    expect(pci.pirqRoute(0)).toBe(-1);
    r.out32(0xcf8, cfgAddr(1, 0, 0x60));
    r.out8(0xcfc + 1, 0x0b); // PIRQB -> IRQ 11
    expect(pci.pirqRoute(1)).toBe(11);
  });

  it('sizes and programs BARs of an added function; read-only ids stay put', () => {
    const { r, pci, read32 } = setup();
    const f = new PciFunction('test', {
      vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000,
      bars: [{ size: 0x20, io: true }, { size: 0x1000, io: false }],
    });
    pci.addFunction(3, 0, f);
    r.out32(0xcf8, cfgAddr(3, 0, 0x10));
    r.out32(0xcfc, 0xffffffff);
    expect(read32(3, 0, 0x10)).toBe(0xffffffe1);
    r.out32(0xcf8, cfgAddr(3, 0, 0x14));
    r.out32(0xcfc, 0xffffffff);
    expect(read32(3, 0, 0x14)).toBe(0xfffff000);
    r.out32(0xcf8, cfgAddr(3, 0, 0x14));
    r.out32(0xcfc, 0xfebf0000);
    expect(f.barAddress(1)).toBe(0xfebf0000);
    r.out32(0xcf8, cfgAddr(3, 0, 0));
    r.out32(0xcfc, 0);
    expect(read32(3, 0, 0)).toBe(0x10001af4);
    expect(() => pci.addFunction(3, 0, f)).toThrow(/already taken/);
  });

  it('0xCF9 reset control resets on a 0->1 edge of bit 2', () => {
    const { r, pci } = setup();
    let resets = 0;
    pci.onReset = () => resets++;
    r.out8(0xcf9, 0x02);
    expect(resets).toBe(0);
    r.out8(0xcf9, 0x06);
    expect(resets).toBe(1);
  });

  it('saves and restores config space and the address latch', () => {
    const { r, pci } = setup();
    r.out32(0xcf8, cfgAddr(1, 0, 0x60));
    r.out8(0xcfc, 0x0a);
    const s = structuredClone(pci.saveState());
    const r2 = new Rig();
    const p2 = new PciHost(r2.io);
    p2.loadState(s);
    expect(p2.pirqRoute(0)).toBe(10);
    expect(r2.in32(0xcf8) >>> 0).toBe(cfgAddr(1, 0, 0x60));
  });
});
