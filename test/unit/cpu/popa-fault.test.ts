// POPA/POPAD read 16/32 bytes of stack; hardware checks the whole read (the SS limit, every
// page it touches) before it writes a register. A POPAD whose last dword lies in a
// not-present page raises #PF with every general register and ESP as they were, and one that
// runs past the SS limit raises #SS(0) the same way. (The interpreter used to pop one value
// at a time and left the first registers loaded when a later read faulted.)
import { describe, expect, it } from 'vitest';
import { ACC_DATA, DATA, FREE, KCODE, Machine32, desc, le, loadSeg } from './helpers/machine32.ts';

const PD = 0x1b0000; // page directory; its page table follows
const PT = 0x1b1000;
const HOLE = DATA + 0x1000; // the page marked not present
const SS = 2;
/** Values loaded into EAX..EDI before the POPAD (ESP's slot is set separately). */
const BEFORE = [0x0a0a0a0a, 0x0c0c0c0c, 0x0d0d0d0d, 0x0b0b0b0b, 0, 0x0e0e0e0e, 0x05050505, 0x0d1d1d1d];

/** mov r32, imm for every register but ESP, then POPAD at the returned offset. */
function loadRegsThenPopad(code: number[]): number {
  for (let r = 0; r < 8; r++) if (r !== 4) code.push(0xb8 + r, ...le(BEFORE[r]!, 4));
  const at = code.length;
  code.push(0x61, 0xf4); // popad; hlt
  return at;
}

/** Stack contents a POPAD would load: EDI first (lowest address) ... EAX last. */
function fillStack(m: Machine32, lin: number, count: number, size = 4): void {
  for (let k = 0; k < count; k++) {
    const v = 0x70000000 + k * 0x01010101;
    if (size === 4) m.bus.write32(lin + 4 * k, v);
    else m.bus.write16(lin + 2 * k, v & 0xffff);
  }
}

function expectRegsUnchanged(m: Machine32): void {
  for (let r = 0; r < 8; r++) if (r !== 4) expect(m.reg(r), `register ${r}`).toBe(BEFORE[r]);
}

describe('POPAD faulting part-way', () => {
  it('raises #PF for a last dword in a not-present page, CR2 in that page, no register written', () => {
    const m = new Machine32();
    // Identity-map the first 4 MiB with 4 KiB pages, all but HOLE present.
    m.bus.write32(PD, PT | 3);
    for (let p = 0; p < 1024; p++) m.bus.write32(PT + p * 4, p * 4096 === HOLE ? 0 : (p * 4096) | 3);
    const esp = HOLE - 30; // bytes HOLE-30 .. HOLE+1: the eighth dword (EAX's) crosses into HOLE
    fillStack(m, esp, 7);
    const code = [
      0xb8, ...le(PD, 4), 0x0f, 0x22, 0xd8, // mov eax, PD; mov cr3, eax
      0x0f, 0x20, 0xc0, 0x0d, ...le(0x80000000, 4), 0x0f, 0x22, 0xc0, // cr0 |= PG
      0xbc, ...le(esp, 4), // mov esp, HOLE - 30
    ];
    const at = loadRegsThenPopad(code);
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.cpu.cr2 >>> 0).toBeGreaterThanOrEqual(HOLE);
    expect(m.cpu.cr2 >>> 0).toBeLessThan(HOLE + 4096);
    expect(m.frame(0)).toBe(0); // supervisor read of a not-present page
    expect(m.frame(1)).toBe(KCODE + at); // restarts at the POPAD
    expect(m.esp()).toBe(esp - 16); // the frame sits right below the untouched ESP
    expectRegsUnchanged(m);
  });

  it('raises #SS(0) when the 32 bytes run past the SS limit, no register written', () => {
    const m = new Machine32();
    const sel = FREE * 8;
    m.setDesc(FREE, desc(DATA, 0xfff, ACC_DATA));
    const esp = 0xff0; // 0xff0 .. 0x100f: the last four dwords lie beyond the limit
    fillStack(m, DATA + esp, 4);
    const code = [...loadSeg(SS, sel), 0xbc, ...le(esp, 4)];
    const at = loadRegsThenPopad(code);
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    // SS has base DATA: the frame (error code, EIP) is at DATA + ESP.
    expect(m.esp()).toBe(esp - 16);
    expect(m.bus.read32(DATA + esp - 16)).toBe(0);
    expect(m.bus.read32(DATA + esp - 12)).toBe(KCODE + at);
    expectRegsUnchanged(m);
  });

  it('loads all eight slots but ESP and adds 32 to ESP when the read succeeds', () => {
    const m = new Machine32();
    const esp = DATA + 0x100;
    fillStack(m, esp, 8);
    m.bus.write32(esp + 12, 0x12345678); // ESP's slot: skipped
    const code = [0xbc, ...le(esp, 4)];
    loadRegsThenPopad(code);
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    for (let r = 0; r < 8; r++) if (r !== 4) expect(m.reg(r), `register ${r}`).toBe(0x70000000 + (7 - r) * 0x01010101);
    expect(m.esp()).toBe(esp + 32);
  });

  it('16-bit POPA: a word past the SS limit faults with no register written; in range it loads low halves', () => {
    const m = new Machine32();
    const sel = FREE * 8;
    m.setDesc(FREE, desc(DATA, 0xfff, ACC_DATA));
    fillStack(m, DATA + 0xff2, 7, 2);
    const code = [...loadSeg(SS, sel), 0xbc, ...le(0xff2, 4)]; // 0xff2 .. 0x1001: the last word crosses the limit
    for (let r = 0; r < 8; r++) if (r !== 4) code.push(0xb8 + r, ...le(BEFORE[r]!, 4));
    code.push(0x66, 0x61, 0xf4); // popa (16-bit); hlt
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    expectRegsUnchanged(m);

    const ok = new Machine32();
    const sp = DATA + 0x200;
    fillStack(ok, sp, 8, 2);
    const code2 = [0xbc, ...le(sp, 4)];
    for (let r = 0; r < 8; r++) if (r !== 4) code2.push(0xb8 + r, ...le(BEFORE[r]!, 4));
    code2.push(0x66, 0x61, 0xf4);
    ok.load(KCODE, code2);
    ok.runToHalt();
    expect(ok.stoppedVector()).toBe(-1);
    for (let r = 0; r < 8; r++) {
      if (r === 4) continue;
      const want = ((BEFORE[r]! & ~0xffff) | ((0x70000000 + (7 - r) * 0x01010101) & 0xffff)) >>> 0;
      expect(ok.reg(r), `register ${r}`).toBe(want);
    }
    expect(ok.esp()).toBe(sp + 16);
  });
});
