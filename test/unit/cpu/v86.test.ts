// Virtual-8086 mode entered by IRETD from ring 0 (Intel SDM vol. 3B ch. 20, 80386 manual
// ch. 15): CPL 3 with real-mode style segments; CLI, STI, PUSHF, POPF, INT n and IRET trap to
// the monitor with #GP(0) when IOPL < 3 (INT3 does not); with IOPL 3 they act directly, INT n
// goes through the protected-mode IDT with the v86 frame (ES/DS/FS/GS pushed and zeroed) and
// IRETD returns to v86; IN/OUT always consult the TSS I/O bitmap; SYSENTER leaves v86.
import { describe, expect, it } from 'vitest';
import {
  ACC_CODE, ACC_TSS32, DATA, FREE, KCODE, KSTACK, Machine32, SEL_KCODE, TSS, desc, le,
} from './helpers/machine32.ts';

const VM = 0x20000;
const IF = 0x200;
const IOPL3 = 0x3000;
const CS86 = 0x2000; // code and stack at linear 0x20000 (the machine's UCODE area)
const IP = 0x100;
const SP = 0x8000;
const ES86 = 0x1000, DS86 = 0x4000, FS86 = 0x1200, GS86 = 0x1300; // DS base = DATA
const LIN = (seg: number, off: number): number => seg * 16 + off;

/** Kernel code: IRETD to virtual-8086 mode at CS86:IP with SS86:SP and the given EFLAGS. */
function enterV86(flags: number): number[] {
  const push = (v: number): number[] => [0x68, ...le(v, 4)];
  return [...push(GS86), ...push(FS86), ...push(DS86), ...push(ES86), ...push(CS86), ...push(SP),
    ...push(flags | VM | 2), ...push(CS86), ...push(IP), 0xcf];
}

function v86(flags: number, code: number[]): Machine32 {
  const m = new Machine32();
  m.load(KCODE, enterV86(flags));
  m.load(LIN(CS86, IP), code);
  return m;
}

/** The monitor's frame after an event with an error code: [code] EIP CS EFLAGS ESP SS ES DS FS GS. */
function expectV86Frame(m: Machine32, withCode: boolean, eip: number): void {
  const k = withCode ? 1 : 0;
  expect(m.esp()).toBe(KSTACK - 36 - 4 * k);
  expect(m.frame(k)).toBe(eip);
  expect(m.frame(k + 1)).toBe(CS86);
  expect(m.frame(k + 2) & VM).toBe(VM);
  expect(m.frame(k + 3)).toBe(SP);
  expect(m.frame(k + 4)).toBe(CS86);
  expect([m.frame(k + 5), m.frame(k + 6), m.frame(k + 7), m.frame(k + 8)]).toEqual([ES86, DS86, FS86, GS86]);
  // The handler runs at ring 0 with the data segments nulled and VM clear.
  expect(m.cpu.cpl).toBe(0);
  expect(m.cpu.flags & VM).toBe(0);
  expect([m.cpu.sSel[0], m.cpu.sSel[3], m.cpu.sSel[4], m.cpu.sSel[5]]).toEqual([0, 0, 0, 0]);
}

describe('entering virtual-8086 mode', () => {
  it('IRETD with VM set runs 16-bit code at CPL 3 with base = selector * 16; HLT traps to the monitor', () => {
    const m = v86(0, [0xa1, 0x10, 0x00, 0xbb, 0x34, 0x12, 0xf4]); // mov ax, [0x10]; mov bx, 0x1234; hlt
    m.bus.write16(DATA + 0x10, 0xbeef);
    m.runToHalt();
    expect(m.reg(0) & 0xffff).toBe(0xbeef); // DS 0x4000 -> linear 0x40010
    expect(m.reg(3) & 0xffff).toBe(0x1234);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expectV86Frame(m, true, IP + 6);
    expect(m.frame(3) & IOPL3).toBe(0);
  });
});

describe('IOPL-sensitive instructions', () => {
  const SENSITIVE: [string, number[]][] = [
    ['CLI', [0xfa]], ['STI', [0xfb]], ['PUSHF', [0x9c]], ['POPF', [0x9d]], ['PUSHFD', [0x66, 0x9c]],
    ['POPFD', [0x66, 0x9d]], ['INT n', [0xcd, 0x40]], ['IRET', [0xcf]], ['IRETD', [0x66, 0xcf]],
  ];
  for (const iopl of [0, 2]) {
    it.each(SENSITIVE)(`%s with IOPL ${iopl} is #GP(0) to the monitor, nothing changed`, (_name, code) => {
      const m = v86((iopl << 12) | IF, [...code, 0xf4]);
      m.setIdt(0x40, KCODE + 0x300, 3, 0xe); // INT 0x40 would be allowed by the gate itself
      m.load(KCODE + 0x300, [0xf4]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(13);
      expect(m.frame(0)).toBe(0);
      expectV86Frame(m, true, IP); // at the instruction, the stack untouched
      expect(m.frame(3) & (IF | IOPL3)).toBe(IF | (iopl << 12));
    });
  }

  it('with IOPL 3, CLI/STI/PUSHF/POPF work on IF; PUSHFD stores neither VM nor RF; POPF keeps IOPL', () => {
    const m = v86(IOPL3 | IF, [
      0xfa, // cli
      0x66, 0x9c, 0x66, 0x58, // pushfd; pop eax
      0xfb, // sti
      0x9c, 0x5b, // pushf; pop bx
      0x6a, 0x00, 0x9d, // push 0; popf (tries IOPL 0, IF 0)
      0x9c, 0x59, // pushf; pop cx
      0xcd, 0x40, // int 0x40 to a HLT stub
    ]);
    m.setIdt(0x40, 0x30000 + 0x40 * 16, 3, 0xe);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(0x40);
    const eax = m.reg(0), bx = m.reg(3) & 0xffff, cx = m.reg(1) & 0xffff;
    expect(eax & (VM | 0x10000)).toBe(0);
    expect(eax & (IF | IOPL3)).toBe(IOPL3);
    expect(bx & (IF | IOPL3)).toBe(IF | IOPL3);
    expect(cx & (IF | IOPL3)).toBe(IOPL3);
    expect(m.frame(2) & (VM | IF | IOPL3)).toBe(VM | IOPL3);
  });
});

describe('IRET inside virtual-8086 mode', () => {
  it('with IOPL 3 pops a real-mode frame and stays in v86 (IOPL and VM unchanged)', () => {
    const m = v86(IOPL3, [
      0x68, 0x00, 0x00, // push word 0 (FLAGS: IOPL 0, IF 0)
      0x68, ...le(0x2100, 2), // push word 0x2100 (CS)
      0x68, ...le(0x0010, 2), // push word 0x10 (IP)
      0xcf, // iret -> 0x2100:0x0010 = linear 0x21010
    ]);
    m.load(0x21010, [0xb8, 0x99, 0x00, 0xf4]); // mov ax, 0x99; hlt
    m.runToHalt();
    expect(m.reg(0) & 0xffff).toBe(0x99);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(0x13);
    expect(m.frame(2)).toBe(0x2100);
    expect(m.frame(3) & (VM | IOPL3)).toBe(VM | IOPL3);
    expect(m.frame(4)).toBe(SP);
  });
});

describe('software interrupts from virtual-8086 mode', () => {
  it('INT n with IOPL 3 goes through the IDT with the v86 frame; IRETD returns to v86 with the segments back', () => {
    const m = v86(IOPL3, [
      0xb8, 0x11, 0x11, // mov ax, 0x1111
      0xcd, 0x40, // int 0x40
      0x8c, 0xd9, // mov cx, ds
      0x8b, 0x16, 0x10, 0x00, // mov dx, [0x10]
      0xf4,
    ]);
    m.bus.write16(DATA + 0x10, 0xd00d);
    m.setIdt(0x40, KCODE + 0x300, 3, 0xe);
    m.load(KCODE + 0x300, [0xf4, 0xcf]); // hlt; iretd
    m.runToHalt();
    expect(m.cpu.rip).toBe(KCODE + 0x301);
    expect(m.cpu.sSel[1]).toBe(SEL_KCODE);
    expectV86Frame(m, false, IP + 5);
    expect(m.frame(2) & (IOPL3 | IF)).toBe(IOPL3);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.reg(1) & 0xffff).toBe(DS86);
    expect(m.reg(2) & 0xffff).toBe(0xd00d);
    expect(m.stoppedVector()).toBe(13); // the final HLT, back at CPL 3 in v86
    expectV86Frame(m, true, IP + 11);
  });

  it('INT n from v86 needs a DPL 3 gate to ring-0 code: #GP(vector*8+2) and #GP(CS selector) otherwise', () => {
    const gate0 = v86(IOPL3, [0xcd, 0x41]);
    gate0.runToHalt(); // the machine's gates are DPL 0
    expect(gate0.stoppedVector()).toBe(13);
    expect(gate0.frame(0)).toBe(0x41 * 8 + 2);
    expect(gate0.frame(1)).toBe(IP);

    const ring3 = v86(IOPL3, [0xcd, 0x42]);
    const sel = FREE * 8;
    ring3.setDesc(FREE, desc(0, 0xffffffff, ACC_CODE | 0x60, 0xc)); // DPL 3 code
    ring3.setIdt(0x42, KCODE + 0x300, 3, 0xe, sel | 3);
    ring3.runToHalt();
    expect(ring3.stoppedVector()).toBe(13);
    expect(ring3.frame(0)).toBe(sel);
    expect(ring3.frame(1)).toBe(IP);
  });

  it('INT3 is not IOPL-sensitive: with IOPL 0 it reaches a DPL 3 gate', () => {
    const m = v86(0, [0x90, 0xcc]);
    m.setIdt(3, 0x30000 + 3 * 16, 3, 0xe);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3);
    expectV86Frame(m, false, IP + 2);
  });

  it('a monitor can emulate CLI and STI: its #GP handler skips them and IRETDs back to v86', () => {
    const m = v86(IF, [0xfa, 0xfb, 0xb8, 0x77, 0x00, 0xcc]); // cli; sti; mov ax, 0x77; int3
    m.setIdt(3, 0x30000 + 3 * 16, 3, 0xe);
    m.setIdt(13, KCODE + 0x400, 0, 0xe);
    m.load(KCODE + 0x400, [
      0x83, 0xc4, 0x04, // add esp, 4 (the error code)
      0xff, 0x04, 0x24, // inc dword [esp] (EIP past the one-byte instruction)
      0x36, 0xff, 0x05, ...le(DATA + 0x100, 4), // inc dword ss:[count] (DS is null here)
      0xcf, // iretd
    ]);
    m.runToHalt();
    expect(m.bus.read32(DATA + 0x100)).toBe(2);
    expect(m.reg(0) & 0xffff).toBe(0x77);
    expect(m.stoppedVector()).toBe(3);
    expectV86Frame(m, false, IP + 6);
  });
});

describe('I/O from virtual-8086 mode', () => {
  /** A TSS with an I/O bitmap for ports 0-0x3FF that allows only `allowed`. */
  function withBitmap(m: Machine32, allowed: number[]): void {
    const bytes = 0x80;
    const limit = 0x68 + bytes; // the byte after the bitmap is part of the TSS
    for (let i = 0; i <= bytes; i++) m.bus.write8(TSS + 0x68 + i, 0xff);
    for (const p of allowed) m.bus.write8(TSS + 0x68 + (p >> 3), m.bus.read8(TSS + 0x68 + (p >> 3)) & ~(1 << (p & 7)));
    m.bus.write16(TSS + 0x66, 0x68);
    m.setDesc(5, desc(TSS, limit, ACC_TSS32 | 2, 0));
    m.cpu.sLimit[7] = limit;
  }

  function ioMachine(iopl: number, code: number[]): { m: Machine32; out: number[] } {
    const m = v86(iopl << 12, code);
    const out: number[] = [];
    m.io.register(0x80, 1, { read: () => 0xff, write: (_p, _s, v) => { out.push(v); } }, 'post');
    m.io.register(0x70, 4, { read: (p, s) => (s === 2 ? 0x3412 : 0x10 + p - 0x70), write: () => {} }, 'rtc');
    m.io.register(0x60, 1, { read: () => 0x99, write: () => {} }, 'kbd');
    withBitmap(m, [0x80, 0x70, 0x71]);
    return { m, out };
  }

  for (const iopl of [0, 3]) {
    it(`with IOPL ${iopl}, IN and OUT are allowed exactly where the bitmap's bits are clear`, () => {
      const code = [
        0xb0, 0x5a, 0xe6, 0x80, // mov al, 0x5a; out 0x80, al
        0xe5, 0x70, 0x89, 0xc3, // in ax, 0x70; mov bx, ax
        0xe4, 0x60, // in al, 0x60: denied
      ];
      const { m, out } = ioMachine(iopl, code);
      m.runToHalt();
      expect(out).toEqual([0x5a]);
      expect(m.reg(3) & 0xffff).toBe(0x3412);
      expect(m.stoppedVector()).toBe(13);
      expect(m.frame(0)).toBe(0);
      expect(m.frame(1)).toBe(IP + 8);
    });
  }

  it('a word access needs every port\'s bit clear, and ports past the bitmap are denied', () => {
    const word = ioMachine(3, [0xe5, 0x71]); // in ax, 0x71: 0x72 is not allowed
    word.m.runToHalt();
    expect(word.m.stoppedVector()).toBe(13);
    expect(word.m.frame(1)).toBe(IP);

    const far = ioMachine(3, [0xba, 0x00, 0x04, 0xee]); // mov dx, 0x400; out dx, al
    far.m.io.register(0x400, 1, { read: () => 0, write: (_p, _s, v) => { far.out.push(v); } }, 'far');
    far.m.runToHalt();
    expect(far.m.stoppedVector()).toBe(13);
    expect(far.m.frame(1)).toBe(IP + 3);
    expect(far.out).toEqual([]);
  });
});

describe('SYSENTER from virtual-8086 mode', () => {
  it('leaves v86 for flat ring-0 code with VM and IF clear', () => {
    const m = v86(IF, [0x0f, 0x34]);
    m.cpu.sysenterCs = SEL_KCODE;
    m.cpu.sysenterEsp = KSTACK - 0x80;
    m.cpu.sysenterEip = KCODE + 0x500;
    m.load(KCODE + 0x500, [0xf4]);
    m.runToHalt();
    expect(m.cpu.rip).toBe(KCODE + 0x501);
    expect(m.cpu.flags & (VM | IF)).toBe(0);
    expect(m.cpu.cpl).toBe(0);
    expect(m.cpu.codeMode).toBe(32);
    expect(m.esp()).toBe(KSTACK - 0x80);
  });
});
