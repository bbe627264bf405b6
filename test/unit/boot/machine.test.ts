// The assembled PC running small 64-bit programs on the real interpreter: serial output,
// ACPI power-off, PIT interrupts through the 8259 waking HLT, the debug-exit port, resets,
// and deterministic replay. Programs enter through the Linux 64-bit entry (the loader's page
// tables and GDT), hidden in a synthetic bzImage at offset 0x200 of the protected-mode part.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { Machine, type CpuFactoryContext, type MachineConfig } from '../../../src-core/engine/machine.ts';
import { makeBzImage } from './bzimage-fixture.ts';

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

/**
 *   mov $0x3f8,%dx; mov $'O',%al; out %al,%dx; mov $'K',%al; out %al,%dx; mov $'\n',%al; out %al,%dx
 *   mov $0x604,%dx; mov $0x3401,%ax; out %ax,%dx      # PM1a_CNT: SLP_TYP=5 | SLP_EN | SCI_EN
 * 1: hlt; jmp 1b
 */
const PRINT_OK_POWEROFF = hex('66baf803b04feeb04beeb00aee66ba040666b8013466eff4ebfd');

/**
 * Installs an IDT gate for vector 0x20, programs the 8259 (base 0x20, only IRQ0 unmasked) and
 * the PIT (mode 2, 1193 counts ~ 1 kHz), then `sti; hlt` until the handler (which prints '.'
 * on port 0xE9 and EOIs the PIC) has counted 5 ticks, then writes the count to port 0x501.
 */
const PIT_TICKS = hex(
  '488d3da9000000488d057e0000006689870002000066c78702020000100066c78704020000008e48c1e810668987' +
  '06020000c78708020000000000000f011d5d000000488d0566000000488905510000000f011d48000000b011e620' +
  'b020e621b004e621b001e621b0fee621b034e643b0a9e640b004e64031dbfbf483fb0572fafa88d866ba0105eef4' +
  'ebfdffc350b02ee6e9b020e6205848cf660f1f440000ff020000000000000000660f1f44',
);

/** mov $0x3f8,%dx; mov $'R',%al; out %al,%dx; mov $6,%al; mov $0xcf9,%dx; out %al,%dx; 1: hlt; jmp 1b */
const PRINT_R_RESET = hex('66baf803b052eeb00666baf90ceef4ebfd');

function programImage(code: Uint8Array): Uint8Array {
  const img = makeBzImage({ payload: 0x200 + code.length + 16 });
  img.set(code, 5 * 512 + 0x200);
  return img;
}

function machine(code: Uint8Array, extra: Partial<MachineConfig> = {}): Machine {
  return new Machine({
    memoryMiB: 24,
    kernel: programImage(code),
    clock: { kind: 'deterministic', nsPerInstruction: 1 },
    createCpu: ({ memory, io }) => new Cpu(memory, io),
    ...extra,
  });
}

describe('PC machine', () => {
  it('runs a program that prints on COM1 and powers off through ACPI', async () => {
    const m = machine(PRINT_OK_POWEROFF);
    let out = '';
    m.onSerialOutput((port, data) => {
      expect(port).toBe(0);
      out += new TextDecoder().decode(data);
    });
    let offs = 0;
    m.onPowerOff(() => offs++);
    expect(await m.run()).toBe('poweroff');
    expect(out).toBe('OK\n');
    expect(offs).toBe(1);
    expect(m.poweredOff).toBe(true);
  });

  it('PIT interrupts through the 8259 wake HLT; debug-exit ends the run with the status', () => {
    const m = machine(PIT_TICKS);
    let dots = '';
    m.onDebugOutput((d) => (dots += new TextDecoder().decode(d)));
    const reason = m.runSync({ maxInstructions: 5_000_000 });
    expect(reason).toBe('debug-exit');
    expect(dots).toBe('.....');
    expect(m.debugExitStatus).toBe((5 << 1) | 1);
    // Five 1 kHz ticks: virtual time is past 5 ms but well short of 6 ms.
    expect(m.clock.now()).toBeGreaterThan(5e6 - 1e4);
    expect(m.clock.now()).toBeLessThan(6e6);
  });

  it('is deterministic: two runs of the same program retire the same instructions', () => {
    const counts = [0, 1].map(() => {
      const m = machine(PIT_TICKS);
      m.runSync({ maxInstructions: 5_000_000 });
      return [m.cpus[0]!.instructionCount, m.clock.now()];
    });
    expect(counts[0]).toEqual(counts[1]);
  });

  it('a reset through port 0xCF9 restarts the guest from the boot state', () => {
    const m = machine(PRINT_R_RESET);
    let out = '';
    m.onSerialOutput((_p, d) => (out += new TextDecoder().decode(d)));
    let resets = 0;
    m.onReset(() => resets++);
    m.runSync({ maxInstructions: 200, until: () => resets >= 3 });
    expect(resets).toBe(3);
    expect(out).toBe('RRR');
  });

  it('fills CMOS memory sizes and places ACPI tables where the zero page says', () => {
    const m = machine(PRINT_OK_POWEROFF, { memoryMiB: 64 });
    m.io.write(0x70, 1, 0x34);
    const lo = m.io.read(0x71, 1);
    m.io.write(0x70, 1, 0x35);
    expect(lo | (m.io.read(0x71, 1) << 8)).toBe((64 - 16) * 16);
    const rsdp = new TextDecoder().decode(m.memory.readBytes(0xe0000, 8));
    expect(rsdp).toBe('RSD PTR ');
    const zp = new DataView(m.memory.readBytes(0x7000 + 0x70, 8).buffer);
    expect(zp.getBigUint64(0, true)).toBe(0xe0000n);
  });

  it('rejects bad configurations with clear errors', () => {
    const cpu = ({ memory, io }: CpuFactoryContext) => new Cpu(memory, io);
    expect(() => new Machine({ memoryMiB: 8, createCpu: cpu })).toThrow(/at least 16/);
    expect(() => new Machine({ memoryMiB: 32, cpus: 0, createCpu: cpu })).toThrow(/cpus must be/);
    expect(() => new Machine({ memoryMiB: 32, kernel: new Uint8Array(1000), createCpu: cpu })).toThrow(/not a Linux bzImage/);
  });

  it('saves and restores the whole machine mid-run', () => {
    const a = machine(PIT_TICKS);
    a.runSync({ maxInstructions: 5_000_000, until: () => a.clock.now() > 2.5e6 });
    const snap = structuredClone(a.saveState());
    let dotsA = '';
    a.onDebugOutput((d) => (dotsA += new TextDecoder().decode(d)));
    a.runSync({ maxInstructions: 5_000_000 });
    const b = machine(PIT_TICKS);
    b.loadState(snap);
    let dotsB = '';
    b.onDebugOutput((d) => (dotsB += new TextDecoder().decode(d)));
    b.runSync({ maxInstructions: 5_000_000 });
    expect(b.debugExitStatus).toBe(a.debugExitStatus);
    expect(dotsB).toBe(dotsA);
  });
});
