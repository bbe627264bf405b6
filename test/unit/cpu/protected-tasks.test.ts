// Hardware task switches: CALL and JMP to TSS descriptors and task gates, IRET with NT back
// to the caller, busy bits, back link, CR0.TS, CR3 and LDT loads, 16-bit TSSes, a double
// fault handled by a task gate (with its error code on the new task's stack), and the #GP /
// #TS cases for busy, bad or too-small TSSes.
import { describe, expect, it } from 'vitest';
import {
  ACC_DATA, ACC_TSS32, FREE, GDT, KCODE, KSTACK, Machine32, SEL_KCODE, SEL_KDATA, SEL_TSS, TSS, desc, le, taskGate,
} from './helpers/machine32.ts';

const TSS2 = 0x7100;
const SEL2 = FREE * 8; // 0x30
const SEL3 = SEL2 + 8; // 0x38: a second TSS or a gate
const TASK2 = KCODE + 0x400;
const STACK2 = KSTACK - 0x2000;
const callFar = (sel: number): number[] => [0x9a, 0, 0, 0, 0, ...le(sel, 2)];
const jmpFar = (sel: number): number[] => [0xea, 0, 0, 0, 0, ...le(sel, 2)];

interface TaskSetup { eip: number; esp: number; eax?: number; flags?: number; ds?: number; ldt?: number; cr3?: number }

function writeTss32(m: Machine32, base: number, t: TaskSetup): void {
  m.bus.write32(base + 0x1c, t.cr3 ?? 0);
  m.bus.write32(base + 0x20, t.eip);
  m.bus.write32(base + 0x24, t.flags ?? 2);
  m.bus.write32(base + 0x28, t.eax ?? 0);
  m.bus.write32(base + 0x38, t.esp);
  const segs = [t.ds ?? SEL_KDATA, SEL_KCODE, SEL_KDATA, t.ds ?? SEL_KDATA, 0, 0];
  segs.forEach((s, i) => m.bus.write16(base + 0x48 + 4 * i, s));
  m.bus.write16(base + 0x60, t.ldt ?? 0);
}

function withTask2(t: Partial<TaskSetup> = {}): Machine32 {
  const m = new Machine32();
  m.setDesc(FREE, desc(TSS2, 0x67, ACC_TSS32, 0));
  writeTss32(m, TSS2, { eip: TASK2, esp: STACK2, eax: 0xa, ...t });
  return m;
}

const typeOf = (m: Machine32, sel: number): number => (m.bus.read32(GDT + sel + 4) >> 8) & 0xf;

describe('CALL and IRET between tasks', () => {
  it('CALL to a TSS saves the caller, links back, sets NT/busy/TS; IRET returns to the caller', () => {
    const m = withTask2();
    const code = [0xb8, ...le(0x11111111, 4), ...callFar(SEL2), 0xf4];
    m.load(KCODE, code);
    m.load(TASK2, [0xf4, 0xcf]); // hlt; iret
    m.runToHalt();
    const c = m.cpu;
    expect(c.sSel[7]).toBe(SEL2);
    expect(c.rip).toBe(TASK2 + 1);
    expect(m.reg(0)).toBe(0xa);
    expect(m.esp()).toBe(STACK2);
    expect(c.flags & 0x4000).toBe(0x4000); // NT
    expect(c.cr0 & 8).toBe(8); // TS
    expect(m.bus.read16(TSS2)).toBe(SEL_TSS); // back link
    expect(typeOf(m, SEL2)).toBe(0xb); // busy
    expect(typeOf(m, SEL_TSS)).toBe(0xb); // the caller stays busy
    expect(m.bus.read32(TSS + 0x20)).toBe(KCODE + 12); // caller's EIP: after the CALL
    expect(m.bus.read32(TSS + 0x28)).toBe(0x11111111); // caller's EAX
    expect(m.bus.read32(TSS + 0x38)).toBe(KSTACK);
    expect(m.bus.read16(TSS + 0x4c)).toBe(SEL_KCODE);

    c.halted = false;
    m.runToHalt();
    expect(c.sSel[7]).toBe(SEL_TSS);
    expect(c.rip).toBe(KCODE + 13); // the caller's HLT
    expect(m.reg(0)).toBe(0x11111111);
    expect(m.esp()).toBe(KSTACK);
    expect(c.flags & 0x4000).toBe(0);
    expect(typeOf(m, SEL2)).toBe(9); // IRET freed the callee
    expect(m.bus.read32(TSS2 + 0x20)).toBe(TASK2 + 2); // callee saved after its IRET
    expect(m.bus.read32(TSS2 + 0x24) & 0x4000).toBe(0); // with NT clear
  });

  it('JMP to a TSS frees the old task, marks the new one busy, and links nothing', () => {
    const m = withTask2();
    m.load(KCODE, jmpFar(SEL2));
    m.load(TASK2, [0xf4]);
    m.runToHalt();
    expect(m.cpu.sSel[7]).toBe(SEL2);
    expect(typeOf(m, SEL_TSS)).toBe(9);
    expect(typeOf(m, SEL2)).toBe(0xb);
    expect(m.bus.read16(TSS2)).toBe(0);
    expect(m.cpu.flags & 0x4000).toBe(0);
  });

  it('CALL through a task gate in the GDT switches to the gate\'s TSS', () => {
    const m = withTask2();
    m.setDesc(FREE + 1, taskGate(SEL2));
    m.load(KCODE, callFar(SEL3));
    m.load(TASK2, [0xf4]);
    m.runToHalt();
    expect(m.cpu.sSel[7]).toBe(SEL2);
    expect(m.bus.read16(TSS2)).toBe(SEL_TSS);
  });

  it('loads the new task\'s LDT and its segments from it', () => {
    const LDT = 0x7800;
    const m = withTask2({ ldt: SEL3, ds: 0x0c }); // DS = LDT entry 1
    m.setDesc(FREE + 1, desc(LDT, 0x0f, 0x82, 0));
    m.w64(LDT + 8, desc(0x1000, 0xffff, ACC_DATA));
    m.load(KCODE, callFar(SEL2));
    m.load(TASK2, [0xf4]);
    m.runToHalt();
    expect(m.cpu.sSel[6]).toBe(SEL3);
    expect(m.cpu.sBase[6]).toBe(LDT);
    expect(m.cpu.sSel[3]).toBe(0x0c);
    expect(m.cpu.sBase[3]).toBe(0x1000);
    expect(m.cpu.sLimit[3]).toBe(0xffff);
  });

  it('loads CR3 from a 32-bit TSS when paging is on', () => {
    const PD1 = 0x100000, PD2 = 0x101000;
    const m = withTask2({ cr3: PD2 });
    for (const pd of [PD1, PD2]) m.bus.write32(pd, 0x83); // one 4 MiB identity page
    const c = m.cpu;
    c.cr4 |= 0x10; // PSE
    c.cr3 = PD1;
    c.cr0 |= 0x80000000;
    c.tlbFlushAll();
    m.load(KCODE, callFar(SEL2));
    m.load(TASK2, [0xf4]);
    m.runToHalt();
    expect(c.sSel[7]).toBe(SEL2);
    expect(c.cr3).toBe(PD2);
  });

  it('switches to a 16-bit TSS (type 1) with its own field layout', () => {
    const m = new Machine32();
    const T16 = 0x7200;
    m.setDesc(FREE, desc(T16, 0x2b, 0x81, 0));
    m.bus.write16(T16 + 0x0e, 0x400); // IP (CS base 0: use a 16-bit code segment based at KCODE)
    m.bus.write16(T16 + 0x10, 2); // FLAGS
    m.bus.write16(T16 + 0x12, 0x1234); // AX
    m.bus.write16(T16 + 0x1a, 0x3000); // SP
    m.bus.write16(T16 + 0x22, SEL_KDATA); // ES
    m.bus.write16(T16 + 0x24, SEL3); // CS
    m.bus.write16(T16 + 0x26, SEL_KDATA); // SS
    m.bus.write16(T16 + 0x28, SEL_KDATA); // DS
    m.setDesc(FREE + 1, desc(KCODE, 0xffff, 0x9a, 0)); // 16-bit code
    m.load(KCODE, callFar(SEL2));
    m.load(KCODE + 0x400, [0xf4]);
    m.runToHalt();
    const c = m.cpu;
    expect(c.sSel[7]).toBe(SEL2);
    expect(c.codeMode).toBe(16);
    expect(c.rip).toBe(0x401);
    expect(m.reg(0) & 0xffff).toBe(0x1234);
    expect(m.reg(4) & 0xffff).toBe(0x3000);
    expect(m.bus.read16(T16)).toBe(SEL_TSS);
    expect(typeOf(m, SEL2)).toBe(3); // busy 16-bit TSS
  });
});

describe('virtual-8086 tasks', () => {
  it('switches to a task with EFLAGS.VM set: real-mode style segments at CPL 3, then INT back to ring 0', () => {
    const m = withTask2({ eip: 0x100, esp: 0x800, flags: 0x23002 }); // VM, IOPL 3
    for (let i = 0; i < 6; i++) m.bus.write16(TSS2 + 0x48 + 4 * i, 0x2000); // ES CS SS DS FS GS
    m.bus.write32(TSS2 + 4, KSTACK); // the task's own ring-0 stack for the INT
    m.bus.write32(TSS2 + 8, SEL_KDATA);
    m.setIdt(0x42, KCODE + 0x300, 3, 0xe);
    m.load(0x20100, [0xb8, 0x34, 0x12, 0xcd, 0x42]); // mov ax, 0x1234; int 0x42 (16-bit code)
    m.load(KCODE + 0x300, [0xf4]);
    m.load(KCODE, jmpFar(SEL2));
    m.runToHalt();
    const c = m.cpu;
    expect(c.sSel[7]).toBe(SEL2);
    expect(c.cpl).toBe(0);
    expect(m.reg(0) & 0xffff).toBe(0x1234);
    // Ring-0 frame from virtual-8086 mode: EIP CS EFLAGS ESP SS ES DS FS GS.
    expect(m.esp()).toBe(KSTACK - 36);
    expect(m.frame(0)).toBe(0x105);
    expect(m.frame(1)).toBe(0x2000);
    expect(m.frame(2) & 0x20000).toBe(0x20000);
    expect(m.frame(3)).toBe(0x800);
    for (let i = 4; i < 9; i++) expect(m.frame(i)).toBe(0x2000);
    expect(c.sSel[3]).toBe(0); // data segments nulled for the handler
  });
});

describe('task gates in the IDT', () => {
  it('handles a double fault in its own task, with error code 0 on the new stack', () => {
    const m = withTask2();
    m.setIdt(8, 0, 0, 0x5, SEL2);
    m.setIdt(13, 0, 0, 0xe, SEL_KCODE, false); // #GP gate not present: #GP then #NP = #DF
    m.load(KCODE, [0x66, 0xb8, 0x00, 0x02, 0x8e, 0xd8]); // mov ax, 0x200; mov ds, ax (beyond the GDT)
    m.load(TASK2, [0xf4]);
    m.runToHalt();
    const c = m.cpu;
    expect(c.sSel[7]).toBe(SEL2);
    expect(c.rip).toBe(TASK2 + 1);
    expect(m.esp()).toBe(STACK2 - 4);
    expect(m.frame(0)).toBe(0); // #DF error code
    expect(m.bus.read16(TSS2)).toBe(SEL_TSS);
    expect(m.bus.read32(TSS + 0x20)).toBe(KCODE + 4); // the faulting MOV DS
    expect(c.flags & 0x4000).toBe(0x4000);
  });

  it('INT n through a task gate saves the next EIP and pushes no error code', () => {
    const m = withTask2();
    m.setIdt(0x41, 0, 0, 0x5, SEL2);
    m.load(KCODE, [0xcd, 0x41, 0xf4]);
    m.load(TASK2, [0xf4, 0xcf]);
    m.runToHalt();
    expect(m.cpu.sSel[7]).toBe(SEL2);
    expect(m.esp()).toBe(STACK2);
    expect(m.bus.read32(TSS + 0x20)).toBe(KCODE + 2);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.cpu.rip).toBe(KCODE + 3); // IRET went back to the interrupted task
  });
});

describe('task switch faults', () => {
  it('#GP(sel) for CALL to a busy TSS', () => {
    const m = withTask2();
    m.load(KCODE, callFar(SEL_TSS));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(SEL_TSS);
    expect(m.frame(1)).toBe(KCODE);
  });

  it('#TS(sel) for a 32-bit TSS whose limit is below 0x67', () => {
    const m = withTask2();
    m.setDesc(FREE, desc(TSS2, 0x50, ACC_TSS32, 0));
    m.load(KCODE, callFar(SEL2));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(10);
    expect(m.frame(0)).toBe(SEL2);
    expect(m.cpu.sSel[7]).toBe(SEL_TSS);
  });

  it('#TS(link) for IRET with NT to a task that is not busy', () => {
    const m = withTask2();
    m.load(KCODE, [0x9c, 0x81, 0x0c, 0x24, ...le(0x4000, 4), 0x9d, 0xcf]); // pushf; or [esp], NT; popf; iret
    m.bus.write16(TSS, SEL2); // back link to an available (not busy) TSS
    m.runToHalt();
    expect(m.stoppedVector()).toBe(10);
    expect(m.frame(0)).toBe(SEL2);
    expect(m.frame(1)).toBe(KCODE + 9); // the IRET
  });

  it('#TS(CS) for a bad code selector in the new TSS, raised in the new task', () => {
    const m = withTask2();
    m.bus.write16(TSS2 + 0x4c, SEL_KDATA); // CS = a data segment
    m.load(KCODE, jmpFar(SEL2));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(10);
    expect(m.frame(0)).toBe(SEL_KDATA);
    expect(m.frame(1)).toBe(TASK2); // the new task's EIP
    expect(m.esp()).toBe(STACK2 - 16); // on the new task's stack
    expect(m.cpu.sSel[7]).toBe(SEL2);
  });

  it('#TS(LDT) when the new task names an LDT selector that is not an LDT, and clears DR7 L0-L3', () => {
    const m = withTask2({ ldt: SEL_KDATA });
    m.cpu.dr[7] = 0x4ff;
    m.load(KCODE, callFar(SEL2));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(10);
    expect(m.frame(0)).toBe(SEL_KDATA);
    expect(m.frame(1)).toBe(TASK2);
    expect(m.cpu.sSel[7]).toBe(SEL2);
    expect(m.cpu.dr[7]).toBe(0x4aa);
  });

  it('#NP(sel) for a TSS that is not present', () => {
    const m = withTask2();
    m.setDesc(FREE, desc(TSS2, 0x67, ACC_TSS32 & 0x7f, 0));
    m.load(KCODE, jmpFar(SEL2));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(11);
    expect(m.frame(0)).toBe(SEL2);
  });
});
