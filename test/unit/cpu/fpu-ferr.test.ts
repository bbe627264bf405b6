// x87 errors with CR0.NE clear (MS-DOS compatibility) on the assembled PC: an unmasked
// exception drives FERR#, the board latches IRQ 13 into the slave 8259 (vector 75h here), the
// handler's write to port F0h clears it and asserts IGNNE#, FNCLEX releases both. A waiting
// x87 instruction reached while the exception is still pending and IGNNE# is off freezes the
// CPU until an interrupt; the handler's IRET comes back to it.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { Machine } from '../../../src-core/engine/machine.ts';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

const IRQ13_VECTOR = 0x75;
const COUNT = 0x500, RET_IP = 0x504, HANDLER_SW = 0x508, CW = 0x510, AFTER = 0x520, MAIN_SW = 0x530;
const ORG = 0x7c00;

function pc(): { m: Machine; cpu: Cpu } {
  const m = new Machine({
    memoryMiB: 16,
    clock: { kind: 'deterministic', nsPerInstruction: 1 },
    createCpu: ({ memory, io }) => new Cpu(memory, io),
  });
  // 8259s: master at 08h, slave at 70h (as a PC BIOS leaves them); only IRQ 2 and 13 open.
  for (const [port, v] of [[0x20, 0x11], [0x21, 0x08], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x70], [0xa1, 0x02], [0xa1, 0x01]]) {
    m.io.write(port!, 1, v!);
  }
  m.io.write(0x21, 1, 0xfb);
  m.io.write(0xa1, 1, 0xdf);
  m.memory.write16(CW, 0x37b); // divide-by-zero unmasked
  return { m, cpu: m.cpus[0] as Cpu };
}

/** Real-mode handler: count, note the return IP and the status word, OUT F0h, optionally
 * FNCLEX, EOI both 8259s, IRET. */
function realHandler(fnclex: boolean): number[] {
  return [
    0xff, 0x06, ...w16(COUNT), // inc word [COUNT]
    0x89, 0xe5, 0x8b, 0x46, 0x00, 0xa3, ...w16(RET_IP), // mov bp, sp; mov ax, [bp]; mov [RET_IP], ax
    0xdd, 0x3e, ...w16(HANDLER_SW), // fnstsw [HANDLER_SW]
    0xe6, 0xf0, // out 0F0h, al
    ...(fnclex ? [0xdb, 0xe2] : []),
    0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, // EOI slave, master
    0xcf,
  ];
}

function w16(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff];
}

/** fninit; fldcw [CW]; fld1; fldz; fdivp: 1/0 leaves an unmasked ZE pending (stack: 0, 1). */
const DIVIDE_BY_ZERO = [0xdb, 0xe3, 0xd9, 0x2e, ...w16(CW), 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9];

function realMode(m: Machine, cpu: Cpu, main: number[], handler: number[]): void {
  m.memory.write16(IRQ13_VECTOR * 4, 0x600);
  m.memory.write16(IRQ13_VECTOR * 4 + 2, 0);
  m.memory.writeBytes(0x600, new Uint8Array(handler));
  m.memory.writeBytes(ORG, new Uint8Array(main));
  cpu.setBootState({ mode: 'real', rip: ORG, rsp: 0x7000, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
  expect(cpu.cr0 & 0x20).toBe(0); // NE clear
}

describe('FERR# and IRQ 13 (CR0.NE clear)', () => {
  it('raises IRQ 13 as soon as an instruction leaves an unmasked exception pending; the handler returns after it', () => {
    const { m, cpu } = pc();
    const main = [0xfb, ...DIVIDE_BY_ZERO, 0x90, 0xd9, 0xe8, 0xf4]; // sti; ...; nop; fld1; hlt
    realMode(m, cpu, main, realHandler(true));
    m.runSync({ maxInstructions: 10000 });
    expect(cpu.halted).toBe(true);
    expect(cpu.rip).toBe(ORG + main.length);
    expect(m.memory.read16(COUNT)).toBe(1);
    expect(m.memory.read16(RET_IP)).toBe(ORG + 1 + DIVIDE_BY_ZERO.length); // the NOP after FDIVP
    expect(m.memory.read16(HANDLER_SW) & 0x84).toBe(0x84); // ES and ZE in the handler
    expect(cpu.fpu.sw & 0x80).toBe(0); // cleared by the handler's FNCLEX
    expect(cpu.fpu.top).toBe(5); // 1, 0, then FLD1 ran after the handler
    expect(m.fpuError.ignne).toBe(false); // IGNNE# dropped with FERR#
  });

  it('freezes a waiting x87 instruction while IRQ 13 is masked and runs it after the handler', () => {
    const { m, cpu } = pc();
    m.io.write(0xa1, 1, 0xff); // IRQ 13 masked for now
    const main = [0xfb, ...DIVIDE_BY_ZERO, 0x90, 0xd9, 0xe8, 0xc6, 0x06, ...w16(AFTER), 0x01, 0xf4]; // ...; fld1; mov byte [AFTER], 1; hlt
    const fld1 = ORG + 1 + DIVIDE_BY_ZERO.length + 1;
    realMode(m, cpu, main, realHandler(true));
    expect(m.runSync({ maxInstructions: 10000 })).toBe('stopped');
    expect(cpu.halted).toBe(true);
    expect(cpu.rip).toBe(fld1); // frozen before FLD1
    expect(cpu.fpu.top).toBe(6); // FLD1 has not run
    expect(m.memory.read8(AFTER)).toBe(0);
    expect(m.memory.read16(COUNT)).toBe(0);
    m.io.write(0xa1, 1, 0xdf); // unmask: the latched IRQ 13 is delivered
    m.runSync({ maxInstructions: 10000 });
    expect(m.memory.read16(COUNT)).toBe(1);
    expect(m.memory.read16(RET_IP)).toBe(fld1);
    expect(cpu.fpu.top).toBe(5);
    expect(m.memory.read8(AFTER)).toBe(1);
    expect(cpu.rip).toBe(ORG + main.length);
  });

  it('resumes a frozen CPU from a machine snapshot: the latched IRQ 13 and the pending exception survive', () => {
    const { m, cpu } = pc();
    m.io.write(0xa1, 1, 0xff);
    const main = [0xfb, ...DIVIDE_BY_ZERO, 0x90, 0xd9, 0xe8, 0xf4];
    const fld1 = ORG + 1 + DIVIDE_BY_ZERO.length + 1;
    realMode(m, cpu, main, realHandler(true));
    m.runSync({ maxInstructions: 10000 });
    expect(cpu.rip).toBe(fld1);
    const snap = structuredClone(m.saveState());
    const b = pc();
    b.m.loadState(snap);
    expect(b.cpu.halted).toBe(true);
    expect(b.cpu.fpu.ferr).toBe(true);
    b.m.io.write(0xa1, 1, 0xdf);
    b.m.runSync({ maxInstructions: 10000 });
    expect(b.m.memory.read16(COUNT)).toBe(1);
    expect(b.m.memory.read16(RET_IP)).toBe(fld1);
    expect(b.cpu.rip).toBe(ORG + main.length);
    expect(b.cpu.fpu.sw & 0x80).toBe(0);
  });

  it('lets x87 instructions run past a pending exception while IGNNE# is asserted, until FNCLEX drops FERR#', () => {
    const { m, cpu } = pc();
    const main = [
      0xfb, ...DIVIDE_BY_ZERO, 0x90, // IRQ 13; the handler leaves ES set (no FNCLEX)
      0xd9, 0xe8, // fld1: runs, IGNNE# is asserted
      0xdd, 0x3e, ...w16(MAIN_SW), // fnstsw [MAIN_SW]
      0xdb, 0xe2, // fnclex: FERR# and IGNNE# drop
      0xd9, 0xee, 0xde, 0xf9, 0x90, // fldz; fdivp: FERR# again, a second IRQ 13
      0xf4,
    ];
    realMode(m, cpu, main, realHandler(false));
    m.runSync({ maxInstructions: 10000 });
    expect(cpu.rip).toBe(ORG + main.length);
    expect(m.memory.read16(MAIN_SW) & 0x84).toBe(0x84); // still pending when FLD1 ran
    expect(m.memory.read16(COUNT)).toBe(2);
    expect(m.fpuError.ignne).toBe(true); // the second handler's OUT with FERR# still active
  });

  it('delivers IRQ 13 through a protected-mode IDT gate', () => {
    const { m, cpu } = pc();
    const GDT = 0x1000, IDT = 0x2000;
    m.memory.write32(GDT + 8, 0x0000ffff); m.memory.write32(GDT + 12, 0x00cf9a00); // flat code
    m.memory.write32(GDT + 16, 0x0000ffff); m.memory.write32(GDT + 20, 0x00cf9200); // flat data
    const handler = 0x3000;
    m.memory.write32(IDT + IRQ13_VECTOR * 8, (0x08 << 16) | handler);
    m.memory.write32(IDT + IRQ13_VECTOR * 8 + 4, 0x8e00); // 32-bit interrupt gate
    m.memory.writeBytes(handler, new Uint8Array([
      0xff, 0x05, ...w16(COUNT), 0, 0, // inc dword [COUNT]
      0x8b, 0x04, 0x24, 0xa3, ...w16(RET_IP), 0, 0, // mov eax, [esp]; mov [RET_IP], eax
      0xe6, 0xf0, 0xdb, 0xe2, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0xcf,
    ]));
    const main = [0xfb, 0xdb, 0xe3, 0xd9, 0x2d, ...w16(CW), 0, 0, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0x90, 0xd9, 0xe8, 0xf4];
    const code = 0x8000;
    m.memory.writeBytes(code, new Uint8Array(main));
    cpu.setBootState({
      mode: 'protected32', rip: code, rsp: 0x7000, cr0: 0x11,
      gdt: { base: GDT, limit: 0x17 }, idt: { base: IDT, limit: 0x7ff },
      cs: { selector: 0x08, base: 0, limit: 0xffffffff, attributes: 0xc09b },
      data: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    });
    m.runSync({ maxInstructions: 10000 });
    expect(cpu.rip).toBe(code + main.length);
    expect(m.memory.read32(COUNT)).toBe(1);
    expect(m.memory.read32(RET_IP)).toBe(code + main.indexOf(0x90));
    expect(cpu.fpu.sw & 0x80).toBe(0);
  });

  it('raises #MF instead, and no IRQ 13, with CR0.NE set', () => {
    const { m, cpu } = pc();
    const main = [0xfb, ...DIVIDE_BY_ZERO, 0x90, 0xd9, 0xe8, 0xf4];
    realMode(m, cpu, main, realHandler(true));
    m.memory.write16(16 * 4, 0x700); // #MF handler: hlt
    m.memory.write8(0x700, 0xf4);
    cpu.cr0 |= 0x20;
    m.runSync({ maxInstructions: 10000 });
    expect(cpu.rip).toBe(0x701);
    expect(m.memory.read16(COUNT)).toBe(0);
    expect(m.memory.read16(0x7000 - 6)).toBe(ORG + 1 + DIVIDE_BY_ZERO.length + 1); // at FLD1
  });
});

describe('MMX instructions and pending x87 exceptions', () => {
  it('raise #MF at an MMX instruction while an unmasked exception is pending (CR0.NE set)', () => {
    const m = new Machine64();
    m.bus.write16(DATA, 0x37b);
    const pre = [0xb8, ...le(DATA, 4), 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9]; // mov eax; fninit; fldcw [rax]; fld1; fldz; fdivp
    m.load(KCODE, [...pre, 0x0f, 0x6f, 0xc1, 0xf4]); // movq mm0, mm1
    m.runToHalt();
    expect(m.stoppedVector()).toBe(16);
    expect(Number(m.frame(0))).toBe(KCODE + pre.length);
  });
});
