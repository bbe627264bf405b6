// Interrupt priorities and faults during delivery (Intel SDM vol. 3A 6.7.1, 6.9, 6.15):
// a pending NMI is taken before a pending maskable interrupt; NMIs are held from NMI delivery
// until the next IRET; a fault while an external interrupt is delivered is reported with the
// EXT bit, and is delivered as itself (#PF after an interrupt) or escalates to #DF (#PF while
// delivering #PF), with the frame pointing at the interrupted instruction.
import { describe, expect, it } from 'vitest';
import { KCODE, KSTACK, ISTACK, Machine64, SEL_TSS, STUBS, le } from './helpers/machine64.ts';
import { KCODE as KCODE32, Machine32 } from './helpers/machine32.ts';

const IF = 0x200;
const LTR = [0x66, 0xb8, ...le(SEL_TSS, 2), 0x0f, 0x00, 0xd8]; // IST stacks come from the TSS

/** An interrupt controller with one vector pending until acknowledged. */
function oneInterrupt(vec: number): { hasInterrupt: () => boolean; acknowledge: () => number; acks: () => number } {
  let pending = true;
  let acks = 0;
  return {
    hasInterrupt: () => pending,
    acknowledge: () => { pending = false; acks++; return vec; },
    acks: () => acks,
  };
}

describe('NMI and INTR', () => {
  it('takes a pending NMI before a pending maskable interrupt, and the interrupt after the NMI handler\'s IRET', () => {
    const m = new Machine64();
    const order: number[] = [];
    m.cpu.eventHook = (v) => { order.push(v); return false; };
    m.cpu.setInterruptSource(oneInterrupt(0x40));
    m.setGate(2, KCODE + 0x200, {});
    m.load(KCODE + 0x200, [0x90, 0x48, 0xcf]); // nop; iretq
    m.load(KCODE, [0x90, 0x90, 0xf4]);
    m.cpu.flags |= IF;
    m.cpu.raiseNmi();
    m.runToHalt();
    expect(order).toEqual([2, 0x40]);
    expect(m.stoppedVector()).toBe(0x40);
    expect(m.frame(0)).toBe(BigInt(KCODE)); // both arrived before the first instruction
  });

  it('holds a second NMI while the NMI handler runs and delivers it after its IRET', () => {
    const m = new Machine64();
    const H = KCODE + 0x200;
    const at: number[] = [];
    m.cpu.eventHook = (v) => {
      if (v === 2) {
        at.push(m.cpu.rip);
        if (at.length === 1) m.cpu.raiseNmi(); // arrives while the first is being handled
      }
      return false;
    };
    m.setGate(2, H, {});
    m.load(H, [0x90, 0x90, 0x48, 0xcf]); // nop; nop; iretq
    m.load(KCODE, [0x90, 0x90, 0x90, 0xf4]);
    m.cpu.raiseNmi();
    m.runToHalt();
    expect(at).toEqual([KCODE, KCODE]); // never inside the handler
    expect(m.cpu.rip).toBe(KCODE + 4);
    expect(m.rsp()).toBe(KSTACK); // both frames popped
  });
});

describe('faults while an external interrupt is delivered', () => {
  it('64-bit: a not-present gate gives #NP with the EXT bit (a software INT n gives it without)', () => {
    const ext = new Machine64();
    ext.setGate(0x40, STUBS + 0x40 * 16, { present: false });
    ext.cpu.setInterruptSource(oneInterrupt(0x40));
    ext.load(KCODE, [0x90, 0xfb, 0x90, 0x90, 0xf4]); // nop; sti; nop; nop
    ext.runToHalt();
    expect(ext.stoppedVector()).toBe(11);
    expect(ext.frame(0)).toBe(BigInt(0x40 * 8 + 2 + 1));
    expect(ext.frame(1)).toBe(BigInt(KCODE + 3)); // after STI and the instruction it shields

    const soft = new Machine64();
    soft.setGate(0x40, STUBS + 0x40 * 16, { present: false });
    soft.load(KCODE, [0xcd, 0x40]);
    soft.runToHalt();
    expect(soft.stoppedVector()).toBe(11);
    expect(soft.frame(0)).toBe(BigInt(0x40 * 8 + 2));
  });

  it('32-bit: a not-present gate gives #NP with the EXT bit', () => {
    const m = new Machine32();
    m.setIdt(0x40, 0x30000 + 0x40 * 16, 0, 0xe, 0x08, false);
    m.cpu.setInterruptSource(oneInterrupt(0x40));
    m.cpu.flags |= IF;
    m.load(KCODE32, [0x90, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(11);
    expect(m.frame(0)).toBe(0x40 * 8 + 2 + 1);
    expect(m.frame(1)).toBe(KCODE32);
  });

  it('a page fault while pushing the interrupt frame is delivered as #PF (on its IST stack)', () => {
    const m = new Machine64();
    m.setPte(KSTACK - 0x1000, KSTACK - 0x1000, { absent: true }); // the page below the stack top
    m.setGate(14, STUBS + 14 * 16, { ist: 1 });
    const src = oneInterrupt(0x40);
    m.cpu.setInterruptSource(src);
    m.load(KCODE, [...LTR, 0xfb, 0x90, 0x90, 0xf4]);
    m.runToHalt();
    expect(src.acks()).toBe(1);
    expect(m.stoppedVector()).toBe(14);
    expect(m.rsp()).toBe(ISTACK - 48);
    expect(m.frame(0)).toBe(2n); // supervisor write to a not-present page
    expect(m.cpu.cr2).toBe(KSTACK - 8);
    expect(m.frame(1)).toBe(BigInt(KCODE + LTR.length + 2)); // the interrupted instruction
    expect(m.frame(4)).toBe(BigInt(KSTACK)); // the interrupted RSP
    expect(m.frame(3) & BigInt(IF)).toBe(BigInt(IF));
  });

  it('#PF while delivering that #PF on the same stack escalates to #DF (error code 0)', () => {
    const m = new Machine64();
    m.setPte(KSTACK - 0x1000, KSTACK - 0x1000, { absent: true });
    m.setGate(8, STUBS + 8 * 16, { ist: 1 });
    const src = oneInterrupt(0x40);
    m.cpu.setInterruptSource(src);
    m.load(KCODE, [...LTR, 0xfb, 0x90, 0x90, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(8);
    expect(m.frame(0)).toBe(0n);
    expect(m.rsp()).toBe(ISTACK - 48);
    expect(m.cpu.cr2).toBe(KSTACK - 8);
  });
});
