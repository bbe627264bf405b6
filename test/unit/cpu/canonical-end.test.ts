// Integer memory operands that start in the lower canonical half and end beyond it (2^47):
// hardware raises #GP(0) before any paging check; the effective-address check sees only the
// first byte, so the CPU's page-crossing accessors check the last one. Both the interpreter and
// the block compiler (every block compiled) must agree.
import { describe, expect, it } from 'vitest';
import { KCODE, Machine64, le } from './helpers/machine64.ts';

const movRax = (v: bigint): number[] => [0x48, 0xb8, ...le(v, 8)];

function run(code: number[], jit: number): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = jit;
  m.load(KCODE, [...code, 0xf4]);
  m.runToHalt();
  return m;
}

for (const jit of [0, 1]) {
  describe(`operands at the end of the lower canonical half (${jit ? 'compiled' : 'interpreted'})`, () => {
    const cases: [string, bigint, number[]][] = [
      ['a qword load from 2^47 - 4', 0x7ffffffffffcn, [0x48, 0x8b, 0x08]], // mov rcx, [rax]
      ['a dword load from 2^47 - 1', 0x7fffffffffffn, [0x8b, 0x08]], // mov ecx, [rax]
      ['a word load from 2^47 - 1', 0x7fffffffffffn, [0x66, 0x8b, 0x08]], // mov cx, [rax]
      ['a qword store to 2^47 - 4', 0x7ffffffffffcn, [0x48, 0x89, 0x08]], // mov [rax], rcx
      ['a dword store to 2^47 - 2', 0x7ffffffffffen, [0x89, 0x08]], // mov [rax], ecx
      ['an ADD read-modify-write at 2^47 - 2', 0x7ffffffffffen, [0x01, 0x08]], // add [rax], ecx
    ];
    for (const [name, addr, insn] of cases) {
      it(`raises #GP(0) for ${name}, at the instruction, with RCX unchanged`, () => {
        const m = run([...movRax(addr), 0x48, 0xc7, 0xc1, 0x55, 0, 0, 0, ...insn], jit); // mov rcx, 0x55
        expect(m.stoppedVector()).toBe(13);
        expect(m.frame(0)).toBe(0n);
        expect(m.frame(1)).toBe(BigInt(KCODE + 10 + 7));
        expect(m.reg(1)).toBe(0x55n);
      });
    }

    it('treats an access ending exactly at 2^47 - 1 as canonical (a page fault, not #GP)', () => {
      const m = run([...movRax(0x7ffffffffffcn), 0x8b, 0x08], jit); // mov ecx, [rax]: 4 bytes
      expect(m.stoppedVector()).toBe(14);
      expect(m.cpu.cr2).toBe(0x7ffffffffffc);
    });
  });
}
