// The CPU's model-specific registers and CPUID as the platform presents them to Linux: no
// performance counters (the PMU probe must fail cleanly, not arm an NMI-watchdog counter),
// #GP for everything not implemented, and an invariant TSC with a working TSC_ADJUST.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { EX_GP } from '../../../src-core/engine/cpu/constants.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { cpuid } from '../../../src-core/engine/cpu/system/cpuid.ts';
import { MSR_TSC_ADJUST, readMsr, writeMsr } from '../../../src-core/engine/cpu/system/msr.ts';

function cpu(): Cpu {
  const c = new Cpu(new MemoryBus(16 * 1024 * 1024), new IoBus());
  let tsc = 1_000_000;
  c.tscSource = () => tsc;
  (c as unknown as { advance: (n: number) => void }).advance = (n) => (tsc += n);
  return c;
}

/** The exception vector an access raised, or -1. */
function faultOf(c: Cpu, access: () => unknown): number {
  c.exVec = -1;
  try {
    access();
  } catch {
    return c.exVec;
  }
  return -1;
}

const read64 = (c: Cpu, m: number) => {
  const [lo, hi] = readMsr(c, m);
  return hi * 2 ** 32 + (lo >>> 0);
};
const write64 = (c: Cpu, m: number, v: number) => writeMsr(c, m, v % 2 ** 32 | 0, Math.floor(v / 2 ** 32) | 0);

describe('MSRs and CPUID (no PMU, invariant TSC)', () => {
  it('the K7 and family 15h performance-counter MSRs raise #GP on read and write', () => {
    const c = cpu();
    const perf = [0xc0010000, 0xc0010001, 0xc0010002, 0xc0010003, 0xc0010004, 0xc0010005, 0xc0010006, 0xc0010007,
      0xc0010200, 0xc0010201, 0xc001020b];
    for (const m of perf) {
      expect(faultOf(c, () => readMsr(c, m)), `rdmsr ${m.toString(16)}`).toBe(EX_GP);
      expect(faultOf(c, () => writeMsr(c, m, 0x1234, 0)), `wrmsr ${m.toString(16)}`).toBe(EX_GP);
    }
    // Linux's check_hw_exists: a counter that read back what was written would pass the probe.
    expect(faultOf(c, () => writeMsr(c, 0xc0010004, 0xffff, 0))).toBe(EX_GP);
    expect(faultOf(c, () => readMsr(c, 0xc0010004))).toBe(EX_GP);
  });

  it('unimplemented MSRs (MTRRs, Intel-only ones, unknown) raise #GP; implemented ones work', () => {
    const c = cpu();
    for (const m of [0xfe, 0x200, 0x2ff, 0x17, 0x3a, 0x79, 0x179, 0xc001001f, 0xc0011029, 0x12345678]) {
      expect(faultOf(c, () => readMsr(c, m)), `rdmsr ${m.toString(16)}`).toBe(EX_GP);
    }
    expect(faultOf(c, () => writeMsr(c, 0xc0000082, 0x81000000 | 0, -1))).toBe(-1); // LSTAR, a kernel address
    expect(readMsr(c, 0xc0000082)).toEqual([0x81000000 | 0, -1]);
    expect(readMsr(c, 0x8b)).toEqual([0, 0]); // AMD patch level: no microcode loaded
    writeMsr(c, 0xc0010015, 0x1000, 0); // HWCR
    expect(readMsr(c, 0xc0010015)).toEqual([0x1000, 0]);
  });

  it('CPUID advertises no performance monitoring', () => {
    const c = cpu();
    expect(cpuid(c, 0, 0)[0]).toBeLessThan(0xa); // no architectural perfmon leaf
    expect(cpuid(c, 0xa, 0)).toEqual([0, 0, 0, 0]);
    const [, , ecx] = cpuid(c, 0x80000001, 0);
    expect(ecx & (1 << 23)).toBe(0); // PerfCtrExtCore
    expect(ecx & (1 << 24)).toBe(0); // PerfCtrExtNB
    expect(ecx & (1 << 28)).toBe(0); // PerfCtrExtLLC
    expect(ecx & (1 << 10)).toBe(0); // IBS
  });

  it('CPUID: invariant TSC (0x80000007 EDX[8]) and TSC_ADJUST (7.0 EBX[1])', () => {
    const c = cpu();
    expect(cpuid(c, 0x80000000, 0)[0] >>> 0).toBeGreaterThanOrEqual(0x80000007);
    expect(cpuid(c, 0x80000007, 0)[3] & (1 << 8)).not.toBe(0);
    expect(cpuid(c, 7, 0)[1] & (1 << 1)).not.toBe(0);
    expect(cpuid(c, 7, 1)).toEqual([0, 0, 0, 0]);
  });

  it('TSC_ADJUST moves the TSC, and writing the TSC moves TSC_ADJUST (SDM 17.17.3)', () => {
    const c = cpu();
    const adv = (n: number) => (c as unknown as { advance: (n: number) => void }).advance(n);
    expect(read64(c, MSR_TSC_ADJUST)).toBe(0);
    const t0 = read64(c, 0x10);
    write64(c, MSR_TSC_ADJUST, 5000);
    expect(read64(c, 0x10)).toBe(t0 + 5000);
    adv(100);
    expect(read64(c, 0x10)).toBe(t0 + 5100);
    write64(c, 0x10, t0 + 100); // back 5000
    expect(read64(c, MSR_TSC_ADJUST)).toBe(0);
    write64(c, 0x10, t0 + 1100); // forward 1000
    expect(read64(c, MSR_TSC_ADJUST)).toBe(1000);
    expect(read64(c, 0x10)).toBe(t0 + 1100);
  });
});
