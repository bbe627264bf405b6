// SYSENTER and SYSEXIT (Intel SDM vol. 2B, and vol. 3A 5.8.7): the three SYSENTER MSRs,
// the fixed flat descriptors they load (CS = SYSENTER_CS, SS = +8 at ring 0; SYSEXIT CS = +16
// and SS = +24 at ring 3, or +32/+40 for the REX.W form back to 64-bit mode), ESP/EIP from
// the MSRs and ECX/EDX, IF/VM/RF cleared on entry, and #GP(0) when SYSENTER_CS is 0, outside
// protected mode, for SYSEXIT at CPL 3 and for non-canonical RCX/RDX in 64-bit SYSEXIT.
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

describe('SYSENTER and SYSEXIT in long mode', () => {
  /** mov ax, TSS; ltr ax (ring-3 events need the TSS's RSP0). */
  const LTR = [0x66, 0xb8, ...le(SEL_TSS64, 2), 0x0f, 0x00, 0xd8];
  /** LTR, then IRETQ to 64-bit ring 3 at UCODE with RSP = USTACK. */
  const TO_USER64 = [
    ...LTR,
    0x6a, SEL_UDATA64, 0x68, ...le(USTACK64, 4), 0x68, ...le(0x202, 4), 0x6a, SEL_UCODE64, 0x68, ...le(UCODE64, 4), 0x48, 0xcf,
  ];
  const HIGH_RSP = 0xffff800000001000n;
  const setup64 = (): number[] => [
    ...wrmsr(0x174, 0x08), ...wrmsr(0x175, 0x00001000, 0xffff8000), ...wrmsr(0x176, KCODE64 + ENTRY),
  ];
  /** mov rdx, imm64; mov rcx, imm64 */
  const rdxRcx = (rdx: bigint, rcx: bigint): number[] => [0x48, 0xba, ...le(rdx, 8), 0x48, 0xb9, ...le(rcx, 8)];

  it('enters 64-bit ring 0 with RSP/RIP from the full 64-bit MSRs; SYSEXIT with REX.W returns to 64-bit ring 3', () => {
    const m = new Machine64();
    m.setGate(3, STUBS64 + 3 * 16, { dpl: 3 });
    m.load(KCODE64, [...setup64(), ...TO_USER64]);
    m.load(UCODE64, SYSENTER);
    m.load(KCODE64 + ENTRY, [...HLT, ...rdxRcx(BigInt(UCODE64 + 0x40), BigInt(USTACK64 - 0x10)), ...SYSEXIT64]);
    m.load(UCODE64 + 0x40, [0x48, 0xb8, ...le(0x1122334455667788n, 8), ...INT3]); // mov rax, imm64 (64-bit code only)
    m.runToHalt();
    const c = m.cpu;
    expect(c.rip).toBe(KCODE64 + ENTRY + 1);
    expect(c.codeMode).toBe(64); // CS.L = 1
    expect(c.sSel[1]).toBe(0x08);
    expect(c.sSel[2]).toBe(0x10);
    expect(m.reg(4)).toBe(HIGH_RSP);

    c.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3);
    expect(m.reg(0)).toBe(0x1122334455667788n);
    expect(m.frame(0)).toBe(BigInt(UCODE64 + 0x40 + 11)); // after the INT3
    expect(m.frame(1)).toBe(0x08n + 32n + 3n); // SYSENTER_CS + 32 = the 64-bit user CS
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE64));
    expect(m.frame(3)).toBe(BigInt(USTACK64 - 0x10)); // RSP = RCX
    expect(m.frame(4)).toBe(0x08n + 40n + 3n); // SS = SYSENTER_CS + 40
  });

  it('SYSEXIT without REX.W goes to compatibility mode with CS = SYSENTER_CS + 16', () => {
    const m = new Machine64();
    m.setGate(3, STUBS64 + 3 * 16, { dpl: 3 });
    m.load(KCODE64, [...LTR, ...setup64(), 0xb8, ...le(10, 4), 0xba, ...le(UCODE64 + 0x80, 4), 0xb9, ...le(USTACK64 - 0x20, 4), ...SYSEXIT]);
    m.load(UCODE64 + 0x80, [0x48, ...INT3]); // in 32-bit code 0x48 is DEC EAX, not a REX prefix
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3);
    expect(m.reg(0)).toBe(9n);
    expect(m.frame(0)).toBe(BigInt(UCODE64 + 0x82));
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE32));
    expect(m.frame(3)).toBe(BigInt(USTACK64 - 0x20));
    expect(m.frame(4)).toBe(0x08n + 24n + 3n);
  });

  it('raises #GP(0) for 64-bit SYSEXIT with a non-canonical RDX or RCX, staying in ring 0', () => {
    for (const [rdx, rcx] of [[0x0000800000000000n, BigInt(USTACK64)], [BigInt(UCODE64), 0xfff0000000000000n]] as const) {
      const m = new Machine64();
      const pre = [...setup64(), ...rdxRcx(rdx, rcx)];
      m.load(KCODE64, [...pre, ...SYSEXIT64]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(13);
      expect(m.frame(0)).toBe(0n);
      expect(m.frame(1)).toBe(BigInt(KCODE64 + pre.length));
      expect(m.frame(2)).toBe(0x08n);
    }
  });

  it('round-trips the SYSENTER MSRs through RDMSR and refuses non-canonical ESP/EIP values', () => {
    const m = new Machine64();
    // rdmsr 0x175 -> r8d/r9d; rdmsr 0x176 -> r10d/r11d; rdmsr 0x174 -> ebx/ebp; then wrmsr 0x176 non-canonical
    m.load(KCODE64, [
      ...setup64(),
      0xb9, ...le(0x175, 4), 0x0f, 0x32, 0x41, 0x89, 0xc0, 0x41, 0x89, 0xd1,
      0xb9, ...le(0x176, 4), 0x0f, 0x32, 0x41, 0x89, 0xc2, 0x41, 0x89, 0xd3,
      0xb9, ...le(0x174, 4), 0x0f, 0x32, 0x89, 0xc3, 0x89, 0xd5, // -> ebx/ebp
      ...wrmsr(0x176, 0, 0x00008000), ...HLT,
    ]);
    m.runToHalt();
    expect([m.reg(8), m.reg(9)]).toEqual([0x1000n, 0xffff8000n]);
    expect([m.reg(10), m.reg(11)]).toEqual([BigInt(KCODE64 + ENTRY), 0n]);
    expect([m.reg(3), m.reg(5)]).toEqual([8n, 0n]);
    expect(m.stoppedVector()).toBe(13);
    expect(m.cpu.sysenterEip).toBe(KCODE64 + ENTRY); // unchanged

    const esp = new Machine64();
    esp.load(KCODE64, [...wrmsr(0x175, 0, 0x00010000), ...HLT]);
    esp.runToHalt();
    expect(esp.stoppedVector()).toBe(13);
    expect(esp.cpu.sysenterEsp).toBe(0);
  });
});
