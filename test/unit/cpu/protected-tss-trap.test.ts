// The TSS debug trap (T) bit: a task switch into a 32-bit TSS whose T bit is set raises #DB
// after the switch completes, in the new task (its stack, its TR), with the new task's first
// instruction as the return address and DR6.BT set; a clear T bit raises nothing. Covers JMP,
// CALL through a task gate, INT n through an IDT task gate and IRET back to a trapping task.
import { describe, expect, it } from 'vitest';
import {
  ACC_TSS32, FREE, KCODE, KSTACK, Machine32, SEL_KCODE, SEL_KDATA, SEL_TSS, STUBS, TSS, desc, le, taskGate,
} from './helpers/machine32.ts';

const TSS2 = 0x7100;
const SEL2 = FREE * 8;
const GATE = SEL2 + 8;
const TASK2 = KCODE + 0x400;
const STACK2 = KSTACK - 0x2000;
const DR6_BT = 0x8000;

function withTask2(trap: boolean): Machine32 {
  const m = new Machine32();
  m.setDesc(FREE, desc(TSS2, 0x67, ACC_TSS32, 0));
  m.setDesc(FREE + 1, taskGate(SEL2));
  m.bus.write32(TSS2 + 0x20, TASK2);
  m.bus.write32(TSS2 + 0x24, 2);
  m.bus.write32(TSS2 + 0x38, STACK2);
  [SEL_KDATA, SEL_KCODE, SEL_KDATA, SEL_KDATA, 0, 0].forEach((s, i) => m.bus.write16(TSS2 + 0x48 + 4 * i, s));
  m.bus.write16(TSS2 + 0x64, trap ? 1 : 0);
  m.bus.write16(TSS2 + 0x66, 0x68);
  m.load(TASK2, [0xb8, ...le(0x22, 4), 0xf4, 0xcf]); // mov eax, 0x22; hlt; iret
  return m;
}

describe('TSS T bit', () => {
  it('raises #DB with DR6.BT in the new task after a JMP to its TSS, before its first instruction', () => {
    const m = withTask2(true);
    m.load(KCODE, [0xea, 0, 0, 0, 0, ...le(SEL2, 2), 0xf4]); // jmp SEL2:0
    m.runToHalt();
    expect(m.stoppedVector()).toBe(1);
    expect(m.cpu.sSel[7]).toBe(SEL2); // delivered in the new task
    expect(m.frame(0)).toBe(TASK2); // return address: the new task's first instruction
    expect(m.frame(1)).toBe(SEL_KCODE);
    expect(m.esp()).toBe(STACK2 - 12); // on the new task's stack
    expect(m.reg(0)).toBe(0); // its first instruction has not run
    expect(m.cpu.dr[6]! & DR6_BT).toBe(DR6_BT);
  });

  it('raises nothing when the T bit is clear', () => {
    const m = withTask2(false);
    m.load(KCODE, [0xea, 0, 0, 0, 0, ...le(SEL2, 2), 0xf4]);
    m.runToHalt();
    expect(m.cpu.rip).toBe(TASK2 + 6);
    expect(m.reg(0)).toBe(0x22);
    expect(m.cpu.dr[6]! & DR6_BT).toBe(0);
  });

  it('traps after a CALL through a task gate and after INT n through an IDT task gate', () => {
    const m = withTask2(true);
    m.load(KCODE, [0x9a, 0, 0, 0, 0, ...le(GATE, 2), 0xf4]); // call GATE:0
    m.runToHalt();
    expect(m.stoppedVector()).toBe(1);
    expect(m.frame(0)).toBe(TASK2);
    expect(m.frame(2) & 0x4000).toBe(0x4000); // the new task's EFLAGS, NT set: switched before the trap

    const m2 = withTask2(true);
    m2.setIdt(0x40, 0, 0, 0x5, SEL2); // task gate
    m2.load(KCODE, [0xcd, 0x40, 0xf4]);
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(1);
    expect(m2.cpu.sSel[7]).toBe(SEL2);
    expect(m2.frame(0)).toBe(TASK2);
    expect(m2.cpu.dr[6]! & DR6_BT).toBe(DR6_BT);
  });

  it('traps on the IRET that returns to a task whose TSS has the T bit', () => {
    const m = withTask2(false);
    m.bus.write16(TSS + 0x64, 1); // the caller's TSS traps
    m.load(KCODE, [0x9a, 0, 0, 0, 0, ...le(SEL2, 2), 0xf4]); // call SEL2:0; hlt
    m.load(STUBS + 16, [0xf4]);
    m.runToHalt(); // task 2 halts before its IRET
    expect(m.cpu.rip).toBe(TASK2 + 6);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(1);
    expect(m.cpu.sSel[7]).toBe(SEL_TSS);
    expect(m.frame(0)).toBe(KCODE + 7); // the caller's next instruction
    expect(m.esp()).toBe(KSTACK - 12);
  });
});
