// Block compiler exactness for the instructions it compiles beyond plain ALU and moves: IMUL
// (two and three operands, the inline path for high halves of zero and the mul64 path),
// shifts and rotates by a constant whose flags are dead (value only), ADC/SBB with the carry
// fused from the instruction before, SETcc/CMOVcc fused to the comparison just before, and
// INC/DEC with dead flags. Every case runs interpreted (threshold 0) and with every block
// compiled (threshold 1), and leaves rax, rbx, rcx and RFLAGS (PUSHFQ) in memory; the two
// runs must agree byte for byte, and the compiled run must really have compiled blocks.
import { describe, expect, it } from 'vitest';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

const MOV = (reg: number, v: bigint): number[] => [0x48, 0xb8 + reg, ...le(v, 8)];
const RAX = 0, RCX = 1, RBX = 3, RDI = 7;
const HLT = 0xf4;
/** pushfq; pop rdx; mov [rdi], rax; mov [rdi+8], rbx; mov [rdi+16], rdx; mov [rdi+24], rcx; add rdi, 32 */
const RECORD = [0x9c, 0x5a, 0x48, 0x89, 0x07, 0x48, 0x89, 0x5f, 0x08, 0x48, 0x89, 0x57, 0x10, 0x48, 0x89, 0x4f, 0x18, 0x48, 0x83, 0xc7, 0x20];
/** add rcx, rbx: overwrites every arithmetic flag, register-only (kills the flags before it). */
const KILL = [0x48, 0x01, 0xd9];

const VALUES: [bigint, bigint][] = [
  [0n, 0n], [1n, 2n], [3n, 0xffffffffn], [0xffffffffn, 0xffffffffn], [0x80000000n, 2n], [0x7fffffffn, 0x7fffffffn],
  [0x12345678n, 0x9abcdef0n], [0xfffffffffffffffen, 3n], [0x8000000000000000n, 1n], [0x7fffffffffffffffn, 2n],
  [0x100000000n, 0x100000000n], [0xfedcba9876543210n, 0x0123456789abcdefn], [0xffffffff80000000n, 0x7fffffffn],
  [0x5555555555555555n, 0xaaaaaaaaaaaaaaaan], [0x10n, 0xfffffffffffffff0n], [0xffffn, 0x10001n],
];

/** Cases: per operand pair, load rax/rbx/rcx, run `ops`, record. */
function cases(opsList: number[][]): number[][] {
  const out: number[][] = [];
  opsList.forEach((ops, i) => {
    VALUES.forEach(([a, b], j) => {
      out.push([...MOV(RAX, a), ...MOV(RBX, b), ...MOV(RCX, BigInt(i * 977 + j * 131) ^ a), ...ops, ...RECORD]);
    });
  });
  return out;
}

function run(program: number[][], threshold: number): Uint8Array {
  const m = new Machine64();
  m.cpu.jitThreshold = threshold;
  m.cpu.jitMinInlined = 1;
  const code = [...MOV(RDI, BigInt(DATA)), ...program.flat(), HLT];
  expect(KCODE + code.length).toBeLessThan(0x30000); // below the interrupt stubs
  m.load(KCODE, code);
  m.runToHalt(10_000_000);
  expect(m.cpu.rip).toBe(KCODE + code.length);
  return m.bus.ram.slice(DATA, DATA + program.length * 32);
}

function agree(opsList: number[][]): void {
  const all = cases(opsList);
  // As many programs as the code space below the interrupt stubs needs.
  for (let start = 0; start < all.length;) {
    let end = start;
    let bytes = 0;
    while (end < all.length && bytes + all[end]!.length < 0x1f000) bytes += all[end++]!.length;
    const program = all.slice(start, end);
    const interpreted = run(program, 0);
    const before = jitStats.blocks;
    const compiled = run(program, 1);
    expect(jitStats.blocks - before).toBeGreaterThan(program.length / 4);
    for (let k = 0; k < program.length; k++) {
      const a = [...interpreted.subarray(k * 32, k * 32 + 32)];
      const b = [...compiled.subarray(k * 32, k * 32 + 32)];
      const n = start + k;
      if (a.join() !== b.join()) throw new Error(`case ${n} (ops ${opsList[n / VALUES.length | 0]}): interpreted ${a} compiled ${b}`);
    }
    start = end;
  }
}

describe('block compiler: IMUL', () => {
  const forms: number[][] = [
    [0x48, 0x0f, 0xaf, 0xc3], // imul rax, rbx
    [0x0f, 0xaf, 0xc3], // imul eax, ebx
    [0x48, 0x69, 0xc3, ...le(0x12345, 4)], // imul rax, rbx, 0x12345
    [0x48, 0x69, 0xc3, ...le(0x80000001, 4)], // imul rax, rbx, -0x7fffffff
    [0x48, 0x6b, 0xc3, 0x7f], // imul rax, rbx, 127
    [0x48, 0x6b, 0xc3, 0xff], // imul rax, rbx, -1
    [0x6b, 0xc3, 0x10], // imul eax, ebx, 16
    [0x69, 0xc3, ...le(0x10000, 4)], // imul eax, ebx, 0x10000
  ];
  it('computes products and flags (live and dead) as the interpreter does', () => {
    agree([...forms, ...forms.map((f) => [...f, ...KILL])]);
  });
});

describe('block compiler: shifts and rotates by a constant', () => {
  const forms: number[][] = [];
  for (const ext of [0, 1, 4, 5, 7]) {
    for (const n of [1, 5, 31, 32, 33, 63, 64]) {
      forms.push([0x48, 0xc1, 0xc0 | (ext << 3), n]); // 64-bit rax
      if (n < 33) forms.push([0xc1, 0xc0 | (ext << 3), n]); // 32-bit eax
    }
    forms.push([0x48, 0xd1, 0xc0 | (ext << 3)], [0xd1, 0xc0 | (ext << 3)]);
    // Count in CL (rcx holds a different value per case): never a constant.
    forms.push([0x48, 0xd3, 0xc0 | (ext << 3)], [0xd3, 0xc0 | (ext << 3)]);
  }
  it('computes the value with flags dead (overwritten) and live (read by PUSHFQ)', () => {
    // Dead: the next register-only instruction rewrites all flags; a MOV in between keeps
    // them dead. Live: PUSHFQ right after.
    agree([...forms.map((f) => [...f, ...KILL]), ...forms.map((f) => [...f, 0x48, 0x89, 0xc2, ...KILL]), ...forms]);
  });
  it('keeps live flags across a memory access after a shift', () => {
    // shl rax, 3; mov rdx, [rdi - 8] (may fault: the flags stay live); add rcx, rbx
    agree([[0x48, 0xc1, 0xe0, 0x03, 0x48, 0x8b, 0x57, 0xf8, ...KILL], [0xc1, 0xe8, 0x07, 0x48, 0x8b, 0x57, 0xf8]]);
  });
});

describe('block compiler: ADC/SBB, SETcc and CMOVcc after the instruction that set the flags', () => {
  const setters: number[][] = [
    [0x48, 0x01, 0xd8], // add rax, rbx
    [0x48, 0x29, 0xd8], // sub rax, rbx
    [0x48, 0x39, 0xd8], // cmp rax, rbx
    [0x48, 0x21, 0xd8], // and rax, rbx
    [0x01, 0xd8], // add eax, ebx
    [0x39, 0xd8], // cmp eax, ebx
    [0x00, 0xd8], // add al, bl
    [0x66, 0x29, 0xd8], // sub ax, bx
  ];
  const readers: number[][] = [
    [0x48, 0x11, 0xd9], // adc rcx, rbx
    [0x48, 0x19, 0xd9], // sbb rcx, rbx
    [0x11, 0xd9], // adc ecx, ebx
    [0x10, 0xd9], // adc cl, bl
    [0x48, 0x83, 0xd1, 0x00], // adc rcx, 0
    [0x48, 0x83, 0xd9, 0x05], // sbb rcx, 5
  ];
  for (let cc = 0; cc < 16; cc++) {
    readers.push([0x0f, 0x90 + cc, 0xc1]); // setcc cl
    readers.push([0x48, 0x0f, 0x40 + cc, 0xcb]); // cmovcc rcx, rbx
  }
  it('uses the carry and conditions exactly', () => {
    const ops: number[][] = [];
    for (const s of setters) for (const r of readers) ops.push([...s, ...r]);
    agree(ops);
  });
  it('reads the flags through the lazy record when the setter is not just before', () => {
    // cmp rax, rbx; mov rdx, rax; cmovb rcx, rbx / adc rcx, rbx / setbe cl
    agree([[0x48, 0x39, 0xd8, 0x48, 0x89, 0xc2, 0x48, 0x0f, 0x42, 0xcb], [0x48, 0x01, 0xd8, 0x48, 0x89, 0xc2, 0x48, 0x11, 0xd9],
      [0x29, 0xd8, 0x48, 0x8d, 0x14, 0x58, 0x0f, 0x96, 0xc1]]);
  });
});

describe('block compiler: INC/DEC', () => {
  it('keeps CF when the flags are live and computes the value when they are dead', () => {
    const forms = [[0x48, 0xff, 0xc0], [0x48, 0xff, 0xc8], [0xff, 0xc0], [0xff, 0xc8], [0xfe, 0xc0], [0x66, 0xff, 0xc8]];
    // add rax, rbx first so CF is set in some cases
    agree([...forms.map((f) => [0x48, 0x01, 0xd8, ...f]), ...forms.map((f) => [0x48, 0x01, 0xd8, ...f, ...KILL])]);
  });
});
