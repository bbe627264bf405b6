// Call gates: far CALL/JMP through 32- and 16-bit gates in protected mode and 64-bit gates in
// long mode, the privilege rules (gate DPL against CPL and RPL, target DPL, conforming code),
// the stack switch from the TSS with parameter copying, RETF back to the outer level with
// its stack switch and data-segment nulling, and the faults for bad gates and stacks.
import { describe, expect, it } from 'vitest';
import {
  ACC_CODE, FREE, KCODE, KSTACK, Machine32, SEL_KCODE, SEL_KDATA, SEL_UCODE, SEL_UDATA, TSS, UCODE, USTACK,
  callGate, desc, le, loadSeg,
} from './helpers/machine32.ts';
import {
  KCODE as KCODE64, KSTACK as KSTACK64, Machine64, SEL_TSS as SEL_TSS64, SEL_UCODE as SEL_UCODE64,
  SEL_UDATA as SEL_UDATA64, UCODE as UCODE64, USTACK as USTACK64,
} from './helpers/machine64.ts';

const GATE = FREE * 8; // 0x30
const CODE2 = GATE + 8; // 0x38
const DS = 3;
/** Kernel code that drops to CPL 3 at UCODE with ESP = USTACK via IRETD. */
const TO_USER = [0x6a, SEL_UDATA, 0x68, ...le(USTACK, 4), 0x6a, 0x02, 0x6a, SEL_UCODE, 0x68, ...le(UCODE, 4), 0xcf];
const callFar = (sel: number, off = 0): number[] => [0x9a, ...le(off, 4), ...le(sel, 2)];
const jmpFar = (sel: number, off = 0): number[] => [0xea, ...le(off, 4), ...le(sel, 2)];

describe('32-bit call gates', () => {
  it('CALL from CPL 3 switches to the TSS stack, copies parameters, and RETF n returns and nulls DS', () => {
    const m = new Machine32();
    m.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 3, 2));
    m.load(KCODE, TO_USER);
    const user = [...loadSeg(DS, SEL_UDATA), 0x68, ...le(0x1111, 4), 0x68, ...le(0x2222, 4), ...callFar(GATE | 3), 0xf4];
    m.load(UCODE, user);
    m.load(KCODE + 0x200, [...loadSeg(DS, SEL_KDATA), 0xf4, 0xca, 8, 0]); // ds = kernel; hlt; retf 8
    m.runToHalt();
    const c = m.cpu;
    expect(c.cpl).toBe(0);
    expect(c.sSel[1]).toBe(SEL_KCODE);
    expect(c.sSel[2]).toBe(SEL_KDATA); // SS0 from the TSS
    expect(m.esp()).toBe(KSTACK - 24);
    expect(m.frame(0)).toBe(UCODE + user.length - 1); // return EIP
    expect(m.frame(1)).toBe(SEL_UCODE);
    expect(m.frame(2)).toBe(0x2222); // parameters in the caller's order
    expect(m.frame(3)).toBe(0x1111);
    expect(m.frame(4)).toBe(USTACK - 8);
    expect(m.frame(5)).toBe(SEL_UDATA);
    c.halted = false;
    m.runToHalt();
    // Back at CPL 3: the user HLT raised #GP; DS (DPL 0) was nulled by the RETF.
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(UCODE + user.length - 1);
    expect(m.frame(2)).toBe(SEL_UCODE);
    expect(m.frame(4)).toBe(USTACK); // RETF 8 dropped the parameters
    expect(m.frame(5)).toBe(SEL_UDATA);
    expect(c.sSel[DS]).toBe(0);
  });

  it('CALL at the same privilege pushes only CS:EIP on the current stack', () => {
    const m = new Machine32();
    m.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 0, 3));
    m.load(KCODE, callFar(GATE));
    m.load(KCODE + 0x200, [0xf4]);
    m.runToHalt();
    expect(m.esp()).toBe(KSTACK - 8);
    expect(m.frame(0)).toBe(KCODE + 7);
    expect(m.frame(1)).toBe(SEL_KCODE);
    expect(m.cpu.rip).toBe(KCODE + 0x201);
  });

  it('JMP through a gate to the same privilege transfers without pushing', () => {
    const m = new Machine32();
    m.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 0));
    m.load(KCODE, jmpFar(GATE));
    m.load(KCODE + 0x200, [0xf4]);
    m.runToHalt();
    expect(m.esp()).toBe(KSTACK);
    expect(m.cpu.rip).toBe(KCODE + 0x201);
  });

  it('CALL through a gate to conforming code keeps CPL 3 and the user stack', () => {
    const m = new Machine32();
    m.setDesc(FREE, callGate(CODE2, UCODE + 0x100, 3));
    m.setDesc(FREE + 1, desc(0, 0xffffffff, 0x9e, 0xc)); // conforming, DPL 0
    m.load(KCODE, TO_USER);
    m.load(UCODE, callFar(GATE | 3));
    m.load(UCODE + 0x100, [0xf4]); // HLT at CPL 3: #GP
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(UCODE + 0x100);
    expect(m.frame(2)).toBe(CODE2 | 3);
    expect(m.frame(4)).toBe(USTACK - 8);
  });
});

describe('16-bit call gates', () => {
  it('pushes 16-bit SS, SP, parameter, CS and IP on the inner stack', () => {
    const m = new Machine32();
    m.setDesc(FREE, callGate(CODE2, 0x200, 3, 1, 16));
    m.setDesc(FREE + 1, desc(KCODE, 0xffff, ACC_CODE, 0x4));
    m.load(KCODE, TO_USER);
    const user = [0x68, ...le(0xbeef, 4), ...callFar(GATE | 3)];
    m.load(UCODE, user);
    m.load(KCODE + 0x200, [0xf4]);
    m.runToHalt();
    expect(m.cpu.cpl).toBe(0);
    expect(m.cpu.sSel[1]).toBe(CODE2);
    expect(m.esp()).toBe(KSTACK - 10);
    const w = (i: number): number => m.bus.read16(KSTACK - 10 + 2 * i);
    expect(w(0)).toBe((UCODE + user.length) & 0xffff);
    expect(w(1)).toBe(SEL_UCODE);
    expect(w(2)).toBe(0xbeef);
    expect(w(3)).toBe((USTACK - 4) & 0xffff);
    expect(w(4)).toBe(SEL_UDATA);
  });
});

describe('call gate faults', () => {
  function userCall(setup: (m: Machine32) => void, user: number[] = callFar(GATE | 3)): Machine32 {
    const m = new Machine32();
    m.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 3));
    setup(m);
    m.load(KCODE, TO_USER);
    m.load(UCODE, user);
    m.load(KCODE + 0x200, [0xf4]);
    m.runToHalt();
    return m;
  }

  it('#GP(gate) when the gate DPL is below CPL', () => {
    const m = userCall((mm) => mm.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 0)));
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(GATE);
    expect(m.frame(1)).toBe(UCODE);
  });

  it('#NP(gate) when the gate is not present', () => {
    const m = userCall((mm) => mm.setDesc(FREE, callGate(SEL_KCODE, KCODE + 0x200, 3, 0, 32, false)));
    expect(m.stoppedVector()).toBe(11);
    expect(m.frame(0)).toBe(GATE);
  });

  it('#GP(target) for JMP through a gate to more privileged non-conforming code', () => {
    const m = userCall(() => undefined, jmpFar(GATE | 3));
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(SEL_KCODE);
  });

  it('#GP(target) when the gate names a data segment', () => {
    const m = userCall((mm) => mm.setDesc(FREE, callGate(SEL_KDATA, 0, 3)));
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(SEL_KDATA);
  });

  it('#TS(SS) when the TSS stack for the new level has the wrong DPL', () => {
    // Ring-1 target; exceptions still go to ring 0 with a good SS0.
    const m = userCall((mm) => {
      mm.setDesc(FREE, callGate(CODE2, KCODE + 0x200, 3));
      mm.setDesc(FREE + 1, desc(0, 0xffffffff, 0xba, 0xc)); // code, DPL 1
      mm.bus.write32(TSS + 12, KSTACK - 0x1000); // ESP1
      mm.bus.write32(TSS + 16, SEL_KDATA); // SS1 with DPL 0
    });
    expect(m.stoppedVector()).toBe(10);
    expect(m.frame(0)).toBe(SEL_KDATA);
    expect(m.frame(1)).toBe(UCODE);
    expect(m.frame(2)).toBe(SEL_UCODE);
  });

  it('#SS(SS) when the new stack has no room for the frame and parameters', () => {
    const m = userCall((mm) => {
      mm.setDesc(FREE, callGate(CODE2, KCODE + 0x200, 3, 4));
      mm.setDesc(FREE + 1, desc(0, 0xffffffff, 0xba, 0xc)); // code, DPL 1
      mm.setDesc(FREE + 2, desc(0, 0xffff, 0xb2, 0x4)); // data DPL 1, limit 64 KiB
      mm.bus.write32(TSS + 12, 0x10); // ESP1: 16 bytes, 32 needed
      mm.bus.write32(TSS + 16, (FREE + 2) * 8 + 1);
    });
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(0)).toBe((FREE + 2) * 8);
    expect(m.frame(1)).toBe(UCODE);
  });
});

describe('64-bit call gates', () => {
  it('CALL from CPL 3 switches to RSP0 with a null SS, pushes 8-byte slots, and RETFQ returns', () => {
    const m = new Machine64();
    // 16-byte call gate at 0x40, DPL 3, to the 64-bit kernel code.
    const target = KCODE64 + 0x300;
    const lo = BigInt(target & 0xffff) | (BigInt(0x08) << 16n) | (0xecn << 40n) | (BigInt(target >>> 16) << 48n);
    m.w64(0x5000 + 0x40, lo);
    m.w64(0x5000 + 0x48, 0n);
    m.cpu.gdtLimit = 0x4f;
    m.load(KCODE64, [
      0x66, 0xb8, ...le(SEL_TSS64, 2), 0x0f, 0x00, 0xd8, // ltr
      0x6a, SEL_UDATA64, 0x68, ...le(USTACK64, 4), 0x68, ...le(0x202, 4), 0x6a, SEL_UCODE64, 0x68, ...le(UCODE64, 4), 0x48, 0xcf,
    ]);
    m.load(UCODE64, [0xff, 0x1c, 0x25, ...le(UCODE64 + 0x100, 4), 0xf4]); // call far [UCODE+0x100]; hlt
    m.load(UCODE64 + 0x100, [...le(0, 4), ...le(0x43, 2)]);
    m.load(target, [0xf4, 0x48, 0xcb]); // hlt; retfq
    m.runToHalt();
    const c = m.cpu;
    expect(c.cpl).toBe(0);
    expect(c.sSel[2]).toBe(0); // null SS with RPL 0
    expect(m.rsp()).toBe(KSTACK64 - 32);
    expect(m.frame(0)).toBe(BigInt(UCODE64 + 7));
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE64));
    expect(m.frame(2)).toBe(BigInt(USTACK64));
    expect(m.frame(3)).toBe(BigInt(SEL_UDATA64));
    c.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13); // the user HLT after the return
    expect(m.frame(1)).toBe(BigInt(UCODE64 + 7));
    expect(m.frame(2)).toBe(BigInt(SEL_UCODE64));
    expect(m.frame(4)).toBe(BigInt(USTACK64));
  });

  it('refuses LTR of a 16-bit TSS in long mode with #GP(selector)', () => {
    const m = new Machine64();
    m.w64(0x5000 + SEL_TSS64, m.r64(0x5000 + SEL_TSS64) & ~(0xfn << 40n) | (1n << 40n)); // type 1
    m.load(KCODE64, [0x66, 0xb8, ...le(SEL_TSS64, 2), 0x0f, 0x00, 0xd8]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(BigInt(SEL_TSS64));
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 4));
  });

  it('refuses task switches in long mode with #GP(selector)', () => {
    const m = new Machine64();
    m.load(KCODE64, [0xff, 0x2c, 0x25, ...le(KCODE64 + 0x100, 4)]); // jmp far [KCODE+0x100]
    m.load(KCODE64 + 0x100, [...le(0, 4), ...le(SEL_TSS64, 2)]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(BigInt(SEL_TSS64));
  });
});
