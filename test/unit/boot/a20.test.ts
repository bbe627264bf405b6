// The A20 gate: port 0x92 bit 1 OR the i8042 output port's bit 1 drive a mask that the memory
// bus applies to every physical access (address bit 20 forced to 0 while the gate is off).
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { Machine } from '../../../src-core/engine/machine.ts';

const MIB = 1024 * 1024;

describe('A20 gate', () => {
  it('the memory bus wraps bit 20 while A20 is off, for RAM and MMIO, and tells the CPU caches', () => {
    const bus = new MemoryBus(4 * MIB);
    bus.write8(0x000123, 0x11);
    bus.write8(0x100123, 0x22);
    const v0 = bus.mapVersion;
    bus.setA20(false);
    expect(bus.mapVersion).not.toBe(v0); // cached page translations must be dropped
    expect(bus.read8(0x100123)).toBe(0x11); // 1 MiB + x aliases x
    expect(bus.ramOffset(0x100123)).toBe(0x123);
    expect(bus.ramOffset(0x200123)).toBe(0x200123); // only bit 20 is masked
    expect(bus.ramOffset(0x300123)).toBe(0x200123);
    bus.write32(0x100200, 0xdeadbeef);
    expect(bus.read32(0x000200)).toBe(0xdeadbeef);
    // MMIO is masked too: a region at 0 is reached through 1 MiB.
    const seen: number[] = [];
    const mmioBus = new MemoryBus(4 * MIB);
    mmioBus.addMmio(0xfe000000, 0x1000, { read: (o) => (seen.push(o), 0x5a), write: () => {} }, 'test');
    mmioBus.setA20(false);
    expect(mmioBus.read8(0xfe100010)).toBe(0x5a);
    expect(seen).toEqual([0x10]);
    bus.setA20(true);
    expect(bus.read8(0x100123)).toBe(0x22);
    expect(bus.read32(0x100200)).not.toBe(0xdeadbeef);
  });

  it('port 0x92 and the i8042 output port gate A20 together; reset turns it back on', () => {
    const m = new Machine({
      memoryMiB: 16,
      clock: { kind: 'deterministic', nsPerInstruction: 1 },
      createCpu: ({ memory, io }) => new Cpu(memory, io),
    });
    expect(m.memory.a20Enabled).toBe(true);
    m.io.write(0x92, 1, 0x00); // fast A20 off, but the keyboard controller still enables it
    expect(m.memory.a20Enabled).toBe(true);
    m.io.write(0x64, 1, 0xd1); // write output port
    m.io.write(0x60, 1, 0x01); // A20 off, reset line inactive
    expect(m.memory.a20Enabled).toBe(false);
    m.memory.write8(0x100040, 0x77);
    expect(m.memory.ram[0x40]).toBe(0x77);
    m.io.write(0x92, 1, 0x02); // fast A20 on
    expect(m.memory.a20Enabled).toBe(true);
    m.io.write(0x92, 1, 0x00);
    m.io.write(0x64, 1, 0xdf); // the i8042's own "A20 on" command
    expect(m.memory.a20Enabled).toBe(true);
    m.io.write(0x64, 1, 0xdd);
    expect(m.memory.a20Enabled).toBe(false);
    m.reset();
    expect(m.memory.a20Enabled).toBe(true);
  });
});
