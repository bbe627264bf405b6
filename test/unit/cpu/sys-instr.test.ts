// System instructions of the 0F map not covered elsewhere (Intel SDM vol. 2): LAR, LSL, VERR
// and VERW (which descriptors they accept, at which privilege, in legacy and IA-32e mode);
// SMSW, LMSW and CLTS; MOV to/from debug registers (DR4/DR5 aliases and CR4.DE); SYSCALL
// from compatibility mode through CSTAR, SYSRET back to compatibility mode, and their #UD and
// #GP cases; SWAPGS outside 64-bit mode.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import {
  ACC_CODE, ACC_DATA, FREE, GDT, KCODE, Machine32, SEL_KCODE, SEL_KDATA, SEL_TSS, SEL_UCODE, SEL_UDATA, UCODE, USTACK,
  callGate, desc, le,
} from './helpers/machine32.ts';
import {
  GDT as GDT64, KCODE as KCODE64, Machine64, SEL_TSS as SEL_TSS64, SEL_UCODE32, SEL_UDATA as SEL_UDATA64, STUBS as STUBS64,
  UCODE as UCODE64, USTACK as USTACK64,
} from './helpers/machine64.ts';
import { toUser32 } from './helpers/paging32.ts';

const SETZ_BL = [0x0f, 0x94, 0xc3];
const HLT = [0xf4];
const MOV_ECX = (v: number): number[] => [0xb9, ...le(v, 4)];
const MOV_EAX = (v: number): number[] => [0xb8, ...le(v, 4)];
const LAR = [0x0f, 0x02, 0xc1]; // lar eax, ecx
const LSL = [0x0f, 0x03, 0xc1]; // lsl eax, ecx
const VERR = [0x0f, 0x00, 0xe1]; // verr cx
const VERW = [0x0f, 0x00, 0xe9]; // verw cx
const SEL = FREE * 8;

/** Run `op` on selector `sel` (EAX preset to a marker): returns [ZF, EAX]. */
function probe(op: number[], sel: number, o: { user?: boolean; setup?: (m: Machine32) => void } = {}): [number, number] {
  const m = new Machine32();
  o.setup?.(m);
  const body = [...MOV_ECX(sel), ...MOV_EAX(0xdeadbeef), ...op, ...SETZ_BL, 0xcd, 0x30]; // ... int 0x30 to a stub
  m.setIdt(0x30, 0x30000 + 0x30 * 16, 3, 0xe);
  if (o.user) {
    m.load(KCODE, toUser32(UCODE, USTACK, SEL_UCODE, SEL_UDATA));
    m.load(UCODE, body);
  } else m.load(KCODE, body);
  m.runToHalt();
  expect(m.stoppedVector()).toBe(0x30);
  return [m.reg(3) & 1, m.reg(0)];
}

describe('LAR and LSL', () => {
  it('LAR returns the access rights of code, data and TSS descriptors and sets ZF', () => {
    const [zf, eax] = probe(LAR, SEL_KCODE);
    expect(zf).toBe(1);
    expect(eax & 0x00f0ff00).toBe(0x00c09a00); // G D, P DPL0 code execute/read (bits 19:16 undefined)
    expect(probe(LAR, SEL_KDATA)[1] & 0x00f0ff00).toBe(0x00c09200);
    expect(probe(LAR, SEL_TSS)[1] & 0x00f0ff00).toBe(0x00008b00); // busy 32-bit TSS
  });

  it('LAR clears ZF and leaves the destination for null, out-of-table and gate-less system types', () => {
    expect(probe(LAR, 0)).toEqual([0, 0xdeadbeef]);
    expect(probe(LAR, 0x200)).toEqual([0, 0xdeadbeef]); // past the GDT limit 0x1FF
    const intGate = (m: Machine32): void => m.w64(GDT + SEL, (BigInt(SEL_KCODE) << 16n) | (0x8en << 40n));
    expect(probe(LAR, SEL, { setup: intGate })).toEqual([0, 0xdeadbeef]); // interrupt gates are not accepted
    const gate = (m: Machine32): void => m.setDesc(FREE, callGate(SEL_KCODE, 0x1000, 0));
    expect(probe(LAR, SEL, { setup: gate })[0]).toBe(1); // call gates are
    expect(probe(LSL, SEL, { setup: gate })).toEqual([0, 0xdeadbeef]); // but have no limit
  });

  it('at CPL 3 only descriptors with DPL >= CPL (or conforming code) are visible', () => {
    expect(probe(LAR, SEL_KDATA, { user: true })).toEqual([0, 0xdeadbeef]);
    expect(probe(LAR, SEL_UDATA, { user: true })[0]).toBe(1);
    const conforming = (m: Machine32): void => m.setDesc(FREE, desc(0, 0xffffffff, 0x9e, 0xc)); // DPL 0 conforming code
    expect(probe(LAR, SEL | 3, { user: true, setup: conforming })[0]).toBe(1);
    // RPL above DPL hides a non-conforming descriptor even at CPL 0.
    expect(probe(LAR, SEL_KDATA | 3)).toEqual([0, 0xdeadbeef]);
  });

  it('LSL returns the byte limit, scaled by the granularity bit', () => {
    expect(probe(LSL, SEL_KDATA)).toEqual([1, 0xffffffff]);
    expect(probe(LSL, SEL_TSS)).toEqual([1, 0x67]);
    const small = (m: Machine32): void => m.setDesc(FREE, desc(0x1000, 0x1234, ACC_DATA, 0x4));
    expect(probe(LSL, SEL, { setup: small })).toEqual([1, 0x1234]);
  });

  it('IA-32e mode: LAR refuses a 16-bit TSS that legacy mode accepts, and accepts a 64-bit call gate', () => {
    const run64 = (type: number, op: number[]): [number, number] => {
      const m = new Machine64();
      m.cpu.gdtLimit = 0x4f;
      m.w64(GDT64 + 0x40, (BigInt(0x80 | type) << 40n) | 0x67n);
      m.w64(GDT64 + 0x48, 0n);
      m.load(KCODE64, [...MOV_ECX(0x40), ...MOV_EAX(0xdeadbeef), ...op, ...SETZ_BL, ...HLT]);
      m.runToHalt();
      return [Number(m.reg(3) & 1n), Number(m.reg(0))];
    };
    expect(run64(1, LAR)).toEqual([0, 0xdeadbeef]); // 16-bit TSS
    expect(run64(3, LSL)).toEqual([0, 0xdeadbeef]); // busy 16-bit TSS
    expect(run64(0xc, LAR)[0]).toBe(1); // 64-bit call gate
    expect(run64(9, LSL)).toEqual([1, 0x67]); // 64-bit TSS
    const legacy = (m: Machine32): void => m.setDesc(FREE, desc(0x7100, 0x2b, 0x81, 0));
    expect(probe(LAR, SEL, { setup: legacy })[0]).toBe(1);
  });

  it('LAR, LSL, VERR and VERW are #UD in real mode', () => {
    for (const op of [LAR, LSL, VERR, VERW]) {
      const bus = new MemoryBus(1 << 20);
      const cpu = new Cpu(bus, new IoBus());
      bus.write32(6 * 4, 0x0600); // #UD -> 0000:0600
      bus.write8(0x600, 0xf4);
      bus.writeBytes(0x7c00, new Uint8Array(op));
      cpu.setBootState({ mode: 'real', rip: 0x7c00, rsp: 0x7000, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
      let n = 0;
      while (!cpu.halted && n < 100) n += cpu.run(10);
      expect(cpu.rip).toBe(0x601);
    }
  });
});

describe('VERR and VERW', () => {
  it('VERR accepts data and readable code; VERW only writable data', () => {
    expect(probe(VERR, SEL_KCODE)[0]).toBe(1);
    expect(probe(VERW, SEL_KCODE)[0]).toBe(0);
    expect(probe(VERR, SEL_KDATA)[0]).toBe(1);
    expect(probe(VERW, SEL_KDATA)[0]).toBe(1);
    const execOnly = (m: Machine32): void => m.setDesc(FREE, desc(0, 0xffff, ACC_CODE & ~2, 0x4));
    expect(probe(VERR, SEL, { setup: execOnly })[0]).toBe(0);
    const readOnly = (m: Machine32): void => m.setDesc(FREE, desc(0, 0xffff, ACC_DATA & ~2, 0x4));
    expect(probe(VERW, SEL, { setup: readOnly })[0]).toBe(0);
    expect(probe(VERR, SEL_TSS)[0]).toBe(0); // system descriptors never
    expect(probe(VERR, 0)[0]).toBe(0);
  });

  it('at CPL 3 a DPL 0 data segment is neither readable nor writable', () => {
    expect(probe(VERR, SEL_KDATA, { user: true })[0]).toBe(0);
    expect(probe(VERW, SEL_KDATA, { user: true })[0]).toBe(0);
    expect(probe(VERW, SEL_UDATA, { user: true })[0]).toBe(1);
  });
});

describe('SMSW, LMSW and CLTS', () => {
  it('LMSW sets TS and cannot clear PE; CLTS clears TS; SMSW stores the low word of CR0', () => {
    const m = new Machine32();
    m.load(KCODE, [
      0x66, 0xb8, 0x08, 0x00, 0x0f, 0x01, 0xf0, // mov ax, 8; lmsw ax (TS, and PE = 0)
      0x0f, 0x01, 0xe3, // smsw ebx
      0x0f, 0x06, // clts
      0x0f, 0x01, 0xe1, // smsw ecx
      ...HLT,
    ]);
    m.runToHalt();
    expect(m.reg(3) & 0xffff).toBe(0x19); // ET TS PE
    expect(m.reg(1) & 0xffff).toBe(0x11);
    expect(m.cpu.cr0 & 1).toBe(1);
  });

  it('at CPL 3, LMSW and CLTS are #GP(0) and SMSW works', () => {
    for (const [op, gp] of [[[0x0f, 0x01, 0xf0], true], [[0x0f, 0x06], true], [[0x0f, 0x01, 0xe3, 0xcd, 0x30], false]] as const) {
      const m = new Machine32();
      m.setIdt(0x30, 0x30000 + 0x30 * 16, 3, 0xe);
      m.load(KCODE, toUser32(UCODE, USTACK, SEL_UCODE, SEL_UDATA));
      m.load(UCODE, [...op]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(gp ? 13 : 0x30);
      if (!gp) expect(m.reg(3) & 0xffff).toBe(0x11);
    }
  });
});

describe('debug registers', () => {
  it('MOV DRn round-trips DR0; DR6/DR7 read their fixed bits; DR4/DR5 alias DR6/DR7 unless CR4.DE, then #UD', () => {
    const m = new Machine32();
    m.load(KCODE, [
      ...MOV_EAX(0x12345678), 0x0f, 0x23, 0xc0, 0x0f, 0x21, 0xc3, // mov dr0, eax; mov ebx, dr0
      0x0f, 0x21, 0xf1, 0x0f, 0x21, 0xfa, // mov ecx, dr6; mov edx, dr7
      0x0f, 0x21, 0xe6, 0x0f, 0x21, 0xef, // mov esi, dr4; mov edi, dr5
      0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xe0, // cr4 |= DE
      0x0f, 0x21, 0xe6, // mov esi, dr4: #UD
    ]);
    m.runToHalt();
    expect(m.reg(3)).toBe(0x12345678);
    expect(m.reg(1)).toBe(0xffff0ff0);
    expect(m.reg(2)).toBe(0x400);
    expect(m.reg(6)).toBe(0xffff0ff0);
    expect(m.reg(7)).toBe(0x400);
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(0)).toBe(KCODE + 5 + 12 + 6 + 9); // #UD pushes no error code
  });
});

describe('SYSCALL and SYSRET with compatibility mode', () => {
  const LTR = [0x66, 0xb8, ...le(SEL_TSS64, 2), 0x0f, 0x00, 0xd8];
  /** LTR, then IRETQ to 32-bit (compatibility mode) ring 3 at UCODE. */
  const TO_COMPAT = [...LTR, 0x6a, SEL_UDATA64, 0x68, ...le(USTACK64, 4), 0x68, ...le(0x202, 4), 0x6a, SEL_UCODE32,
    0x68, ...le(UCODE64, 4), 0x48, 0xcf];
  function machine(): Machine64 {
    const m = new Machine64();
    m.cpu.starHi = (0x18 << 16) | 0x08; // SYSRET base 0x18: compat CS 0x1B, SS 0x23; SYSCALL CS 0x08
    m.cpu.cstar = KCODE64 + 0x300;
    m.cpu.lstar = KCODE64 + 0x400; // not used from compatibility mode
    m.cpu.fmask = 0x200;
    m.setGate(3, STUBS64 + 3 * 16, { dpl: 3 });
    return m;
  }

  it('SYSCALL from compatibility mode enters 64-bit ring 0 at CSTAR; SYSRET (no REX.W) returns to it', () => {
    const m = machine();
    m.load(KCODE64, TO_COMPAT);
    m.load(UCODE64, [0xbb, ...le(5, 4), 0x0f, 0x05, 0xcc]); // mov ebx, 5; syscall; int3
    m.load(KCODE64 + 0x300, [0xf4, 0x0f, 0x07]); // hlt; sysretl
    m.runToHalt();
    const c = m.cpu;
    expect(c.rip).toBe(KCODE64 + 0x301);
    expect(c.codeMode).toBe(64);
    expect([c.sSel[1], c.sSel[2]]).toEqual([0x08, 0x10]);
    expect(m.reg(1)).toBe(BigInt(UCODE64 + 7)); // RCX = the next EIP
    expect(m.reg(11) & 0x200n).toBe(0x200n); // R11 = the old RFLAGS
    expect(c.flags & 0x200).toBe(0); // FMASK
    c.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3);
    expect(m.frame(0)).toBe(BigInt(UCODE64 + 8));
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE32));
    expect(m.frame(2) & 0x200n).toBe(0x200n); // RFLAGS from R11
    expect(m.frame(4)).toBe(0x23n);
  });

  it('SYSRETQ with a non-canonical RCX returns to ring 3 and faults there (AMD); SYSRET at CPL 3 is #GP(0)', () => {
    // AMD does not check RCX: the #GP(0) is the fetch at the non-canonical RIP, delivered from
    // CPL 3 (user CS/SS in the frame, stack switched to RSP0) with RFLAGS = R11.
    const m = machine();
    m.load(KCODE64, [...LTR, 0x41, 0xbb, ...le(0x246, 4), 0x48, 0xb9, ...le(0x0000800000000000n, 8), 0x48, 0x0f, 0x07]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(0x0000800000000000n);
    expect(m.frame(2)).toBe(0x2bn); // STAR[63:48] + 16, RPL 3
    expect(m.frame(3) & 0xfffn).toBe(0x246n);
    expect(m.frame(5)).toBe(0x23n); // SS = STAR[63:48] + 8, RPL 3

    const u = machine();
    u.load(KCODE64, TO_COMPAT);
    u.load(UCODE64, [0x0f, 0x07]);
    u.runToHalt();
    expect(u.stoppedVector()).toBe(13);
    expect(u.frame(0)).toBe(0n);
    expect(u.frame(1)).toBe(BigInt(UCODE64));
  });

  it('SYSCALL and SYSRET are #UD with EFER.SCE clear; SWAPGS is #UD outside 64-bit mode', () => {
    for (const op of [[0x0f, 0x05], [0x48, 0x0f, 0x07]]) {
      const m = machine();
      m.cpu.efer &= ~1;
      m.load(KCODE64, op);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(6);
    }
    const m = machine();
    m.load(KCODE64, TO_COMPAT);
    m.load(UCODE64, [0x0f, 0x01, 0xf8]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE32));
  });
});
