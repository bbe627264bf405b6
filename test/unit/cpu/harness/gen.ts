// Seeded generator of single-instruction differential cases over the user-mode opcodes the
// interpreter implements: random legal encodings (prefixes, REX, ModRM/SIB forms whose
// memory operands land in the data window), random register, flag, XMM and window contents.
import type { DiffCase } from './types.ts';
import type { ApproxSpec } from './approx.ts';
import { addMoreTemplates, randomMmxState } from './gen-more.ts';
import { randomMxcsr, randomValue, randomXmm } from './gen-values.ts';
import { WIN_ADDR, WIN_SIZE, initX87 } from './types.ts';

const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const ALL = CF | PF | AF | ZF | SF | OF;

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }
  next(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bool(p = 0.5): boolean {
    return this.next() / 4294967296 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

/** Operand-form template for one opcode. */
export interface Template {
  name: string;
  /** Opcode bytes after prefixes (e.g. [0x0f, 0xaf]). */
  op: number[];
  modrm?: 'any' | 'mem' | 'reg';
  /** Fixed ModRM.reg (group opcodes). */
  ext?: number;
  /** Immediate bytes: number, 'z' (2 with 66 else 4), 'v' (MOV r,imm: 2/4/8), 'moffs' (a window address). */
  imm?: number | 'z' | 'v' | 'moffs';
  /** Allowed prefixes. */
  p66?: boolean;
  rexw?: boolean;
  lock?: boolean;
  rep?: boolean;
  /** Which rep prefixes `rep` may add (default F3 and F2). */
  reps?: number[];
  /** Mandatory prefix byte (66, F2, F3) placed before REX. */
  mandatory?: number;
  /** Undefined flags, possibly depending on the encoded instruction. */
  undef?: number | ((bytes: number[], k: GenState) => number);
  /** SSE op: also randomise XMM registers with float-friendly values. */
  sse?: boolean;
  /** Group of the opcode for coverage accounting. */
  key?: string;
  /** MMX operands: the x87 registers start with random contents, TOP and tags. */
  mmx?: boolean;
  /** Fill the memory operand (window offset `off`) with values the instruction accepts. */
  fillMem?: (r: Rng, w: Uint8Array, off: number) => void;
  /** RCP/RSQRT estimate: results are compared within the architectural bound (approx.ts). */
  approx?: ApproxSpec['kind'];
}

export interface GenState {
  osize: number;
  count: number; // shift count / CL where relevant
}

const shiftUndef = (_b: number[], k: GenState): number => {
  const c = k.count & (k.osize === 64 ? 63 : 31);
  return AF | (c === 1 ? 0 : OF);
};

function t(name: string, op: number[], extra: Partial<Template> = {}): Template {
  return { name, op, p66: true, rexw: true, ...extra };
}

/** The templates: every user-mode integer and SSE/SSE2 opcode form the interpreter implements. */
export const TEMPLATES: Template[] = (() => {
  const T: Template[] = [];
  const alu = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  for (let a = 0; a < 8; a++) {
    const b = a * 8;
    const logic = a === 1 || a === 4 || a === 6;
    const u = logic ? AF : 0;
    T.push(t(`${alu[a]} r/m8,r8`, [b], { modrm: 'any', lock: a !== 7, undef: u, p66: false }));
    T.push(t(`${alu[a]} r/m,r`, [b + 1], { modrm: 'any', lock: a !== 7, undef: u }));
    T.push(t(`${alu[a]} r8,r/m8`, [b + 2], { modrm: 'any', undef: u, p66: false }));
    T.push(t(`${alu[a]} r,r/m`, [b + 3], { modrm: 'any', undef: u }));
    T.push(t(`${alu[a]} al,imm8`, [b + 4], { imm: 1, undef: u, p66: false, rexw: false }));
    T.push(t(`${alu[a]} eax,imm`, [b + 5], { imm: 'z', undef: u }));
    T.push(t(`${alu[a]} r/m8,imm8`, [0x80], { modrm: 'any', ext: a, imm: 1, lock: a !== 7, undef: u, p66: false, key: `80/${a}` }));
    T.push(t(`${alu[a]} r/m,imm`, [0x81], { modrm: 'any', ext: a, imm: 'z', lock: a !== 7, undef: u, key: `81/${a}` }));
    T.push(t(`${alu[a]} r/m,imm8`, [0x83], { modrm: 'any', ext: a, imm: 1, lock: a !== 7, undef: u, key: `83/${a}` }));
  }
  T.push(t('movsxd', [0x63], { modrm: 'any' }));
  T.push(t('imul r,r/m,imm', [0x69], { modrm: 'any', imm: 'z', undef: SF | ZF | AF | PF }));
  T.push(t('imul r,r/m,imm8', [0x6b], { modrm: 'any', imm: 1, undef: SF | ZF | AF | PF }));
  T.push(t('test r/m8,r8', [0x84], { modrm: 'any', undef: AF, p66: false }));
  T.push(t('test r/m,r', [0x85], { modrm: 'any', undef: AF }));
  T.push(t('xchg r/m8,r8', [0x86], { modrm: 'any', lock: true, p66: false }));
  T.push(t('xchg r/m,r', [0x87], { modrm: 'any', lock: true }));
  for (const [n, o] of [['mov r/m8,r8', 0x88], ['mov r/m,r', 0x89], ['mov r8,r/m8', 0x8a], ['mov r,r/m', 0x8b]] as const) {
    T.push(t(n, [o], { modrm: 'any', p66: o & 1 ? true : false }));
  }
  T.push(t('lea', [0x8d], { modrm: 'mem' }));
  T.push(t('pop r/m', [0x8f], { modrm: 'any', ext: 0, rexw: false, key: '8f/0' }));
  // 8F /1-/7 (XOP's escape on CPUs that had it): #UD on the host and in Hangar.
  for (let e = 1; e < 8; e++) T.push(t(`8f /${e} (#UD)`, [0x8f], { modrm: 'any', ext: e, key: `8f/${e}` }));
  // F3 90 is PAUSE (F2 and REX.B forms are plain XCHG/NOP).
  for (let r = 0; r < 8; r++) T.push(t(`xchg eax,r${r}`, [0x90 + r], { key: `90+${r}`, rep: true }));
  T.push(t('cbw/cwde/cdqe', [0x98]));
  T.push(t('cwd/cdq/cqo', [0x99]));
  T.push(t('pushf', [0x9c], { rexw: false }));
  T.push(t('sahf', [0x9e], { p66: false, rexw: false }));
  T.push(t('lahf', [0x9f], { p66: false, rexw: false }));
  T.push(t('test al,imm8', [0xa8], { imm: 1, undef: AF, p66: false, rexw: false }));
  T.push(t('test eax,imm', [0xa9], { imm: 'z', undef: AF }));
  for (let r = 0; r < 8; r++) T.push(t(`mov r8,imm8 ${r}`, [0xb0 + r], { imm: 1, p66: false, key: `b0+${r}` }));
  for (let r = 0; r < 8; r++) T.push(t(`mov r,imm ${r}`, [0xb8 + r], { imm: 'v', key: `b8+${r}` }));
  const sh = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  for (let e = 0; e < 8; e++) {
    T.push(t(`${sh[e]} r/m8,imm8`, [0xc0], { modrm: 'any', ext: e, imm: 1, undef: shiftUndef, p66: false, key: `c0/${e}` }));
    T.push(t(`${sh[e]} r/m,imm8`, [0xc1], { modrm: 'any', ext: e, imm: 1, undef: shiftUndef, key: `c1/${e}` }));
    T.push(t(`${sh[e]} r/m8,1`, [0xd0], { modrm: 'any', ext: e, undef: AF, p66: false, key: `d0/${e}` }));
    T.push(t(`${sh[e]} r/m,1`, [0xd1], { modrm: 'any', ext: e, undef: AF, key: `d1/${e}` }));
    T.push(t(`${sh[e]} r/m8,cl`, [0xd2], { modrm: 'any', ext: e, undef: shiftUndef, p66: false, key: `d2/${e}` }));
    T.push(t(`${sh[e]} r/m,cl`, [0xd3], { modrm: 'any', ext: e, undef: shiftUndef, key: `d3/${e}` }));
  }
  T.push(t('mov r/m8,imm8', [0xc6], { modrm: 'any', ext: 0, imm: 1, p66: false, key: 'c6/0' }));
  T.push(t('mov r/m,imm', [0xc7], { modrm: 'any', ext: 0, imm: 'z', key: 'c7/0' }));
  // C6/C7 /1-/7: #UD on the host and in Hangar (/7 with ModRM F8 is RTM's XABORT/XBEGIN, not advertised).
  for (let e = 1; e < 8; e++) {
    T.push(t(`c6 /${e} (#UD)`, [0xc6], { modrm: 'any', ext: e, imm: 1, p66: false, key: `c6/${e}` }));
    T.push(t(`c7 /${e} (#UD)`, [0xc7], { modrm: 'any', ext: e, imm: 'z', key: `c7/${e}` }));
  }
  const g3 = ['test', 'test', 'not', 'neg', 'mul', 'imul', 'div', 'idiv'];
  for (let e = 0; e < 8; e++) {
    const u = e < 2 ? AF : e === 4 || e === 5 ? SF | ZF | AF | PF : e >= 6 ? ALL : 0;
    const imm = e < 2 ? 1 : undefined;
    T.push(t(`${g3[e]} r/m8`, [0xf6], { modrm: 'any', ext: e, imm, undef: u, p66: false, lock: e === 2 || e === 3, key: `f6/${e}` }));
    T.push(t(`${g3[e]} r/m`, [0xf7], { modrm: 'any', ext: e, imm: e < 2 ? 'z' : undefined, undef: u, lock: e === 2 || e === 3, key: `f7/${e}` }));
  }
  T.push(t('inc r/m8', [0xfe], { modrm: 'any', ext: 0, lock: true, p66: false, key: 'fe/0' }));
  T.push(t('dec r/m8', [0xfe], { modrm: 'any', ext: 1, lock: true, p66: false, key: 'fe/1' }));
  T.push(t('inc r/m', [0xff], { modrm: 'any', ext: 0, lock: true, key: 'ff/0' }));
  T.push(t('dec r/m', [0xff], { modrm: 'any', ext: 1, lock: true, key: 'ff/1' }));
  T.push(t('push r/m', [0xff], { modrm: 'any', ext: 6, rexw: false, key: 'ff/6' }));
  for (let r = 0; r < 8; r++) {
    T.push(t(`push r${r}`, [0x50 + r], { rexw: false, key: `50+${r}` }));
    T.push(t(`pop r${r}`, [0x58 + r], { rexw: false, key: `58+${r}` }));
  }
  T.push(t('push imm', [0x68], { imm: 'z', rexw: false }));
  T.push(t('push imm8', [0x6a], { imm: 1, rexw: false }));
  T.push(t('leave', [0xc9], { rexw: false }));
  T.push(t('cmc', [0xf5], { p66: false, rexw: false }));
  T.push(t('clc', [0xf8], { p66: false, rexw: false }));
  T.push(t('stc', [0xf9], { p66: false, rexw: false }));
  T.push(t('cld', [0xfc], { p66: false, rexw: false }));
  T.push(t('std', [0xfd], { p66: false, rexw: false }));
  for (const [n, o] of [['movs', 0xa4], ['cmps', 0xa6], ['stos', 0xaa], ['lods', 0xac], ['scas', 0xae]] as const) {
    T.push(t(`${n}b`, [o], { rep: true, p66: false }));
    T.push(t(`${n}`, [o + 1], { rep: true }));
  }
  T.push(t('xlat', [0xd7], { p66: false }));
  for (let cc = 0; cc < 16; cc++) {
    T.push(t(`jcc8 ${cc}`, [0x70 + cc], { imm: 1, p66: false, rexw: false, key: `70+${cc}` }));
    T.push(t(`jcc32 ${cc}`, [0x0f, 0x80 + cc], { imm: 4, p66: false, rexw: false, key: `0f80+${cc}` }));
    T.push(t(`setcc ${cc}`, [0x0f, 0x90 + cc], { modrm: 'any', p66: false, rexw: false, key: `0f90+${cc}` }));
    T.push(t(`cmovcc ${cc}`, [0x0f, 0x40 + cc], { modrm: 'any', key: `0f40+${cc}` }));
  }
  T.push(t('jmp8', [0xeb], { imm: 1, p66: false, rexw: false }));
  T.push(t('jmp32', [0xe9], { imm: 4, p66: false, rexw: false }));
  T.push(t('call32', [0xe8], { imm: 4, p66: false, rexw: false }));
  T.push(t('ret', [0xc3], { p66: false, rexw: false }));
  T.push(t('ret imm16', [0xc2], { imm: 2, p66: false, rexw: false }));
  T.push(t('loop', [0xe2], { imm: 1, p66: false, rexw: false }));
  T.push(t('loope', [0xe1], { imm: 1, p66: false, rexw: false }));
  T.push(t('loopne', [0xe0], { imm: 1, p66: false, rexw: false }));
  T.push(t('jrcxz', [0xe3], { imm: 1, p66: false, rexw: false }));
  T.push(t('jmp r/m', [0xff], { modrm: 'any', ext: 4, p66: false, rexw: false, key: 'ff/4' }));
  T.push(t('call r/m', [0xff], { modrm: 'any', ext: 2, p66: false, rexw: false, key: 'ff/2' }));
  // 0F map integer.
  const bt = ['bt', 'bts', 'btr', 'btc'];
  for (let k = 0; k < 4; k++) {
    T.push(t(`${bt[k]} r/m,r`, [0x0f, 0xa3 + k * 8], { modrm: 'any', lock: k > 0, undef: OF | SF | AF | PF | ZF }));
    T.push(t(`${bt[k]} r/m,imm8`, [0x0f, 0xba], { modrm: 'any', ext: 4 + k, imm: 1, lock: k > 0, undef: OF | SF | AF | PF | ZF, key: `0fba/${4 + k}` }));
  }
  const dbl = (_b: number[], k: GenState): number => AF | ((k.count & (k.osize === 64 ? 63 : 31)) === 1 ? 0 : OF);
  T.push(t('shld imm', [0x0f, 0xa4], { modrm: 'any', imm: 1, undef: dbl }));
  T.push(t('shld cl', [0x0f, 0xa5], { modrm: 'any', undef: dbl }));
  T.push(t('shrd imm', [0x0f, 0xac], { modrm: 'any', imm: 1, undef: dbl }));
  T.push(t('shrd cl', [0x0f, 0xad], { modrm: 'any', undef: dbl }));
  T.push(t('imul r,r/m', [0x0f, 0xaf], { modrm: 'any', undef: SF | ZF | AF | PF }));
  T.push(t('cmpxchg r/m8', [0x0f, 0xb0], { modrm: 'any', lock: true, p66: false }));
  T.push(t('cmpxchg r/m', [0x0f, 0xb1], { modrm: 'any', lock: true }));
  T.push(t('movzx b', [0x0f, 0xb6], { modrm: 'any' }));
  T.push(t('movzx w', [0x0f, 0xb7], { modrm: 'any' }));
  T.push(t('movsx b', [0x0f, 0xbe], { modrm: 'any' }));
  T.push(t('movsx w', [0x0f, 0xbf], { modrm: 'any' }));
  T.push(t('bsf', [0x0f, 0xbc], { modrm: 'any', undef: CF | OF | SF | AF | PF }));
  T.push(t('bsr', [0x0f, 0xbd], { modrm: 'any', undef: CF | OF | SF | AF | PF }));
  T.push(t('popcnt', [0x0f, 0xb8], { modrm: 'any', mandatory: 0xf3 }));
  T.push(t('xadd r/m8', [0x0f, 0xc0], { modrm: 'any', lock: true, p66: false }));
  T.push(t('xadd r/m', [0x0f, 0xc1], { modrm: 'any', lock: true }));
  for (let r = 0; r < 8; r++) T.push(t(`bswap ${r}`, [0x0f, 0xc8 + r], { p66: false, key: `0fc8+${r}` }));
  T.push(t('cmpxchg8b/16b', [0x0f, 0xc7], { modrm: 'mem', ext: 1, lock: true, p66: false }));
  for (const op of [0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f]) T.push(t(`hint nop ${op.toString(16)}`, [0x0f, op], { modrm: 'any' }));
  // PREFETCH/PREFETCHW: register forms are #UD on the host and in Hangar.
  T.push(t('prefetch 0d', [0x0f, 0x0d], { modrm: 'any' }));
  T.push(t('ud2', [0x0f, 0x0b], { p66: false, rexw: false }));
  // SSE / SSE2.
  const sse = (name: string, op: number, mandatory: number | undefined, extra: Partial<Template> = {}): void => {
    T.push({ name, op: [0x0f, op], modrm: 'any', mandatory, sse: true, p66: false, rexw: true, ...extra, key: `${mandatory?.toString(16) ?? 'np'}0f${op.toString(16)}${extra.ext !== undefined ? '/' + extra.ext : ''}` });
  };
  for (const m of [undefined, 0x66, 0xf3, 0xf2]) {
    sse('movu/movs load', 0x10, m);
    sse('movu/movs store', 0x11, m);
    for (const op of [0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x5a, 0xc2]) sse(`arith ${op.toString(16)}`, op, m, op === 0xc2 ? { imm: 1 } : {});
  }
  for (const m of [undefined, 0x66]) {
    for (const op of [0x14, 0x15, 0x28, 0x54, 0x55, 0x56, 0x57]) sse(`pf ${op.toString(16)}`, op, m);
    sse('movaps store', 0x29, m);
    sse('movlp load', 0x12, m, { modrm: 'mem' });
    sse('movlp store', 0x13, m, { modrm: 'mem' });
    sse('movhp load', 0x16, m, { modrm: 'mem' });
    sse('movhp store', 0x17, m, { modrm: 'mem' });
    sse('ucomis', 0x2e, m, { undef: 0 });
    sse('comis', 0x2f, m);
    sse('movmskp', 0x50, m, { modrm: 'reg' });
    sse('shufp', 0xc6, m, { imm: 1 });
  }
  sse('movhlps', 0x12, undefined, { modrm: 'reg' });
  for (const m of [undefined, 0xf3]) {
    sse('rsqrt', 0x52, m, { approx: 'rsqrt' });
    sse('rcp', 0x53, m, { approx: 'rcp' });
  }
  sse('movlhps', 0x16, undefined, { modrm: 'reg' });
  for (const m of [0xf3, 0xf2]) {
    sse('cvtsi2s', 0x2a, m, { rexw: true });
    sse('cvtts2si', 0x2c, m, { rexw: true });
    sse('cvts2si', 0x2d, m, { rexw: true });
  }
  for (const m of [undefined, 0x66, 0xf3]) sse('cvtdq/ps', 0x5b, m);
  for (const m of [0x66, 0xf3, 0xf2]) sse('cvt e6', 0xe6, m);
  const ints = [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x74, 0x75, 0x76,
    0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe];
  for (const op of ints) sse(`pint ${op.toString(16)}`, op, 0x66);
  sse('movd to xmm', 0x6e, 0x66, { rexw: true });
  sse('movd from xmm', 0x7e, 0x66, { rexw: true });
  sse('movq xmm,xmm/m64', 0x7e, 0xf3);
  sse('movdqa load', 0x6f, 0x66);
  sse('movdqu load', 0x6f, 0xf3);
  sse('movdqa store', 0x7f, 0x66);
  sse('movdqu store', 0x7f, 0xf3);
  sse('movq store', 0xd6, 0x66);
  sse('pmovmskb', 0xd7, 0x66, { modrm: 'reg' });
  sse('pshufd', 0x70, 0x66, { imm: 1 });
  sse('pshufhw', 0x70, 0xf3, { imm: 1 });
  sse('pshuflw', 0x70, 0xf2, { imm: 1 });
  for (const [op, exts] of [[0x71, [2, 4, 6]], [0x72, [2, 4, 6]], [0x73, [2, 3, 6, 7]]] as const) {
    for (const e of exts) sse(`pshift imm ${op.toString(16)}/${e}`, op, 0x66, { modrm: 'reg', ext: e, imm: 1 });
  }
  sse('pinsrw', 0xc4, 0x66, { imm: 1 });
  sse('pextrw', 0xc5, 0x66, { imm: 1, modrm: 'reg' });
  sse('movnti', 0xc3, undefined, { modrm: 'mem', rexw: true, sse: false });
  sse('movntdq', 0xe7, 0x66, { modrm: 'mem' });
  sse('movntps', 0x2b, undefined, { modrm: 'mem' });
  sse('movntpd', 0x2b, 0x66, { modrm: 'mem' });
  addMoreTemplates(T, t, sse);
  for (const tp of T) {
    // Prefixes the instruction ignores are generated too (the host must ignore them alike):
    // REX.W everywhere it does not select a form, 66 on byte-sized and flag operations, and
    // F3/F2 on the 0F map's integer instructions. Near branches keep 66 off: with it Intel
    // ignores the prefix and AMD truncates RIP to 16 bits (see coverage-exclusions.ts).
    const branch = /^(j|call|ret|loop)/.test(tp.name);
    tp.rexw = true;
    // F3 RET ("rep ret", common in AMD-tuned code) and F2 branches (MPX's BND prefix in PLTs)
    // run as plain branches. Not LOOPE/LOOPNE: on the AMD host F3 makes either one loop while
    // ZF = 1 and F2 while ZF = 0 (undocumented; Hangar ignores the prefix).
    if (branch && tp.op[0] !== 0xe0 && tp.op[0] !== 0xe1) tp.rep = true;
    // One-byte integer instructions ignore F2/F3 (with LOCK: the XACQUIRE/XRELEASE hints).
    if (tp.op[0] !== 0x0f && !branch && !tp.rep && tp.reps === undefined) tp.rep = true;
    if (!tp.sse && !branch && tp.mandatory === undefined && tp.reps === undefined) tp.p66 = true;
    if (tp.op[0] === 0x0f && !tp.sse && !tp.mmx && tp.mandatory === undefined && !tp.rep && tp.reps === undefined) {
      tp.rep = true;
      // F3 0F BC/BD are TZCNT/LZCNT on BMI hosts; Hangar advertises neither and runs BSF/BSR.
      if (tp.op[1] === 0xbc || tp.op[1] === 0xbd) tp.reps = [0xf2];
    }
  }
  return T;
})();

export function templateKey(tp: Template): string {
  return tp.key ?? tp.op.map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Registers that hold window pointers (usable as bases). */
const POINTERS = [3, 5, 6, 7, 12, 13];
const POINTERS_32 = [3, 5, 6, 7];

/**
 * Generate one case from template `tp`. `compat`: for 32-bit compatibility mode (a 32-bit CS
 * under long mode): no REX prefixes (0x40-0x4F are INC/DEC there), eight registers, 32-bit
 * addresses.
 */
export function generate(r: Rng, tp: Template, compat = false): DiffCase {
  const bytes: number[] = [];
  const useRexW = !compat && tp.rexw === true && r.bool(0.5);
  const use66 = tp.p66 === true && r.bool(useRexW ? 0.1 : 0.25);
  const useLock = tp.lock === true && tp.modrm !== 'reg' && r.bool(0.2);
  let rep = 0;
  if (tp.rep && r.bool(0.6)) rep = tp.reps ? r.pick(tp.reps) : r.bool(0.5) ? 0xf3 : 0xf2;
  const osize = useRexW ? 64 : use66 ? 16 : 32;
  if (useLock) bytes.push(0xf0);
  if (use66) bytes.push(0x66);
  if (tp.mandatory !== undefined) bytes.push(tp.mandatory);
  if (rep) bytes.push(rep);
  let rex = 0x40 | (useRexW ? 8 : 0);
  // ModRM.
  let modrm = -1;
  let sib = -1;
  const disp: number[] = [];
  let memForm = false;
  // The operand as encoded, for cases that need to know it (approx: the source lanes).
  let regField = 0, rmReg = 0, memBase = 0, memIndex = -1, memScale = 0, dispVal = 0;
  if (tp.modrm) {
    memForm = tp.modrm === 'mem' || (tp.modrm === 'any' && r.bool(0.5));
    if (useLock) memForm = true;
    const reg = tp.ext !== undefined ? tp.ext : r.int(compat ? 8 : 16);
    regField = reg;
    if (tp.ext === undefined && reg >= 8) rex |= 4;
    if (!memForm) {
      const rm = r.int(compat ? 8 : 16);
      rmReg = rm;
      if (rm >= 8) rex |= 1;
      modrm = 0xc0 | ((reg & 7) << 3) | (rm & 7);
    } else {
      const base = r.pick(compat ? POINTERS_32 : POINTERS);
      memBase = base;
      if (base >= 8) rex |= 1;
      let mod = r.int(3);
      if ((base & 7) === 5 && mod === 0) mod = 1;
      const useSib = (base & 7) === 4 || r.bool(0.3);
      if (useSib) {
        // Index: RCX (small) or none; scale random.
        const index = r.bool(0.5) ? 1 : 4;
        sib = (r.int(4) << 6) | (index << 3) | (base & 7);
        if (index !== 4) { memIndex = index; memScale = sib >> 6; }
        modrm = (mod << 6) | ((reg & 7) << 3) | 4;
      } else modrm = (mod << 6) | ((reg & 7) << 3) | (base & 7);
      if (mod === 1) { disp.push(r.int(256)); dispVal = (disp[0]! << 24) >> 24; }
      else if (mod === 2) {
        const d = (r.int(0x800) - 0x400) | 0;
        dispVal = d;
        disp.push(d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >> 24) & 0xff);
      }
    }
  }
  // Random extra REX bits when nothing needs them keep the encoding space covered.
  if (!compat && (rex !== 0x40 || r.bool(0.3))) bytes.push(rex);
  bytes.push(...tp.op);
  if (modrm >= 0) bytes.push(modrm);
  if (sib >= 0) bytes.push(sib);
  bytes.push(...disp);
  let count = 0;
  const imm = tp.imm === 'z' ? (osize === 16 ? 2 : 4) : tp.imm === 'v' ? osize / 8 : tp.imm === 'moffs' ? (compat ? 4 : 8) : tp.imm ?? 0;
  for (let i = 0; i < imm; i++) bytes.push(r.int(256));
  if (tp.imm === 'moffs') {
    const a = WIN_ADDR + 0x800 + r.int(0x700);
    const n = compat ? 4 : 8;
    for (let i = 0; i < n; i++) bytes[bytes.length - n + i] = i < 4 ? (a >>> (8 * i)) & 0xff : 0;
  }
  if (tp.name === 'enter') {
    // Nesting level: a few frames; frame size: mostly the new RSP stays in the window, a fifth
    // of the time it may leave it (hardware, and Hangar, then fault on the final RSP's write
    // check with RSP and RBP unchanged).
    const size = r.bool(0.2) ? r.int(0x10000) : r.int(0x1000);
    bytes[bytes.length - 3] = size & 0xff;
    bytes[bytes.length - 2] = size >> 8;
    bytes[bytes.length - 1] = r.int(4);
  }
  const isBranch = tp.imm !== 'moffs' && tp.name.startsWith('j') || tp.name.startsWith('loop') || tp.name.startsWith('call');
  if (isBranch && imm > 0) {
    // Land inside the INT3 padding, never on the instruction itself.
    const rel = r.bool(0.5) ? r.int(100) : -(bytes.length + 1 + r.int(100));
    for (let i = 0; i < imm; i++) bytes[bytes.length - imm + i] = (rel >> (8 * i)) & 0xff;
  }
  if (imm === 1 && !isBranch) count = bytes[bytes.length - 1]!;
  const gpr: bigint[] = [];
  for (let i = 0; i < 16; i++) gpr.push(randomValue(r));
  for (const p of POINTERS) gpr[p] = BigInt(WIN_ADDR + 0x800 + r.int(0x800));
  gpr[4] = BigInt(WIN_ADDR + 0x1400 + r.int(0x200) * 8 - (r.bool(0.2) ? r.int(8) : 0));
  if (r.bool(0.7)) gpr[1] = BigInt(r.int(70)); // RCX: counts
  if (tp.name.startsWith('ret') || tp.name.startsWith('pop')) {
    // Sometimes leave a plausible return address on the stack.
  }
  if (tp.name.startsWith('shld') || tp.name.startsWith('shrd')) {
    if (osize === 16) {
      // 16-bit double shifts by more than 16 leave the destination undefined.
      const cnt = r.int(17);
      if (tp.imm === 1) bytes[bytes.length - 1] = cnt;
      else gpr[1] = (gpr[1]! & ~0xffn) | BigInt(cnt);
    }
    count = tp.imm === 1 ? bytes[bytes.length - 1]! : Number(gpr[1]! & 0xffn);
  }
  if (tp.name.includes(',cl') || tp.name.includes(' cl')) count = Number(gpr[1]! & 0xffn);
  const window = new Uint8Array(WIN_SIZE);
  for (let i = 0; i < WIN_SIZE; i += 4) {
    const v = r.next();
    window[i] = v; window[i + 1] = v >>> 8; window[i + 2] = v >>> 16; window[i + 3] = v >>> 24;
  }
  const st: GenState = { osize, count };
  const undefinedFlags = typeof tp.undef === 'function' ? tp.undef(bytes, st) : tp.undef ?? 0;
  const rflags = BigInt(r.next() & (CF | PF | AF | ZF | SF | OF | 0x400));
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const xmm = randomXmm(r);
  // The memory operand's window offset (when it lies in the window).
  let memOff = -1;
  if (memForm) {
    const ea = BigInt.asUintN(compat ? 32 : 64, gpr[memBase]! + (memIndex >= 0 ? gpr[memIndex]! << BigInt(memScale) : 0n) + BigInt(dispVal)) - BigInt(WIN_ADDR);
    if (ea >= 0n && ea < BigInt(WIN_SIZE)) memOff = Number(ea);
  }
  if (tp.fillMem && memOff >= 0) tp.fillMem(r, window, memOff);
  if (tp.name === 'popf') {
    // Clear TF and AC in the image POPF loads: TF would trap one instruction late, and AC
    // is still set when the native runner's signal handler runs (its stores then fault).
    const o = Number(gpr[4]!) - WIN_ADDR;
    // ID too: Linux does not restore it from the signal frame, so it would leak into the
    // runner's next cases.
    if (o >= 0 && o + 4 <= WIN_SIZE) { window[o + 1]! &= ~0x01; window[o + 2]! &= ~0x24; }
  }
  let approx: ApproxSpec | undefined;
  if (tp.approx) {
    // The source lanes as the instruction will read them: an XMM register or the window.
    const lanes = tp.mandatory === 0xf3 ? 1 : 4;
    let src: number[] | undefined;
    if (!memForm) src = [...new Uint32Array(xmm.buffer, rmReg * 16, lanes)];
    else if (memOff >= 0 && memOff + lanes * 4 <= WIN_SIZE) {
      const dv = new DataView(window.buffer);
      src = [];
      for (let i = 0; i < lanes; i++) src.push(dv.getUint32(memOff + i * 4, true));
    }
    approx = { kind: tp.approx, dst: regField, lanes, src };
  }
  return {
    name: `${tp.name} [${hex}]`,
    gpr,
    rflags,
    mxcsr: tp.sse ? randomMxcsr(r) : 0x1f80,
    mxcsrFlags: tp.sse === true,
    xmm,
    approx,
    x87: tp.mmx ? randomMmxState(r) : initX87(),
    code: new Uint8Array(bytes),
    window,
    undefinedFlags,
    compat: compat || undefined,
  };
}
