// Integer ALU: the eight classic binary operations, shifts and rotates with exact flags,
// multiply and divide in every size. Results: low half returned, high half in c.rhi.
import type { Cpu } from './cpu.ts';
import { AF, CF, EX_DE, OF, PF, SF, ZF } from './constants.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
import {
  FL_ADC, FL_ADD, FL_LOGIC, FL_SBB, FL_SUB, PARITY, computeArith, getAF, getCF, setArith, setLazy,
} from './flags.ts';

export const OP_ADD = 0;
export const OP_OR = 1;
export const OP_ADC = 2;
export const OP_SBB = 3;
export const OP_AND = 4;
export const OP_SUB = 5;
export const OP_XOR = 6;
export const OP_CMP = 7;

function maskOf(size: number): number {
  return size === 8 ? 0xff : size === 16 ? 0xffff : -1;
}

/** One of the eight group-1 operations. CMP computes but the caller must not write back. */
export function alu(c: Cpu, op: number, size: number, a: number, ah: number, b: number, bh: number): number {
  if (size === 64) {
    let lo: number;
    let hi = 0;
    switch (op) {
      case OP_ADD: {
        const s = (a >>> 0) + (b >>> 0);
        lo = s | 0;
        hi = (ah + bh + (s >= TWO32 ? 1 : 0)) | 0;
        setLazy(c, FL_ADD, 64, lo, hi, a, ah, b, bh);
        break;
      }
      case OP_ADC: {
        const cin = getCF(c);
        const s = (a >>> 0) + (b >>> 0) + cin;
        lo = s | 0;
        hi = (ah + bh + (s >= TWO32 ? 1 : 0)) | 0;
        c.flCf = cin;
        setLazy(c, FL_ADC, 64, lo, hi, a, ah, b, bh);
        break;
      }
      case OP_SUB:
      case OP_CMP: {
        const s = (a >>> 0) - (b >>> 0);
        lo = s | 0;
        hi = (ah - bh - (s < 0 ? 1 : 0)) | 0;
        setLazy(c, FL_SUB, 64, lo, hi, a, ah, b, bh);
        break;
      }
      case OP_SBB: {
        const cin = getCF(c);
        const s = (a >>> 0) - (b >>> 0) - cin;
        lo = s | 0;
        hi = (ah - bh - (s < 0 ? 1 : 0)) | 0;
        c.flCf = cin;
        setLazy(c, FL_SBB, 64, lo, hi, a, ah, b, bh);
        break;
      }
      case OP_OR: lo = a | b; hi = ah | bh; setLazy(c, FL_LOGIC, 64, lo, hi, 0, 0, 0, 0); break;
      case OP_AND: lo = a & b; hi = ah & bh; setLazy(c, FL_LOGIC, 64, lo, hi, 0, 0, 0, 0); break;
      default: lo = a ^ b; hi = ah ^ bh; setLazy(c, FL_LOGIC, 64, lo, hi, 0, 0, 0, 0); break;
    }
    c.rhi = hi;
    return lo;
  }
  const m = maskOf(size);
  let r: number;
  switch (op) {
    case OP_ADD: r = (a + b) & m; c.flOp = FL_ADD; break;
    case OP_ADC: { const cin = getCF(c); r = (a + b + cin) & m; c.flCf = cin; c.flOp = FL_ADC; break; }
    case OP_SUB: case OP_CMP: r = (a - b) & m; c.flOp = FL_SUB; break;
    case OP_SBB: { const cin = getCF(c); r = (a - b - cin) & m; c.flCf = cin; c.flOp = FL_SBB; break; }
    case OP_OR: r = (a | b) & m; c.flOp = FL_LOGIC; break;
    case OP_AND: r = a & b & m; c.flOp = FL_LOGIC; break;
    default: r = (a ^ b) & m; c.flOp = FL_LOGIC; break;
  }
  c.flSize = size;
  c.flRes = r;
  c.flA = a;
  c.flB = b;
  c.rhi = 0;
  return r;
}

function szpOf(size: number, r: number, rh: number): number {
  let f = PARITY[r & 0xff]!;
  if (size === 64) {
    if ((r | rh) === 0) f |= ZF;
    if (rh < 0) f |= SF;
  } else {
    const m = maskOf(size);
    if ((r & m) === 0) f |= ZF;
    if (r & (size === 32 ? 0x80000000 : size === 16 ? 0x8000 : 0x80)) f |= SF;
  }
  return f;
}

function msb(size: number, r: number, rh: number): number {
  if (size === 64) return rh >>> 31;
  return (r >>> (size - 1)) & 1;
}

/**
 * Group-2 shift/rotate (ext = ModRM.reg: ROL ROR RCL RCR SHL SHR SAL SAR). Count already
 * taken from CL or the immediate. Returns low half; high in c.rhi. With a masked count of
 * 0 the value and flags are unchanged.
 */
export function shift(c: Cpu, ext: number, size: number, a: number, ah: number, count: number): number {
  const cnt = count & (size === 64 ? 0x3f : 0x1f);
  c.rhi = ah;
  if (cnt === 0) return a;
  // Rotates keep the other arithmetic flags; SHL/SHR/SAR only AF (undefined, kept as it was).
  const old = ext >= 4 ? getAF(c) : computeArith(c);
  let lo = a;
  let hi = ah;
  let cf = 0;
  let of = 0;
  let f: number;
  switch (ext) {
    case 0: case 1: { // ROL, ROR
      const n = cnt % size;
      if (n !== 0) {
        if (ext === 0) rotl(size, a, ah, n); else rotl(size, a, ah, size - n);
        lo = tmpLo; hi = tmpHi;
      }
      if (ext === 0) {
        cf = lo & 1;
        of = msb(size, lo, hi) ^ cf;
      } else {
        cf = msb(size, lo, hi);
        of = cf ^ (size === 64 ? (hi >>> 30) & 1 : (lo >>> (size - 2)) & 1);
      }
      f = (old & ~(CF | OF)) | cf | (of ? OF : 0);
      break;
    }
    case 2: case 3: { // RCL, RCR through carry: rotate size+1 bits one step at a time.
      const n = size === 64 || size === 32 ? cnt : cnt % (size + 1);
      cf = old & CF;
      for (let k = 0; k < n; k++) {
        if (ext === 2) {
          const out = msb(size, lo, hi);
          if (size === 64) { hi = (hi << 1) | (lo >>> 31); lo = (lo << 1) | cf; }
          else lo = ((lo << 1) | cf) & maskOf(size);
          cf = out;
        } else {
          const out = lo & 1;
          if (size === 64) { lo = (lo >>> 1) | (hi << 31); hi = (hi >>> 1) | (cf << 31); }
          else lo = ((lo & maskOf(size)) >>> 1) | (cf << (size - 1));
          cf = out;
        }
      }
      if (ext === 2) of = msb(size, lo, hi) ^ cf;
      else of = msb(size, lo, hi) ^ (size === 64 ? (hi >>> 30) & 1 : (lo >>> (size - 2)) & 1);
      f = (old & ~(CF | OF)) | cf | (of ? OF : 0);
      break;
    }
    case 4: case 6: { // SHL/SAL
      if (size === 64) {
        cf = cnt <= 32 ? (hi >>> (32 - cnt)) & 1 : (lo >>> (64 - cnt)) & 1;
        if (cnt < 32) { hi = (hi << cnt) | (lo >>> (32 - cnt)); lo = lo << cnt; }
        else { hi = lo << (cnt - 32); lo = 0; }
      } else {
        const m = maskOf(size);
        cf = cnt <= size ? ((a & m) >>> (size - cnt)) & 1 : 0;
        lo = cnt >= 32 ? 0 : (a << cnt) & m;
      }
      of = msb(size, lo, hi) ^ cf;
      f = szpOf(size, lo, hi) | cf | (of ? OF : 0);
      break;
    }
    case 5: { // SHR
      if (size === 64) {
        cf = cnt <= 32 ? (lo >>> (cnt - 1)) & 1 : (hi >>> (cnt - 33)) & 1;
        of = ah >>> 31;
        if (cnt < 32) { lo = (lo >>> cnt) | (hi << (32 - cnt)); hi = hi >>> cnt; }
        else { lo = hi >>> (cnt - 32); hi = 0; }
      } else {
        const v = a & maskOf(size);
        cf = (v >>> (cnt - 1)) & 1;
        of = (v >>> (size - 1)) & 1;
        lo = cnt >= 32 ? 0 : v >>> cnt;
      }
      f = szpOf(size, lo, hi) | cf | (of ? OF : 0);
      break;
    }
    default: { // SAR
      if (size === 64) {
        cf = cnt <= 32 ? (lo >>> (cnt - 1)) & 1 : (hi >> Math.min(cnt - 33, 31)) & 1;
        if (cnt < 32) { lo = (lo >>> cnt) | (hi << (32 - cnt)); hi = hi >> cnt; }
        else { lo = hi >> (cnt - 32); hi = hi >> 31; }
      } else {
        const sh = 32 - size;
        const v = (a << sh) >> sh; // sign-extended
        cf = (v >> Math.min(cnt - 1, 31)) & 1;
        lo = (v >> Math.min(cnt, 31)) & maskOf(size);
      }
      f = szpOf(size, lo, hi) | cf;
      break;
    }
  }
  if (size === 32) lo |= 0;
  if (size < 64) hi = 0;
  if (ext >= 4) f |= old & AF; // AF undefined for shifts: keep the old value
  setArith(c, f);
  c.rhi = hi;
  return lo;
}

let tmpLo = 0;
let tmpHi = 0;
function rotl(size: number, a: number, ah: number, n: number): void {
  if (size === 64) {
    if (n >= 32) { const t = a; a = ah; ah = t; n -= 32; }
    if (n === 0) { tmpLo = a; tmpHi = ah; return; }
    tmpHi = (ah << n) | (a >>> (32 - n));
    tmpLo = (a << n) | (ah >>> (32 - n));
    return;
  }
  const m = maskOf(size);
  const v = a & m;
  tmpLo = ((v << n) | (v >>> (size - n))) & m;
  tmpHi = 0;
}

/** SHLD/SHRD: shift dst by count filling from src. */
export function shiftDouble(c: Cpu, left: boolean, size: number, d: number, dh: number, s: number, sh: number, count: number): number {
  const cnt = count & (size === 64 ? 0x3f : 0x1f);
  c.rhi = dh;
  if (cnt === 0) return d;
  const old = computeArith(c);
  let lo: number;
  let hi = 0;
  let cf: number;
  if (size === 64) {
    // Build the 128-bit concatenation as four words and shift.
    if (left) {
      cf = cnt <= 32 ? (dh >>> (32 - cnt)) & 1 : (d >>> (64 - cnt)) & 1;
      if (cnt < 32) { hi = (dh << cnt) | (d >>> (32 - cnt)); lo = (d << cnt) | (sh >>> (32 - cnt)); }
      else if (cnt === 32) { hi = d; lo = sh; }
      else { hi = (d << (cnt - 32)) | (sh >>> (64 - cnt)); lo = (sh << (cnt - 32)) | (s >>> (64 - cnt)); }
    } else {
      cf = cnt <= 32 ? (d >>> (cnt - 1)) & 1 : (dh >>> (cnt - 33)) & 1;
      if (cnt < 32) { lo = (d >>> cnt) | (dh << (32 - cnt)); hi = (dh >>> cnt) | (s << (32 - cnt)); }
      else if (cnt === 32) { lo = dh; hi = s; }
      else { lo = (dh >>> (cnt - 32)) | (s << (64 - cnt)); hi = (s >>> (cnt - 32)) | (sh << (64 - cnt)); }
    }
  } else if (size === 32) {
    if (left) { cf = (d >>> (32 - cnt)) & 1; lo = (d << cnt) | (s >>> (32 - cnt)); }
    else { cf = (d >>> (cnt - 1)) & 1; lo = (d >>> cnt) | (s << (32 - cnt)); }
  } else {
    // 16-bit: results for counts above 16 are undefined on real CPUs (the tests skip them).
    const dd = d & 0xffff;
    const ss = s & 0xffff;
    if (left) {
      const comp = ((dd << 16) | ss) >>> 0;
      lo = cnt <= 16 ? ((comp << cnt) >>> 16) & 0xffff : (ss << (cnt - 16)) & 0xffff;
      cf = cnt <= 16 ? (dd >>> (16 - cnt)) & 1 : 0;
    } else {
      const comp = ((ss << 16) | dd) >>> 0;
      lo = (comp >>> cnt) & 0xffff;
      cf = (comp >>> (cnt - 1)) & 1;
    }
  }
  const of = msb(size, lo, hi) ^ msb(size, d, dh);
  setArith(c, szpOf(size, lo, hi) | cf | (of ? OF : 0) | (old & AF));
  c.rhi = hi;
  return size === 32 ? lo | 0 : lo;
}

// ---- multiply / divide ----

/** 64x64 -> 128 unsigned multiply into MUL_OUT[0..3] (32-bit words, little-endian). */
export const MUL_OUT = new Uint32Array(4);
/**
 * 64x64 -> 128 unsigned multiply into MUL_OUT[0..3] (32-bit words, little-endian), from four
 * 32x32 partial products. Each of those is formed from 32x16-bit pieces of at most 48 bits, so
 * double arithmetic is exact; `>>> 0`, `& 0xffff` and division by powers of two stay exact too
 * (no BigInt, no allocation, no floating-point remainder, all in locals: the kernel's RSA and
 * Diffie-Hellman self-tests spend much of the boot in MUL).
 */
function mulu64(al: number, ah: number, bl: number, bh: number): void {
  const bl0 = bl & 0xffff, bl1 = bl >>> 16, bh0 = bh & 0xffff, bh1 = bh >>> 16;
  // al * bl
  let p = al * bl0, q = al * bl1, t = p + (q & 0xffff) * 65536;
  const w0 = t >>> 0;
  const h00 = Math.floor(q / 65536) + (t - w0) / 4294967296;
  // al * bh
  p = al * bh0; q = al * bh1; t = p + (q & 0xffff) * 65536;
  const l01 = t >>> 0;
  const h01 = Math.floor(q / 65536) + (t - l01) / 4294967296;
  // ah * bl
  p = ah * bl0; q = ah * bl1; t = p + (q & 0xffff) * 65536;
  const l10 = t >>> 0;
  const h10 = Math.floor(q / 65536) + (t - l10) / 4294967296;
  // ah * bh
  p = ah * bh0; q = ah * bh1; t = p + (q & 0xffff) * 65536;
  const l11 = t >>> 0;
  const h11 = Math.floor(q / 65536) + (t - l11) / 4294967296;
  const s1 = h00 + l01 + l10;
  const w1 = s1 >>> 0;
  const s2 = h01 + h10 + l11 + (s1 - w1) / 4294967296;
  const w2 = s2 >>> 0;
  MUL_OUT[0] = w0;
  MUL_OUT[1] = w1;
  MUL_OUT[2] = w2;
  MUL_OUT[3] = (h11 + (s2 - w2) / 4294967296) >>> 0;
}

function neg128(): void {
  let carry = 1;
  for (let k = 0; k < 4; k++) {
    const t = (~MUL_OUT[k]! >>> 0) + carry;
    MUL_OUT[k] = t >>> 0;
    carry = t >= TWO32 ? 1 : 0;
  }
}

/**
 * 64-bit multiply; signed when `signed`. Leaves the 128-bit product in MUL_OUT and sets CF/OF
 * when the high half is significant. SF/ZF/PF/AF are undefined on real CPUs; we set them
 * from the low half like many implementations.
 */
export function mul64(c: Cpu, signed: boolean, al: number, ah: number, bl: number, bh: number): void {
  let neg = false;
  if (signed) {
    if (ah < 0) { const s = (~al >>> 0) + 1; al = s | 0; ah = (~ah + (s >= TWO32 ? 1 : 0)) | 0; neg = !neg; }
    if (bh < 0) { const s = (~bl >>> 0) + 1; bl = s | 0; bh = (~bh + (s >= TWO32 ? 1 : 0)) | 0; neg = !neg; }
  }
  mulu64(al >>> 0, ah >>> 0, bl >>> 0, bh >>> 0);
  if (neg) neg128();
  let over: boolean;
  if (signed) {
    const ext = (MUL_OUT[1]! | 0) < 0 ? 0xffffffff : 0;
    over = MUL_OUT[2] !== ext || MUL_OUT[3] !== ext;
  } else over = MUL_OUT[2] !== 0 || MUL_OUT[3] !== 0;
  setArith(c, szpOf(64, MUL_OUT[0]! | 0, MUL_OUT[1]! | 0) | (over ? CF | OF : 0));
}

/** Flags for the smaller MUL/IMUL forms given the product's significance. */
export function mulFlags(c: Cpu, size: number, lo: number, over: boolean): void {
  setArith(c, szpOf(size, lo, 0) | (over ? CF | OF : 0));
}

/**
 * 128/64 division: dividend (d3:d2:d1:d0 words), divisor hi:lo. Quotient to DIV_Q (lo, hi),
 * remainder to DIV_R. Raises #DE on divide by zero or quotient overflow.
 */
export const DIV_Q = new Int32Array(2);
export const DIV_R = new Int32Array(2);
export function div64(c: Cpu, signed: boolean, nlo: number, nhi: number, dxlo: number, dxhi: number, vlo: number, vhi: number): void {
  if ((vlo | vhi) === 0) c.fault(EX_DE);
  // Fast path: dividend fits in 53 bits and divisor is positive-small.
  if (!signed && dxlo === 0 && dxhi === 0 && nhi >>> 0 < 0x200000 && vhi >>> 0 < 0x200000) {
    const n = (nhi >>> 0) * TWO32 + (nlo >>> 0);
    const v = (vhi >>> 0) * TWO32 + (vlo >>> 0);
    const q = Math.floor(n / v);
    const r = n - q * v;
    DIV_Q[0] = q % TWO32 | 0; DIV_Q[1] = Math.floor(q / TWO32) | 0;
    DIV_R[0] = r % TWO32 | 0; DIV_R[1] = Math.floor(r / TWO32) | 0;
    return;
  }
  // Rare path: exact arithmetic with BigInt (not on the hot path of typical code).
  const M = 0xffffffffn;
  let n = (BigInt(dxhi >>> 0) << 96n) | (BigInt(dxlo >>> 0) << 64n) | (BigInt(nhi >>> 0) << 32n) | BigInt(nlo >>> 0);
  let v = (BigInt(vhi >>> 0) << 32n) | BigInt(vlo >>> 0);
  if (signed) {
    if (n >> 127n) n -= 1n << 128n;
    if (v >> 63n) v -= 1n << 64n;
  }
  const q = n / v; // truncates toward zero like IDIV
  const r = n - q * v;
  if (signed ? q > 0x7fffffffffffffffn || q < -0x8000000000000000n : q > 0xffffffffffffffffn) c.fault(EX_DE);
  const qu = BigInt.asUintN(64, q);
  const ru = BigInt.asUintN(64, r);
  DIV_Q[0] = Number(qu & M) | 0; DIV_Q[1] = Number(qu >> 32n) | 0;
  DIV_R[0] = Number(ru & M) | 0; DIV_R[1] = Number(ru >> 32n) | 0;
}

export { PF, SF, ZF, AF, FL_ADD, FL_SUB, FL_LOGIC, FL_ADC, FL_SBB };
