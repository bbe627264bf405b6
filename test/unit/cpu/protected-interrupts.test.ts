// Protected-mode interrupt delivery and IRET against segment limits: a handler offset
// beyond its code segment, an inner stack without room for the frame (#SS naming the stack
// selector, the interrupted context left intact), IRET to an offset beyond the CS limit,
// IRET with NT in long mode, and CR4.VME (not implemented, so refused).
import { describe, expect, it } from 'vitest';
import {
  ACC_CODE, FREE, KCODE, KSTACK, Machine32, SEL_KCODE, SEL_UCODE, SEL_UDATA, TSS, UCODE, USTACK, desc, le,
} from './helpers/machine32.ts';
import { KCODE as KCODE64, Machine64 } from './helpers/machine64.ts';

const SEL = FREE * 8; // 0x30
const TO_USER = [0x6a, SEL_UDATA, 0x68, ...le(USTACK, 4), 0x6a, 0x02, 0x6a, SEL_UCODE, 0x68, ...le(UCODE, 4), 0xcf];

describe('interrupt delivery checks', () => {
  it('raises #GP when the gate\'s handler offset lies beyond its code segment', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE, 0xff, ACC_CODE, 0x4));
    m.setIdt(0x42, 0x100, 0, 0xe, SEL);
    m.load(KCODE, [0x90, 0xcd, 0x42]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + 1); // the INT
    expect(m.esp()).toBe(KSTACK - 16); // only the #GP frame
  });

  it('raises #SS(new SS) when the inner stack has no room, from the interrupted ring-3 context', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(0, 0xffffffff, 0xba, 0xc)); // code, DPL 1
    m.setDesc(FREE + 1, desc(0, 0xfff, 0xb2, 0x4)); // data, DPL 1, limit 4 KiB
    m.bus.write32(TSS + 12, 0x10); // ESP1: 16 bytes below, the frame needs 20
    m.bus.write32(TSS + 16, (FREE + 1) * 8 + 1); // SS1
    m.setIdt(0x42, KCODE + 0x100, 3, 0xe, SEL | 1);
    m.load(KCODE, TO_USER);
    m.load(UCODE, [0xcd, 0x42]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(0)).toBe((FREE + 1) * 8);
    expect(m.frame(1)).toBe(UCODE);
    expect(m.frame(2)).toBe(SEL_UCODE);
    expect(m.frame(4)).toBe(USTACK);
    expect(m.frame(5)).toBe(SEL_UDATA);
  });

  it('raises #GP(0) at the IRET when the return offset is beyond the CS limit', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE, 0x0f, ACC_CODE, 0x4));
    m.load(KCODE, [0x6a, 0x02, 0x6a, SEL, 0x6a, 0x20, 0xcf]); // push flags, cs, eip; iret
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + 6);
    expect(m.frame(2)).toBe(SEL_KCODE);
    expect(m.frame(4)).toBe(0x20); // the IRET frame is still on the stack
    expect(m.frame(5)).toBe(SEL);
  });

  it('refuses IRET with NT set in long mode (no task switches there)', () => {
    const m = new Machine64();
    m.load(KCODE64, [0x9c, 0x48, 0x81, 0x0c, 0x24, ...le(0x4000, 4), 0x9d, 0x48, 0xcf]); // set NT; iretq
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 10));
  });

  it('refuses CR4.VME and CR4.PVI, which are not implemented', () => {
    const m = new Machine32();
    m.load(KCODE, [0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xe0]); // cr4 |= VME
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 6);
    expect(m.cpu.cr4 & 3).toBe(0);
  });
});
