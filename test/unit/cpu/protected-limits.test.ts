// Segment limit and type checks outside 64-bit mode: data, stack and code segments, expand-
// down segments, read-only and execute-only types, null selectors, instruction fetch beyond
// the CS limit, real-mode offsets past 64 KiB, and their absence in 64-bit mode. Each case
// checks the vector, error code and restart point (the frame's EIP is the faulting
// instruction, registers unchanged).
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import {
  ACC_CODE, ACC_DATA, DATA, FREE, KCODE, KSTACK, Machine32, SEL_KCODE, UCODE, USTACK, desc, le, loadSeg,
} from './helpers/machine32.ts';
import { Machine64, KCODE as KCODE64 } from './helpers/machine64.ts';

const SEL = FREE * 8; // 0x30
const DS = 3, ES = 0, SS = 2;
const movEaxMem = (off: number): number[] => [0x8b, 0x05, ...le(off, 4)];
const movEbxMem = (off: number): number[] => [0x8b, 0x1d, ...le(off, 4)];

function limited(acc = ACC_DATA, limit = 0xfff, flags = 0x4, base = DATA): Machine32 {
  const m = new Machine32();
  m.setDesc(FREE, desc(base, limit, acc, flags));
  return m;
}

describe('data segment limits', () => {
  it('allows a dword ending at the limit and raises #GP(0) one byte further, at the faulting MOV', () => {
    const m = limited();
    m.bus.write32(DATA + 0xffc, 0x11223344);
    const code = [...loadSeg(DS, SEL), ...movEaxMem(0xffc), ...movEbxMem(0xffd), 0xf4];
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0); // error code
    expect(m.frame(1)).toBe(KCODE + 12); // EIP of the second MOV
    expect(m.frame(2)).toBe(SEL_KCODE);
    expect(m.reg(0)).toBe(0x11223344);
    expect(m.reg(3)).toBe(0);
  });

  it('checks the access size: a byte at the limit passes, a word at the limit faults', () => {
    const m = limited();
    m.bus.write8(DATA + 0xfff, 0x5a);
    m.load(KCODE, [...loadSeg(DS, SEL), 0x8a, 0x05, ...le(0xfff, 4), 0x66, 0x8b, 0x1d, ...le(0xfff, 4), 0xf4]);
    m.runToHalt();
    expect(m.reg(0) & 0xff).toBe(0x5a);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 12);
  });

  it('refuses stores and read-modify-writes to a read-only data segment, leaving memory alone', () => {
    const m = limited(0x90);
    m.bus.write32(DATA + 0x10, 7);
    m.load(KCODE, [...loadSeg(DS, SEL), ...movEbxMem(0x10), 0xb8, ...le(5, 4), 0x01, 0x05, ...le(0x10, 4), 0xf4]);
    m.runToHalt();
    expect(m.reg(3)).toBe(7); // the read was fine
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + 17); // the ADD
    expect(m.bus.read32(DATA + 0x10)).toBe(7);

    const m2 = limited(0x90);
    m2.load(KCODE, [...loadSeg(DS, SEL), 0x89, 0x05, ...le(0x10, 4), 0xf4]); // mov [0x10], eax
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(1)).toBe(KCODE + 6);
  });

  it('applies expand-down limits: offsets above the limit are valid, up to 4 GiB (B=1) or 64 KiB (B=0)', () => {
    const m = limited(0x96, 0xfff, 0x4);
    m.bus.write32(DATA + 0x1000, 0xabcd);
    m.load(KCODE, [...loadSeg(DS, SEL), ...movEaxMem(0x1000), ...movEbxMem(0xffe), 0xf4]);
    m.runToHalt();
    expect(m.reg(0)).toBe(0xabcd);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 12);

    const m2 = limited(0x96, 0xfff, 0x0);
    m2.bus.write32(DATA + 0xfffc, 0x77);
    m2.load(KCODE, [...loadSeg(DS, SEL), ...movEaxMem(0xfffc), ...movEbxMem(0xfffd), 0xf4]);
    m2.runToHalt();
    expect(m2.reg(0)).toBe(0x77);
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(1)).toBe(KCODE + 12);
  });

  it('raises #GP(0) for any access through a null data selector (the load itself is legal)', () => {
    const m = new Machine32();
    m.load(KCODE, [...loadSeg(DS, 0), 0x90, ...movEaxMem(0), 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + 7);
  });

  it('checks bit-string operands at the dword actually addressed, and BTS for writability', () => {
    const m = limited();
    m.bus.write32(DATA + 0xffc, 0x80000000);
    m.load(KCODE, [
      ...loadSeg(DS, SEL),
      0xbb, ...le(-1, 4), 0x0f, 0xa3, 0x1d, ...le(0x1000, 4), // mov ebx, -1; bt [0x1000], ebx: bit 31 of [0xffc]
      0xbb, ...le(0x1000 * 8, 4), 0x0f, 0xa3, 0x1d, ...le(0, 4), // bt [0], ebx with ebx = 0x8000: [0x1000]
      0xf4,
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 23);
    expect(m.frame(3) & 1).toBe(1); // CF from the first BT

    const m2 = limited(0x90); // read-only
    m2.load(KCODE, [...loadSeg(DS, SEL), 0x31, 0xc0, 0x0f, 0xa3, 0x05, ...le(0x10, 4), 0x0f, 0xab, 0x05, ...le(0x10, 4), 0xf4]);
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(1)).toBe(KCODE + 15); // BTS, after BT read fine
  });

  it('checks SGDT/LGDT operands as 6 bytes and SGDT as a store', () => {
    const m = limited();
    m.load(KCODE, [...loadSeg(DS, SEL), 0x0f, 0x01, 0x05, ...le(0xff8, 4), 0x0f, 0x01, 0x15, ...le(0xffb, 4), 0xf4]);
    m.runToHalt(); // sgdt [0xff8] fits; lgdt [0xffb] would read 0xffb..0x1000
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 13);
    expect(m.bus.read16(DATA + 0xff8)).toBe(0x1ff); // the GDT limit SGDT stored

    const m2 = limited(0x90);
    m2.load(KCODE, [...loadSeg(DS, SEL), 0x0f, 0x01, 0x05, ...le(0, 4), 0xf4]);
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(1)).toBe(KCODE + 6);
  });

  it('stops REP MOVSB at the ES limit with ECX/EDI at the faulting element', () => {
    const m = limited();
    m.bus.writeBytes(DATA + 0x100, new Uint8Array([1, 2, 3, 4]));
    m.load(KCODE, [
      ...loadSeg(ES, SEL),
      0xbe, ...le(DATA + 0x100, 4), 0xbf, ...le(0xffe, 4), 0xb9, ...le(4, 4), // esi, edi, ecx
      0xfc, 0xf3, 0xa4, 0xf4, // cld; rep movsb
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 22); // the REP MOVSB
    expect(m.reg(1)).toBe(2);
    expect(m.reg(7)).toBe(0x1000);
    expect(m.bus.read16(DATA + 0xffe)).toBe(0x0201);
    expect(m.bus.read8(DATA + 0x1000)).toBe(0);
  });
});

describe('stack segment limits', () => {
  it('raises #SS(0) for an SS-relative operand beyond the SS limit', () => {
    const m = limited(ACC_DATA, 0x8ffff, 0x4, 0);
    m.load(KCODE, [...loadSeg(SS, SEL), 0xbd, ...le(0x90000, 4), 0x8b, 0x45, 0x00, 0xf4]); // mov ebp, ..; mov eax, [ebp]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + 11);
  });

  it('raises #SS(0) for a PUSH below an expand-down stack, with ESP unchanged in the frame', () => {
    const m = new Machine32();
    // User stack: expand-down, DPL 3, valid offsets from USTACK - 0x10.
    m.setDesc(FREE, desc(0, USTACK - 0x11, 0xf6, 0x4));
    m.load(KCODE, [0x6a, SEL | 3, 0x68, ...le(USTACK, 4), 0x6a, 0x02, 0x6a, 0x1b, 0x68, ...le(UCODE, 4), 0xcf]);
    m.load(UCODE, [0x50, 0x50, 0x50, 0x50, 0x50, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    expect(m.esp()).toBe(KSTACK - 24); // stack switch through TSS.ESP0
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(UCODE + 4); // the fifth PUSH
    expect(m.frame(4)).toBe(USTACK - 0x10);
    expect(m.frame(5)).toBe(SEL | 3);
  });
});

describe('multi-push instructions', () => {
  for (const [name, code, at] of [
    ['PUSHA', [0x50, 0x60, 0xf4], 1],
    ['ENTER 0, 3', [0x50, 0x50, 0x50, 0x89, 0xe5, 0xc8, 0, 0, 3, 0xf4], 5],
  ] as const) {
    it(`leaves ESP unchanged when ${name} runs into the stack limit part way`, () => {
      const m = new Machine32();
      m.setDesc(FREE, desc(0, USTACK - 0x19, 0xf6, 0x4)); // expand-down: 24 bytes of room
      m.load(KCODE, [0x6a, SEL | 3, 0x68, ...le(USTACK, 4), 0x6a, 0x02, 0x6a, 0x1b, 0x68, ...le(UCODE, 4), 0xcf]);
      m.load(UCODE, [...code]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(12);
      expect(m.frame(0)).toBe(0);
      expect(m.frame(1)).toBe(UCODE + at);
      const pushed = name === 'PUSHA' ? 4 : 12;
      expect(m.frame(4)).toBe(USTACK - pushed);
    });
  }
});

describe('code segment checks', () => {
  it('reads through a readable CS but refuses a store through CS', () => {
    const m = new Machine32();
    m.bus.write32(DATA, 0x1234);
    m.load(KCODE, [0x2e, 0x8b, 0x05, ...le(DATA, 4), 0x2e, 0x89, 0x05, ...le(DATA, 4), 0xf4]);
    m.runToHalt();
    expect(m.reg(0)).toBe(0x1234);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 7);
  });

  it('refuses a read through an execute-only CS', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(0, 0xffffffff, 0x98, 0xc)); // execute-only
    m.load(KCODE, [0xea, ...le(KCODE + 0x100, 4), SEL, 0]); // jmp far SEL:KCODE+0x100
    m.load(KCODE + 0x100, [0x2e, 0x8b, 0x05, ...le(DATA, 4), 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + 0x100);
    expect(m.frame(2)).toBe(SEL);
  });

  it('raises #GP(0) when an instruction would extend past the CS limit', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE + 0x100, 0x0f, ACC_CODE, 0x4));
    m.load(KCODE, [0xea, 0, 0, 0, 0, SEL, 0]);
    m.load(KCODE + 0x100, [...new Array<number>(12).fill(0x90), 0xb8, ...le(1, 4)]); // mov eax, 1 at 0x0c..0x10
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(0x0c);
    expect(m.frame(2)).toBe(SEL);
    expect(m.reg(0)).toBe(0);
  });

  it('raises #GP(0) when execution runs off the end of CS', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE + 0x100, 0x0f, ACC_CODE, 0x4));
    m.load(KCODE, [0xea, 0, 0, 0, 0, SEL, 0]);
    m.load(KCODE + 0x100, new Array<number>(32).fill(0x90));
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(0x10);
  });

  it('raises #GP(0) at a near JMP or CALL whose target is beyond the CS limit (nothing pushed)', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE + 0x100, 0x3f, ACC_CODE, 0x4));
    m.load(KCODE, [0xea, 0, 0, 0, 0, SEL, 0]);
    m.load(KCODE + 0x100, [0x90, 0xe9, ...le(0x40 - 6, 4)]); // nop; jmp 0x40
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(1); // the JMP, not its target
    expect(m.frame(2)).toBe(SEL);

    const m2 = new Machine32();
    m2.setDesc(FREE, desc(KCODE + 0x100, 0x3f, ACC_CODE, 0x4));
    m2.load(KCODE, [0xea, 0, 0, 0, 0, SEL, 0]);
    m2.load(KCODE + 0x100, [0xe8, ...le(0x80 - 5, 4)]); // call 0x80
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(1)).toBe(0);
    expect(m2.esp()).toBe(KSTACK - 16); // the #GP frame only: the CALL pushed nothing
  });

  it('runs a counted Jcc loop inside a CS limit and faults at a Jcc whose target is beyond it', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE + 0x100, 0x3f, ACC_CODE, 0x4));
    m.load(KCODE, [0xea, 0, 0, 0, 0, SEL, 0]);
    // mov ecx, 3; l: dec ecx; jnz l; test ecx, ecx; jz 0x50
    m.load(KCODE + 0x100, [0xb9, ...le(3, 4), 0x49, 0x75, 0xfd, 0x85, 0xc9, 0x74, 0x50 - 12, 0xf4]); // HLT ends the block inside the limit
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(10); // the JZ
    expect(m.frame(2)).toBe(SEL);
    expect(m.reg(1)).toBe(0);
  });

  it('refuses a far jump to an offset beyond the target CS limit at the JMP', () => {
    const m = new Machine32();
    m.setDesc(FREE, desc(KCODE + 0x100, 0x0f, ACC_CODE, 0x4));
    m.load(KCODE, [0xea, ...le(0x10, 4), SEL, 0]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE);
    expect(m.frame(2)).toBe(SEL_KCODE);
  });
});

describe('modes', () => {
  it('raises #GP (vector 13 through the IVT) for a real-mode offset past 64 KiB', () => {
    const bus = new MemoryBus(1 << 20);
    const cpu = new Cpu(bus, new IoBus());
    bus.write32(13 * 4, 0x0000_0500);
    bus.write8(0x500, 0xf4);
    // mov ebx, 0x10000; mov ax, [ebx] (address-size prefix)
    bus.writeBytes(0x7c00, new Uint8Array([0x66, 0xbb, ...le(0x10000, 4), 0x67, 0x8b, 0x03, 0xf4]));
    cpu.setBootState({ mode: 'real', rip: 0x7c00, rsp: 0x7000, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
    while (!cpu.halted) cpu.run(100);
    expect(cpu.rip).toBe(0x501);
    expect(bus.read16(0x7000 - 6)).toBe(0x7c06); // IP of the faulting MOV
  });

  it('marks only non-flat segments for checking, and none in 64-bit mode', () => {
    const m = new Machine32();
    expect(m.cpu.segChk & 0x13d).toBe(0); // flat data segments, CS limit 4 GiB
    m.load(KCODE, [...loadSeg(DS, SEL), 0xf4]);
    m.setDesc(FREE, desc(DATA, 0xfff, ACC_DATA));
    m.runToHalt();
    expect(m.cpu.segChk & 0x3d).toBe(1 << DS);

    // Long mode ignores the limit of a DS loaded from a small descriptor.
    const l = new Machine64();
    l.w64(0x5000 + 0x40, desc(0, 0xfff, ACC_DATA));
    l.cpu.gdtLimit = 0x4f;
    l.bus.write32(0x40000, 0x99);
    l.load(KCODE64, [...loadSeg(DS, 0x40), 0xb8, ...le(0x40000, 4), 0x8b, 0x18, 0xf4]); // mov eax, DATA; mov ebx, [rax]
    l.runToHalt();
    expect(l.cpu.sLimit[DS]).toBe(0xfff);
    expect(l.cpu.segChk).toBe(0);
    expect(l.stoppedVector()).toBe(-1);
    expect(l.cpu.rl[3]).toBe(0x99);
  });
});
