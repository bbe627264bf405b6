// Late PIT ticks on the assembled PC: when the host was away for ten periods, the guest still
// receives all ten IRQ0s, one per acknowledgement, through the 8259 (INTA) and through the
// IOAPIC (local APIC EOI), the two ways Linux takes the timer.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { PIT_HZ } from '../../../src-core/engine/devices/pit8254.ts';
import { Machine } from '../../../src-core/engine/machine.ts';

const LAPIC = 0xfee00000;
const IOAPIC = 0xfec00000;
const PERIOD_NS = Math.ceil((1193 * 1e9) / PIT_HZ);

function pc(): Machine {
  const m = new Machine({
    memoryMiB: 16,
    clock: { kind: 'deterministic', nsPerInstruction: 1 },
    createCpu: ({ memory, io }) => new Cpu(memory, io),
  });
  m.io.write(0x20, 1, 0x11); // ICW1..4: vectors 0x20-0x27, cascade on IR2, 8086 mode
  m.io.write(0x21, 1, 0x20);
  m.io.write(0x21, 1, 0x04);
  m.io.write(0x21, 1, 0x01);
  return m;
}

function startPit(m: Machine): void {
  m.io.write(0x43, 1, 0x34); // channel 0, lo/hi, rate generator
  m.io.write(0x40, 1, 1193 & 0xff);
  m.io.write(0x40, 1, 1193 >> 8);
}

/** Let time pass by `ns` and fire due timers (what the run loop does between slices). */
function pass(m: Machine, ns: number): void {
  m.clock.skipTo(m.clock.now() + ns);
  m.clock.poll();
}

/** Take interrupts like a guest: acknowledge, handle, EOI; returns the vectors taken. */
function takeAll(m: Machine, eoi: () => void): number[] {
  const taken: number[] = [];
  for (let i = 0; i < 50; i++) {
    if (m.lapics[0]!.hasInterrupt()) {
      taken.push(m.lapics[0]!.acknowledge());
      eoi();
    }
    pass(m, 1);
  }
  return taken;
}

describe('late PIT ticks on the PC', () => {
  it('through the 8259 (virtual wire): ten late periods give ten interrupts', () => {
    const m = pc();
    m.io.write(0x21, 1, 0xfe); // only IRQ0
    startPit(m);
    pass(m, PERIOD_NS * 10 + 10);
    const taken = takeAll(m, () => m.io.write(0x20, 1, 0x20));
    expect(taken).toEqual(Array(10).fill(0x20));
    expect(m.pit.owedTicks).toBe(0);
  });

  it('through the IOAPIC (pin 2, as the MADT override says): ten late periods give ten interrupts', () => {
    const m = pc();
    m.io.write(0x21, 1, 0xff); // the 8259 fully masked, as Linux leaves it
    m.memory.write32(LAPIC + 0xf0, 0x1ff); // APIC software-enabled
    m.memory.write32(IOAPIC, 0x10 + 2 * 2); // redirection entry of pin 2: vector 0x30, edge, unmasked
    m.memory.write32(IOAPIC + 0x10, 0x30);
    startPit(m);
    pass(m, PERIOD_NS * 10 + 10);
    const taken = takeAll(m, () => m.memory.write32(LAPIC + 0xb0, 0));
    expect(taken).toEqual(Array(10).fill(0x30));
  });
});
