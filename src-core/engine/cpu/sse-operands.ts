// SSE/MMX operand access shared by the SSE opcode files: the 16-byte scratch operand,
// register/memory sources and stores (with alignment checks), and the CR0/CR4 checks that
// decide #UD/#NM for SSE and MMX instructions. Memory operands are checked over their whole
// width (system/mem-operand.ts).
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CR0_EM, CR0_TS, CR4_OSFXSR, EX_GP, EX_NM, EX_UD } from './constants.ts';
import { getReg } from './operands.ts';
import { wideLin } from './system/mem-operand.ts';
import { viewsOf } from './sse-int.ts';
import type { RegViews } from './sse-int.ts';

// A 16-byte scratch operand (memory sources) with views.
export const TMP = new Int32Array(4);
export const TMP16V = viewsOf(TMP.buffer, 0, 16);
export const TMP8V = viewsOf(TMP.buffer, 0, 8);
export const xmmViews = new WeakMap<Int32Array, RegViews[]>();
export const mmxViews = new WeakMap<Int32Array, RegViews[]>();
export function regViews(cache: WeakMap<Int32Array, RegViews[]>, arr: Int32Array, bytes: number, count: number): RegViews[] {
  let v = cache.get(arr);
  if (!v) {
    v = [];
    for (let i = 0; i < count; i++) v.push(viewsOf(arr.buffer as ArrayBuffer, arr.byteOffset + i * bytes, bytes));
    cache.set(arr, v);
  }
  return v;
}

export function checkSse(c: Cpu): void {
  if (c.cr0 & CR0_EM || !(c.cr4 & CR4_OSFXSR)) c.fault(EX_UD);
  if (c.cr0 & CR0_TS) c.fault(EX_NM);
}

/** An MMX write to mm`r` also sets that register's x87 sign/exponent to all ones. */
export function mmxWrote(c: Cpu, r: number): void {
  c.fpu.se[r & 7] = 0xffff;
}

export function checkMmx(c: Cpu): void {
  if (c.cr0 & CR0_EM) c.fault(EX_UD);
  if (c.cr0 & CR0_TS) c.fault(EX_NM);
  const f = c.fpu;
  f.checkPending(c); // a pending x87 exception: #MF (or FERR# with CR0.NE clear), as for FWAIT
  f.top = 0;
  f.tag.fill(0);
}

/** Load the 128-bit source (xmm reg or memory) into TMP; `align` enforces 16-byte alignment. */
export function src128(c: Cpu, ins: Instr, align: boolean): Int32Array {
  if (ins.mod === 3) {
    const b = ins.rm * 4;
    TMP[0] = c.xmm[b]!; TMP[1] = c.xmm[b + 1]!; TMP[2] = c.xmm[b + 2]!; TMP[3] = c.xmm[b + 3]!;
    return TMP;
  }
  const lin = wideLin(c, ins, 16, false);
  if (align && lin % 16 !== 0) c.fault(EX_GP, 0);
  TMP[0] = c.rd64(lin); TMP[1] = c.mhi;
  TMP[2] = c.rd64(lin + 8); TMP[3] = c.mhi;
  return TMP;
}

/** Source of `n` 32-bit words (1 or 2) for scalar ops: register low lanes or memory. */
export function srcWords(c: Cpu, ins: Instr, n: number): Int32Array {
  if (ins.mod === 3) {
    const b = ins.rm * 4;
    TMP[0] = c.xmm[b]!; TMP[1] = c.xmm[b + 1]!;
    return TMP;
  }
  const lin = wideLin(c, ins, n * 4, false);
  TMP[0] = c.rd32(lin);
  if (n > 1) TMP[1] = c.rd32(lin + 4);
  return TMP;
}

export function store128(c: Cpu, ins: Instr, src: number, align: boolean): void {
  const b = src * 4;
  if (ins.mod === 3) {
    const d = ins.rm * 4;
    c.xmm[d] = c.xmm[b]!; c.xmm[d + 1] = c.xmm[b + 1]!; c.xmm[d + 2] = c.xmm[b + 2]!; c.xmm[d + 3] = c.xmm[b + 3]!;
    return;
  }
  const lin = wideLin(c, ins, 16, true);
  if (align && lin % 16 !== 0) c.fault(EX_GP, 0);
  c.checkWritable(lin + 15);
  c.wr64(lin, c.xmm[b]!, c.xmm[b + 1]!);
  c.wr64(lin + 8, c.xmm[b + 2]!, c.xmm[b + 3]!);
}

/** MMX source (mm reg or m64) into TMP[0..1]. */
export function srcMmx(c: Cpu, ins: Instr): Int32Array {
  if (ins.mod === 3) {
    const m = c.fpu.mmx;
    const r = (ins.rm & 7) * 2;
    TMP[0] = m[r]!; TMP[1] = m[r + 1]!;
    return TMP;
  }
  const lin = wideLin(c, ins, 8, false);
  TMP[0] = c.rd64(lin); TMP[1] = c.mhi;
  return TMP;
}


/**
 * Integer r/m source of `size` bits (16, 32, 64; the high half of 64 in c.mhi) for MOVD/MOVQ,
 * PINSRW and CVTSI2SS/SD: like operands.ts readRM, but the memory operand is checked over its
 * whole width in 64-bit mode too (the last byte canonical).
 */
export function srcInt(c: Cpu, ins: Instr, size: number): number {
  if (ins.mod === 3) return getReg(c, size, ins.rm, ins.rex);
  const lin = wideLin(c, ins, size >> 3, false);
  if (size === 64) return c.rd64(lin);
  c.mhi = 0;
  return size === 32 ? c.rd32(lin) : c.rd16(lin);
}
