// Block compiler exactness around how blocks are compiled and chained: a Jcc's condition
// fused to the ALU instruction before it (every condition, operation and size, compiled
// against the interpreter), and successor links that
// must not survive self-modifying code, host writes (DMA) or a page remap (CR3 reload, INVLPG).
import { describe, expect, it } from 'vitest';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';
import { DATA, KCODE, Machine64, PT, le } from './helpers/machine64.ts';

function machine(threshold: number): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = threshold;
  m.cpu.jitMinInlined = 1;
  return m;
}

const MOV_RAX = (v: bigint): number[] => [0x48, 0xb8, ...le(v, 8)];
const MOV_RBX = (v: bigint): number[] => [0x48, 0xbb, ...le(v, 8)];
const MOV_RDI = (v: number): number[] => [0x48, 0xbf, ...le(v, 8)];
const HLT = 0xf4;

/** Operations that set flags before a Jcc: reg-reg forms (ALU opcode base), TEST, and
 * immediate forms (group 1, 83 /ext ib). */
const REG_OPS: [string, number][] = [['add', 0x00], ['or', 0x08], ['and', 0x20], ['sub', 0x28], ['xor', 0x30], ['cmp', 0x38], ['test', 0x84]];
const IMM_EXT: [string, number][] = [['add', 0], ['or', 1], ['and', 4], ['sub', 5], ['xor', 6], ['cmp', 7]];

/** rax/rbx operand pairs: equal values, sign boundaries of every size, carries. */
const VALUES: [bigint, bigint][] = [
  [0n, 0n], [1n, 2n], [2n, 1n], [0x7fn, 0x80n], [0x80n, 0x7fn], [0xffn, 1n], [0x7fffn, 0x8000n], [0x8000n, 0x8000n],
  [0x7fffffffn, 0x80000000n], [0x80000000n, 0x7fffffffn], [0xffffffffn, 0xffffffffn], [0xffffffffn, 0x100000000n],
  [0x8000000000000000n, 0x7fffffffffffffffn], [0x7fffffffffffffffn, 0x8000000000000000n], [0xffffffffffffffffn, 1n],
  [0x123456789abcdef0n, 0x123456789abcdef0n], [0xfedcba9876543210n, 0x0123456789abcdefn], [0x100n, 0x1n],
];

/** The instruction under test on rax (r/m) and rbx (reg) at `size` bits. */
function regOp(base: number, size: number): number[] {
  const op = base === 0x84 ? (size === 8 ? 0x84 : 0x85) : base + (size === 8 ? 0 : 1);
  const pre = size === 16 ? [0x66] : size === 64 ? [0x48] : [];
  return [...pre, op, 0xd8]; // modrm: mod 3, reg rbx, rm rax
}

function immOp(ext: number, size: number, imm: number): number[] {
  if (size === 8) return [0x80, 0xc0 | (ext << 3), imm & 0xff];
  const pre = size === 16 ? [0x66] : size === 64 ? [0x48] : [];
  return [...pre, 0x83, 0xc0 | (ext << 3), imm & 0xff];
}

/** One program: per case, load rax/rbx, run the operation, Jcc over a byte store, advance. */
function program(): { code: number[]; cases: number } {
  const code: number[] = [...MOV_RDI(DATA)];
  let cases = 0;
  const add = (ins: number[], a: bigint, b: bigint, cc: number): void => {
    // mov rax, a; mov rbx, b; <op>; jcc +3; mov byte [rdi], 1; inc rdi
    code.push(...MOV_RAX(a), ...MOV_RBX(b), ...ins, 0x70 + cc, 3, 0xc6, 0x07, 0x01, 0x48, 0xff, 0xc7);
    cases++;
  };
  for (let cc = 0; cc < 16; cc++) {
    for (const size of [8, 16, 32, 64]) {
      // Five operand pairs per form (rotating through VALUES), two immediates per form.
      REG_OPS.forEach(([, base], i) => {
        for (let j = 0; j < 5; j++) {
          const [a, b] = VALUES[(i + cc + j * 4) % VALUES.length]!;
          add(regOp(base, size), a, b, cc);
        }
      });
      IMM_EXT.forEach(([, ext], i) => {
        for (let j = 0; j < 2; j++) {
          const imm = [0, 1, 0x7f, 0x80, 0xff][(i + j * 2 + cc) % 5]!;
          add(immOp(ext, size, imm), VALUES[(i + j + cc) % VALUES.length]![0], 0n, cc);
        }
      });
    }
  }
  code.push(HLT);
  return { code, cases };
}

describe('block compiler: Jcc conditions fused to the ALU operation before them', () => {
  it('takes every condition after every ALU operation and size exactly as the interpreter does', () => {
    const { code, cases } = program();
    expect(KCODE + code.length).toBeLessThan(0x30000); // below the interrupt stubs
    const outcome: number[][] = [];
    for (const threshold of [0, 1]) {
      const m = machine(threshold);
      m.load(KCODE, code);
      const before = jitStats.blocks;
      m.runToHalt(10_000_000);
      expect(m.cpu.rip).toBe(KCODE + code.length);
      if (threshold) expect(jitStats.blocks - before).toBeGreaterThan(cases / 4);
      outcome.push([...m.bus.ram.subarray(DATA, DATA + cases)]);
    }
    // Both outcomes occur (the program exercises taken and not-taken branches) and agree.
    expect(outcome[0]!.filter((v) => v === 1).length).toBeGreaterThan(cases / 10);
    expect(outcome[0]!.filter((v) => v === 0).length).toBeGreaterThan(cases / 10);
    expect(outcome[1]).toEqual(outcome[0]);
  });
});

describe('block compiler: chained successors are revalidated', () => {
  // A hot loop calling F (at F_LIN): the loop's blocks and F's block are linked as successors.
  const F_LIN = KCODE + 0x2000;
  // mov ecx, count; L: call F; dec ecx; jnz L (placed at `at`)
  const loop = (at: number, count: number): number[] => [0xb9, ...le(count, 4), 0xe8, ...le(F_LIN - (at + 10), 4), 0xff, 0xc9, 0x75, 0xf7];

  it('runs rewritten code when a device rewrites a chained block mid-run (DMA)', () => {
    for (const threshold of [0, 1]) {
      const m = machine(threshold);
      // 30 x (call F; out 0x90, al): the port's device rewrites F's immediate at the 10th OUT,
      // while the block that calls F is linked to F's compiled block.
      let outs = 0;
      m.io.register(0x90, 1, {
        read: () => 0,
        write: () => { if (++outs === 10) m.load(F_LIN + 2, [0x10]); },
      }, 'dma-test');
      m.load(KCODE, [0xb9, ...le(30, 4), 0xe8, ...le(F_LIN - (KCODE + 10), 4), 0xe6, 0x90, 0xff, 0xc9, 0x75, 0xf5, HLT]);
      m.load(F_LIN, [0x83, 0xc2, 0x01, 0xc3]); // add edx, 1; ret
      m.runToHalt();
      expect(m.reg(2)).toBe(10n + 20n * 16n);
    }
  });

  it('runs the newly mapped code after a PTE change and a CR3 reload or INVLPG', () => {
    const P2 = 0x60000; // second physical page for F's linear address
    const G = KCODE + 0x3000;
    for (const flush of ['cr3', 'invlpg'] as const) {
      for (const threshold of [0, 1]) {
        const m = machine(threshold);
        const newPte = (m.pte(F_LIN) & ~0xfffff000n) | BigInt(P2);
        const remap = [
          ...MOV_RAX(BigInt(PT + (F_LIN >>> 12) * 8)), ...MOV_RBX(newPte), 0x48, 0x89, 0x18, // mov [rax], rbx
          ...(flush === 'cr3' ? [0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8] // mov rax, cr3; mov cr3, rax
            : [...MOV_RAX(BigInt(F_LIN)), 0x0f, 0x01, 0x38]), // invlpg [rax]
        ];
        // mov ecx, 30; L: call F; call G; dec ecx; jnz L; hlt. G remaps F's page when ecx = 20.
        m.load(KCODE, [0xb9, ...le(30, 4), 0xe8, ...le(F_LIN - (KCODE + 10), 4), 0xe8, ...le(G - (KCODE + 15), 4), 0xff, 0xc9, 0x75, 0xf2, HLT]);
        m.load(G, [0x83, 0xf9, 20, 0x75, remap.length, ...remap, 0xc3]); // cmp ecx, 20; jne ret; <remap>; ret
        m.load(F_LIN, [0x83, 0xc2, 0x01, 0xc3]); // old page: add edx, 1; ret
        m.load(P2, [0x81, 0xc2, ...le(0x100, 4), 0xc3]); // new page: add edx, 0x100; ret
        m.runToHalt();
        expect(m.cpu.halted).toBe(true);
        expect(m.reg(2)).toBe(11n + 19n * 0x100n);
      }
    }
  });

  it('runs rewritten code when the guest itself patches a block it keeps calling', () => {
    const G = KCODE + 0x3000;
    for (const threshold of [0, 1]) {
      const m = machine(threshold);
      // mov ecx, 30; L: call F; call G; dec ecx; jnz L; hlt
      m.load(KCODE, [0xb9, ...le(30, 4), 0xe8, ...le(F_LIN - (KCODE + 10), 4), 0xe8, ...le(G - (KCODE + 15), 4), 0xff, 0xc9, 0x75, 0xf2, HLT]);
      m.load(F_LIN, [0x83, 0xc2, 0x01, 0xc3]); // add edx, 1; ret
      // G: cmp ecx, 20; jne +8; mov byte [F + 2], 5; ret
      m.load(G, [0x83, 0xf9, 20, 0x75, 0x08, 0xc6, 0x04, 0x25, ...le(F_LIN + 2, 4), 0x05, 0xc3]);
      m.runToHalt();
      // ecx = 30..20 ran the old F (11 calls), ecx = 19..1 the patched one.
      expect(m.reg(2)).toBe(11n + 19n * 5n);
    }
  });

  it('checks a linked compiled block that the rest of the budget cannot hold (it is interpreted)', () => {
    const G = KCODE + 0x3000;
    const m = machine(1);
    m.load(KCODE, [0xb9, ...le(30, 4), 0xe8, ...le(F_LIN - (KCODE + 10), 4), 0xe8, ...le(G - (KCODE + 15), 4), 0xff, 0xc9, 0x75, 0xf2, HLT]);
    m.load(F_LIN, [0x83, 0xc2, 0x01, 0xc3]);
    m.load(G, [0x83, 0xf9, 20, 0x75, 0x08, 0xc6, 0x04, 0x25, ...le(F_LIN + 2, 4), 0x05, 0xc3]);
    // Run a few iterations (linking CALL F's block to F's compiled block), step to the first
    // CALL F after G patched F, then run 2 instructions: the CALL, and F's first instruction
    // through the block loop (F, linked and compiled, holds 2).
    expect(m.cpu.run(40)).toBe(40);
    while (!(m.bus.ram[F_LIN + 2] === 5 && m.cpu.rip === KCODE + 5)) m.cpu.run(1);
    expect(m.cpu.run(2)).toBe(2);
    m.runToHalt();
    expect(m.reg(2)).toBe(11n + 19n * 5n);
  });
});
