// SYSENTER and SYSEXIT (Intel SDM vol. 2B, and vol. 3A 5.8.7; AMD APM vol. 3): the three
// SYSENTER MSRs, the fixed flat descriptors they load (CS = SYSENTER_CS, SS = +8 at ring 0;
// SYSEXIT CS = +16 and SS = +24 at ring 3), ESP/EIP from the MSRs and ECX/EDX, IF/VM/RF
// cleared on entry, and #GP(0) when SYSENTER_CS is 0, outside protected mode and for SYSEXIT at
// CPL 3. In long mode (64-bit and compatibility) both are #UD, as on the AMD CPU we model.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import {
  KCODE, KSTACK, Machine32, SEL_KCODE, SEL_UCODE, SEL_UDATA, UCODE, USTACK, le,
} from './helpers/machine32.ts';
import {
  KCODE as KCODE64, Machine64, SEL_TSS as SEL_TSS64, SEL_UCODE as SEL_UCODE64, SEL_UCODE32, SEL_UDATA as SEL_UDATA64,
  STUBS as STUBS64, UCODE as UCODE64, USTACK as USTACK64,
} from './helpers/machine64.ts';
import { toUser32 } from './helpers/paging32.ts';

const SYSENTER = [0x0f, 0x34];
const SYSEXIT = [0x0f, 0x35];
const SYSEXIT64 = [0x48, 0x0f, 0x35];
const HLT = [0xf4];
const INT3 = [0xcc];
const ENTRY = 0x200; // kernel entry point offset from KCODE

/** mov ecx, msr; mov eax, lo; mov edx, hi; wrmsr */
const wrmsr = (msr: number, lo: number, hi = 0): number[] =>
  [0xb9, ...le(msr, 4), 0xb8, ...le(lo, 4), 0xba, ...le(hi, 4), 0x0f, 0x30];

describe('32-bit SYSENTER and SYSEXIT', () => {
  const setup = (cs = SEL_KCODE): number[] => [
    ...wrmsr(0x174, cs), ...wrmsr(0x175, KSTACK - 0x100), ...wrmsr(0x176, KCODE + ENTRY),
    ...toUser32(UCODE, USTACK, SEL_UCODE, SEL_UDATA),
  ];

  it('enters ring 0 from ring 3 with flat CS/SS from SYSENTER_CS and ESP/EIP from the MSRs, IF clear', () => {
    const m = new Machine32();
    m.load(KCODE, setup());
    m.load(UCODE, [0xbd, ...le(0x5151, 4), ...SYSENTER]); // mov ebp, 0x5151; sysenter
    m.load(KCODE + ENTRY, [...HLT, 0xba, ...le(UCODE + 0x40, 4), 0xb9, ...le(USTACK - 0x10, 4), ...SYSEXIT]);
    m.load(UCODE + 0x40, HLT); // back at ring 3: HLT is #GP
    m.runToHalt();
    const c = m.cpu;
    expect(c.rip).toBe(KCODE + ENTRY + 1);
    expect(c.cpl).toBe(0);
    expect(c.codeMode).toBe(32);
    expect([c.sSel[1], c.sBase[1], c.sLimit[1] >>> 0, c.sAttr[1]]).toEqual([SEL_KCODE, 0, 0xffffffff, 0xc09b]);
    expect([c.sSel[2], c.sBase[2], c.sLimit[2] >>> 0, c.sAttr[2]]).toEqual([SEL_KCODE + 8, 0, 0xffffffff, 0xc093]);
    expect(m.esp()).toBe(KSTACK - 0x100);
    expect(c.flags & 0x200).toBe(0); // IF cleared
    expect(m.reg(5)).toBe(0x5151); // general registers are untouched

    c.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13); // the ring-3 HLT after SYSEXIT
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(UCODE + 0x40); // EIP = EDX
    expect(m.frame(2)).toBe(SEL_KCODE + 16 + 3); // CS = SYSENTER_CS + 16, RPL 3
    expect(m.frame(3) & 0x200).toBe(0); // SYSEXIT leaves EFLAGS alone
    expect(m.frame(4)).toBe(USTACK - 0x10); // ESP = ECX
    expect(m.frame(5)).toBe(SEL_KCODE + 24 + 3); // SS = SYSENTER_CS + 24, RPL 3
  });

  it('raises #GP(0) for SYSENTER while SYSENTER_CS is 0 (its reset value)', () => {
    const m = new Machine32();
    m.load(KCODE, toUser32(UCODE, USTACK, SEL_UCODE, SEL_UDATA));
    m.load(UCODE, SYSENTER);
    m.runToHalt();
    expect(m.cpu.sysenterCs).toBe(0);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(UCODE);
    expect(m.frame(2)).toBe(SEL_UCODE);
  });

  it('raises #GP(0) for SYSEXIT at CPL 3 and for SYSEXIT at CPL 0 with SYSENTER_CS = 0', () => {
    const user = new Machine32();
    user.load(KCODE, setup());
    user.load(UCODE, SYSEXIT);
    user.runToHalt();
    expect(user.stoppedVector()).toBe(13);
    expect(user.frame(1)).toBe(UCODE);
    expect(user.frame(2)).toBe(SEL_UCODE);

    const kernel = new Machine32();
    kernel.load(KCODE, [0xba, ...le(UCODE, 4), ...SYSEXIT]);
    kernel.runToHalt();
    expect(kernel.stoppedVector()).toBe(13);
    expect(kernel.frame(1)).toBe(KCODE + 5);
    expect(kernel.frame(2)).toBe(SEL_KCODE);
  });

  it('raises #GP(0) for SYSENTER and SYSEXIT in real mode', () => {
    for (const op of [SYSENTER, SYSEXIT]) {
      const bus = new MemoryBus(1 << 20);
      const cpu = new Cpu(bus, new IoBus());
      bus.write32(13 * 4, 0x0600); // #GP -> 0000:0600
      bus.write8(0x600, 0xf4);
      bus.writeBytes(0x7c00, new Uint8Array(op));
      cpu.setBootState({ mode: 'real', rip: 0x7c00, rsp: 0x7000, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
      cpu.sysenterCs = 0x08;
      let n = 0;
      while (!cpu.halted && n < 100) n += cpu.run(10);
      expect(cpu.rip).toBe(0x601);
      expect(bus.read16(0x7000 - 6)).toBe(0x7c00); // the real-mode frame's IP: the instruction itself
    }
  });
});

describe('SYSENTER and SYSEXIT in long mode (AMD: #UD)', () => {
  /** mov ax, TSS; ltr ax (ring-3 events need the TSS's RSP0). */
  const LTR = [0x66, 0xb8, ...le(SEL_TSS64, 2), 0x0f, 0x00, 0xd8];
  const TO_USER = (cs: number): number[] => [
    ...LTR,
    0x6a, SEL_UDATA64, 0x68, ...le(USTACK64, 4), 0x68, ...le(0x202, 4), 0x6a, cs, 0x68, ...le(UCODE64, 4), 0x48, 0xcf,
  ];
  const MSRS = [...wrmsr(0x174, 0x08), ...wrmsr(0x175, 0x1000), ...wrmsr(0x176, KCODE64 + ENTRY)];

  it.each([
    ['SYSENTER in 64-bit ring 3', SEL_UCODE64, SYSENTER],
    ['SYSENTER in compatibility-mode ring 3', SEL_UCODE32, SYSENTER],
  ])('%s is #UD with the MSRs set up, entering nothing', (_name, cs, op) => {
    const m = new Machine64();
    m.setGate(6, STUBS64 + 6 * 16, { dpl: 3 });
    m.load(KCODE64, [...MSRS, ...TO_USER(cs)]);
    m.load(UCODE64, op);
    m.load(KCODE64 + ENTRY, HLT);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(0)).toBe(BigInt(UCODE64)); // #UD has no error code: RIP first
    expect(m.frame(1)).toBe(BigInt(cs));
  });

  it.each([
    ['SYSEXIT', SYSEXIT], ['SYSEXIT with REX.W', SYSEXIT64],
  ])('%s in 64-bit ring 0 is #UD, even with SYSENTER_CS = 0', (_name, op) => {
    for (const pre of [MSRS, []]) {
      const m = new Machine64();
      m.load(KCODE64, [...pre, 0xba, ...le(UCODE64, 4), 0xb9, ...le(USTACK64, 4), ...op]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(6);
      expect(m.frame(0)).toBe(BigInt(KCODE64 + pre.length + 10));
      expect(m.frame(1)).toBe(0x08n); // still ring 0
    }
  });

  it('SYSEXIT in compatibility-mode ring 3 is #UD (before the CPL check that gives #GP in legacy mode)', () => {
    const m = new Machine64();
    m.setGate(6, STUBS64 + 6 * 16, { dpl: 3 });
    m.load(KCODE64, [...MSRS, ...TO_USER(SEL_UCODE32)]);
    m.load(UCODE64, SYSEXIT);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE32));
  });
});
