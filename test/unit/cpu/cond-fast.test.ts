// cond() decides Jcc/SETcc/CMOVcc conditions after a compare without computing all six flags
// (flags.ts fast paths, 64-bit ones included). Each fast answer must equal the condition
// evaluated on the fully computed EFLAGS, for every condition code, operand size and
// operation, over seeded random operands with the edge values mixed in.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { alu } from '../../../src-core/engine/cpu/alu.ts';
import { cond, getFlags } from '../../../src-core/engine/cpu/flags.ts';

function fromFlags(f: number, cc: number): boolean {
  const CF = (f & 1) !== 0, PF = (f & 4) !== 0, ZF = (f & 0x40) !== 0, SF = (f & 0x80) !== 0, OF = (f & 0x800) !== 0;
  const r = [OF, CF, ZF, CF || ZF, SF, PF, SF !== OF, ZF || SF !== OF][cc >> 1]!;
  return (cc & 1) !== 0 ? !r : r;
}

/** xorshift32: reproducible operands. */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s | 0;
  };
}

describe('cond() fast paths', () => {
  const edges = [0, 1, -1, 2, -2, 0x7fffffff, -0x80000000, 0x80, 0x7f, 0xff, 0x8000, 0x7fff, 0xffff];
  it('agree with the materialised flags after CMP/SUB/AND of every size', () => {
    const c = new Cpu(new MemoryBus(1 << 16), new IoBus());
    const next = rng(0x5eed);
    const pick = (): number => ((next() & 3) === 0 ? edges[(next() >>> 0) % edges.length]! : next());
    let wrong = 0;
    for (let i = 0; i < 20000; i++) {
      const size = [8, 16, 32, 64][i & 3]!;
      const op = [7, 5, 4][(i >> 2) % 3]!; // CMP, SUB, AND
      const mask = size === 8 ? 0xff : size === 16 ? 0xffff : -1;
      const a = pick() & mask, b = ((next() & 7) === 0 ? a : pick()) & mask;
      const ah = size === 64 ? pick() : 0, bh = size === 64 ? ((next() & 3) === 0 ? ah : pick()) : 0;
      for (let cc = 0; cc < 16; cc++) {
        alu(c, op, size, a, ah, b, bh);
        const fast = cond(c, cc);
        alu(c, op, size, a, ah, b, bh);
        if (fast !== fromFlags(getFlags(c), cc)) wrong++;
      }
    }
    expect(wrong).toBe(0);
  });
});
