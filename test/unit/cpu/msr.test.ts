// The MSRs a 64-bit kernel touches, through the RDMSR/WRMSR instructions: round trips of the
// syscall MSRs, segment bases, TSC_AUX, PAT (whose reserved memory types are #GP) and
// MISC_ENABLE; the 32-bit SYSENTER_ESP/EIP (AMD); APIC_BASE's reserved bits (#GP); EFER's
// reserved bits, its read-only LMA and the LME-under-paging rule; the
// effect of FS_BASE and of a TSC write; MTRRs absent as CPUID says; #GP at CPL 3.
// (Direct readMsr/writeMsr cases, e.g. the missing performance counters, are in
// test/unit/devices/msr-cpuid.test.ts.)
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, SEL_TSS, SEL_UCODE, SEL_UDATA, UCODE, USTACK, le } from './helpers/machine64.ts';

const HLT = [0xf4];
const RESULTS = DATA + 0x800;
/** mov ecx, msr; mov eax, lo; mov edx, hi; wrmsr */
const wrmsr = (msr: number, lo: number, hi: number): number[] =>
  [0xb9, ...le(msr, 4), 0xb8, ...le(lo, 4), 0xba, ...le(hi, 4), 0x0f, 0x30];
/** mov ecx, msr; xor eax, eax; xor edx, edx; rdmsr; mov [at], eax; mov [at+4], edx */
const rdmsrTo = (msr: number, at: number): number[] => [
  0xb9, ...le(msr, 4), 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x32,
  0x89, 0x04, 0x25, ...le(at, 4), 0x89, 0x14, 0x25, ...le(at + 4, 4),
];
const split = (v: bigint): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)];

/** Run kernel code and return the vector it stopped in (-1: its own final HLT). */
function run(code: number[], setup?: (m: Machine64) => void): Machine64 {
  const m = new Machine64();
  setup?.(m);
  m.load(KCODE, [...code, ...HLT]);
  m.runToHalt();
  return m;
}
const result = (m: Machine64, i: number): bigint =>
  BigInt(m.bus.read32(RESULTS + 8 * i)) | (BigInt(m.bus.read32(RESULTS + 8 * i + 4)) << 32n);

describe('RDMSR/WRMSR round trips', () => {
  const CASES: [string, number, bigint][] = [
    ['STAR', 0xc0000081, 0x0023001000000000n],
    ['LSTAR', 0xc0000082, 0xffffffff81a00000n],
    ['CSTAR', 0xc0000083, 0xffffffff81a00100n],
    ['FMASK', 0xc0000084, 0x47700n],
    ['FS_BASE', 0xc0000100, 0x00007f0012345000n],
    ['GS_BASE', 0xc0000101, 0xffff888000001000n],
    ['KERNEL_GS_BASE', 0xc0000102, 0xffff888000002000n],
    ['TSC_AUX', 0xc0000103, 3n],
    ['SYSENTER_CS', 0x174, 0x10n],
    ['SYSENTER_ESP', 0x175, 0xfffff000n],
    ['SYSENTER_EIP', 0x176, 0xc1a01000n],
    ['PAT (Linux\'s layout: WB WC UC- UC WB WP UC- WT)', 0x277, 0x0407050600070106n],
    ['MISC_ENABLE', 0x1a0, 0x1n],
    ['APIC_BASE', 0x1b, 0xfee00900n],
    ['APIC_BASE (disabled, not BSP, base above 4 GiB)', 0x1b, 0xff_fec00000n],
  ];
  it.each(CASES)('%s reads back what was written', (_name, msr, v) => {
    const m = run([...wrmsr(msr, ...split(v)), ...rdmsrTo(msr, RESULTS)]);
    expect(m.stoppedVector()).toBe(-1);
    expect(result(m, 0)).toBe(v);
  });

  it('PAT starts at its reset value 0x0007040600070406 (WB WT UC- UC, twice)', () => {
    const m = run(rdmsrTo(0x277, RESULTS));
    expect(result(m, 0)).toBe(0x0007040600070406n);
  });

  it('FS_BASE is the base of FS-relative accesses', () => {
    const m = run([...wrmsr(0xc0000100, DATA, 0), 0x64, 0x8b, 0x04, 0x25, ...le(0x10, 4)], (mm) => { // mov eax, fs:[0x10]
      mm.bus.write32(DATA + 0x10, 0xf5f5f5f5);
    });
    expect(m.stoppedVector()).toBe(-1);
    expect(m.cpu.sBase[4]).toBe(DATA);
    expect(m.reg(0)).toBe(0xf5f5f5f5n);
  });

  it('a TSC write moves RDTSC and TSC_ADJUST by the same amount', () => {
    const m = run([...wrmsr(0x10, 5000, 0), 0x0f, 0x31, 0x89, 0xc3, ...rdmsrTo(0x3b, RESULTS)], (mm) => {
      mm.cpu.tscSource = () => 1000;
    });
    expect(m.reg(3)).toBe(5000n); // rdtsc -> ebx
    expect(result(m, 0)).toBe(4000n);
  });
});

describe('MSR faults', () => {
  const gp = (m: Machine64, at: number): void => {
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE + at));
  };

  it.each([2, 3, 8, 0x16, 0xff])('PAT: memory type %i in any entry is #GP(0) and leaves PAT unchanged', (t) => {
    for (const entry of [0, 5]) {
      const v = 0x0007040600070406n & ~(0xffn << BigInt(entry * 8)) | (BigInt(t) << BigInt(entry * 8));
      const m = run(wrmsr(0x277, ...split(v)));
      gp(m, 15);
      expect([m.cpu.patLo >>> 0, m.cpu.patHi >>> 0]).toEqual([0x00070406, 0x00070406]);
    }
  });

  it('SYSENTER_ESP/EIP keep 32 bits (AMD): the high half of a write is dropped unchecked and reads back 0', () => {
    for (const msr of [0x175, 0x176]) {
      const m = run([...wrmsr(msr, 0x81a01000, 0x00008000), ...rdmsrTo(msr, RESULTS)]);
      expect(m.stoppedVector()).toBe(-1); // a non-canonical high half is no #GP either
      expect(result(m, 0)).toBe(0x81a01000n);
    }
  });

  it.each([
    ['bit 0', 1, 0], ['bit 7', 0x80, 0], ['bit 9', 0x200, 0], ['bit 10 (x2APIC enable)', 0x400, 0],
    ['bit 40', 0, 0x100], ['bit 63', 0, 0x80000000],
  ])('APIC_BASE: reserved %s is #GP(0) and leaves the MSR unchanged', (_name, lo, hi) => {
    const m = run(wrmsr(0x1b, (0xfee00900 | lo) >>> 0, hi));
    gp(m, 15);
    expect(m.cpu.apicBase).toBe(0xfee00900);
  });

  it('EFER: a reserved bit is #GP(0); LMA is read-only; LME cannot change while paging is on', () => {
    const reserved = run(wrmsr(0xc0000080, 0xd01 | 0x2, 0));
    gp(reserved, 15);
    const high = run(wrmsr(0xc0000080, 0xd01, 1));
    gp(high, 15);

    // Writing SCE|LME|NXE without LMA in long mode: LMA stays set (and NXE can be cleared).
    const lma = run([...wrmsr(0xc0000080, 0x101, 0), ...rdmsrTo(0xc0000080, RESULTS)]);
    expect(lma.stoppedVector()).toBe(-1);
    expect(result(lma, 0)).toBe(0x501n);
    expect(lma.cpu.codeMode).toBe(64);

    const lme = run(wrmsr(0xc0000080, 0x801, 0)); // clear LME under paging
    gp(lme, 15);
    expect(lme.cpu.efer & 0x100).toBe(0x100);
  });

  it('MTRRs are absent, as CPUID leaf 1 EDX bit 12 says: MTRRcap, a variable range and MTRRdefType are #GP', () => {
    const id = run([0xb8, ...le(1, 4), 0x0f, 0xa2]); // cpuid leaf 1
    expect(id.reg(2) & (1n << 12n)).toBe(0n);
    for (const msr of [0xfe, 0x200, 0x2ff]) {
      gp(run(rdmsrTo(msr, RESULTS)), 9);
      gp(run(wrmsr(msr, 6, 0)), 15);
    }
  });

  it('RDMSR and WRMSR at CPL 3 are #GP(0) even for MSRs that exist', () => {
    for (const op of [[0x0f, 0x32], [0x0f, 0x30]]) {
      const u = new Machine64();
      u.load(KCODE, [
        0x66, 0xb8, ...le(SEL_TSS, 2), 0x0f, 0x00, 0xd8,
        0x6a, SEL_UDATA, 0x68, ...le(USTACK, 4), 0x68, ...le(0x202, 4), 0x6a, SEL_UCODE, 0x68, ...le(UCODE, 4), 0x48, 0xcf,
      ]);
      u.load(UCODE, [0xb9, ...le(0xc0000081, 4), ...op]);
      u.cpu.star = 0x1234;
      u.runToHalt();
      expect(u.stoppedVector()).toBe(13);
      expect(u.frame(0)).toBe(0n);
      expect(u.frame(1)).toBe(BigInt(UCODE + 5));
      expect(u.frame(2)).toBe(BigInt(SEL_UCODE));
      expect(u.cpu.star).toBe(0x1234);
    }
  });
});
