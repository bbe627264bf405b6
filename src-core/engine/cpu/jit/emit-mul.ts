// Source emitters for IMUL with two and three operands (0F AF, 69, 6B) in compiled blocks,
// 32- and 64-bit. The kernel's multi-precision arithmetic (lib/mpi, generic C) builds each
// 64x64->128 product from four IMULs of 32-bit halves, so these run hundreds of millions of
// times in a boot. Results and flags are those of imul3() (exec-arith.ts): CF = OF = the
// product does not fit the destination; SF, ZF and PF from the result; AF clear.
//
// Flags: a product that fits is recorded as a lazy logic result (ZF/SF/PF from the result, CF
// = OF = AF = 0: exactly what imul3 sets eagerly); one that overflows sets the flags eagerly.
import type { EmitCtx } from './emit-mem.ts';
import { readReg, readRM, writeReg } from './emit-mem.ts';
import { flagsDead } from './emit-alu.ts';
import { FL_LOGIC } from '../flags.ts';

const TWO32 = 4294967296;
/** CF | PF | AF | ZF | SF | OF, and CF | OF. */
const ARITH = 0x8d5;
const CF_OF = 0x801;

/** Flags after the product in r (rhh) with overflow in q (1/0); nothing when dead. */
function flags(size: 32 | 64): string {
  if (flagsDead) return '';
  const hi = size === 64 ? 'rhh' : '0';
  // On overflow: PF from the low byte, SF from the top bit, ZF impossible (the product is
  // non-zero when it does not fit).
  const sf = size === 64 ? '(rhh < 0 ? 128 : 0)' : '(r < 0 ? 128 : 0)';
  const zf = size === 64 ? '((r | rhh) === 0 ? 64 : 0)' : '(r === 0 ? 64 : 0)';
  return `if (q !== 0) { c.flags = (c.flags & ${~ARITH}) | H.PARITY[r & 255] | ${zf} | ${sf} | ${CF_OF}; c.flOp = 0; }\n` +
    `else { c.flOp = ${FL_LOGIC}; c.flSize = ${size}; c.flRes = r; c.flResH = ${hi}; c.flA = 0; c.flAH = 0; c.flB = 0; c.flBH = 0; }\n`;
}

/**
 * r:rhh = a:ah * b:bh (low 64 bits), q = signed overflow. Operands with both high halves
 * zero (the halves multi-precision code multiplies) take an exact inline path: the
 * 32x32-bit product split at 16 bits of b so every partial product is exact in a double.
 * Anything else goes through mul64 (H.imul64), which also sets the flags.
 */
function mul64(bConst: number | null): string {
  const fast = `p0 = (a >>> 0) * (b & 65535); p1 = (a >>> 0) * (b >>> 16); r = Math.imul(a, b);\n` +
    `p0 += (p1 % 65536) * 65536; rhh = (Math.floor(p1 / 65536) + Math.floor(p0 / ${TWO32})) | 0; q = rhh < 0 ? 1 : 0;\n`;
  const f = flags(64);
  if (bConst !== null && bConst >= 0) return `if (ah === 0) {\n${fast}${f}} else { r = H.imul64(c, a, ah, b, 0); rhh = c.rhi; }\n`;
  return `if ((ah | bh) === 0) {\n${fast}${f}} else { r = H.imul64(c, a, ah, b, bh); rhh = c.rhi; }\n`;
}

function mul32(): string {
  // The double product is exact whenever it fits 32 bits, so comparing it with the wrapped
  // one detects overflow (imul3 does the same).
  return `r = Math.imul(a, b); q = (a | 0) * (b | 0) !== r ? 1 : 0;\n` + flags(32);
}

/** IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B); null for 16-bit operands. */
export function emitImul(x: EmitCtx): string | null {
  const ins = x.ins;
  const os = ins.osize;
  if (os !== 32 && os !== 64) return null;
  const rd = readRM(x, os, 'a', 'ah');
  if (rd === null) return null;
  let s = rd;
  let bConst: number | null = null;
  if (ins.op === 0x1af) s += readReg(os, ins.reg, ins.rex, 'b', 'bh') + '\n';
  else {
    bConst = ins.imm | 0;
    s += `b = ${bConst}; bh = ${bConst >> 31};\n`;
  }
  s += os === 64 ? mul64(bConst) : mul32();
  return s + writeReg(os, ins.reg, 0, 'r', 'rhh') + '\n';
}
