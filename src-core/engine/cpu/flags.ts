// Lazy arithmetic flags. ALU operations record (op, size, a, b, result) and the six
// arithmetic flags are computed only when something reads them. flOp = 0 means the
// arithmetic bits in cpu.flags are authoritative ("eager").
import type { Cpu } from './cpu.ts';
import { AF, ARITH, CF, OF, PF, SF, ZF } from './constants.ts';

export const FL_EAGER = 0;
export const FL_ADD = 1;
export const FL_ADC = 2;
export const FL_SUB = 3;
export const FL_SBB = 4;
export const FL_LOGIC = 5;
export const FL_INC = 6;
export const FL_DEC = 7;

/** PARITY[b] = PF when byte b has an even number of set bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  PARITY[i] = n & 1 ? 0 : PF;
}

function ult64(ah: number, al: number, bh: number, bl: number): boolean {
  return ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0);
}

/** Compute the six arithmetic flags from the lazy record. */
export function computeArith(c: Cpu): number {
  const op = c.flOp;
  if (op === FL_EAGER) return c.flags & ARITH;
  const size = c.flSize;
  let f = 0;
  if (size === 64) {
    const rl = c.flRes, rh = c.flResH, al = c.flA, ah = c.flAH, bl = c.flB, bh = c.flBH;
    if ((rl | rh) === 0) f |= ZF;
    if (rh < 0) f |= SF;
    f |= PARITY[rl & 0xff]!;
    if (op === FL_LOGIC) return f;
    f |= (al ^ bl ^ rl) & AF;
    switch (op) {
      case FL_ADD:
        if (ult64(rh, rl, ah, al)) f |= CF;
        if (((ah ^ rh) & (bh ^ rh)) < 0) f |= OF;
        break;
      case FL_ADC:
        if (ult64(rh, rl, ah, al) || (c.flCf && rl === al && rh === ah)) f |= CF;
        if (((ah ^ rh) & (bh ^ rh)) < 0) f |= OF;
        break;
      case FL_SUB:
        if (ult64(ah, al, bh, bl)) f |= CF;
        if (((ah ^ bh) & (ah ^ rh)) < 0) f |= OF;
        break;
      case FL_SBB:
        if (ult64(ah, al, bh, bl) || (c.flCf && al === bl && ah === bh)) f |= CF;
        if (((ah ^ bh) & (ah ^ rh)) < 0) f |= OF;
        break;
      case FL_INC:
        f |= c.flCf;
        if (rh === (0x80000000 | 0) && rl === 0) f |= OF;
        break;
      case FL_DEC:
        f |= c.flCf;
        if (rh === 0x7fffffff && rl === -1) f |= OF;
        break;
    }
    return f;
  }
  const mask = size === 32 ? 0xffffffff : size === 16 ? 0xffff : 0xff;
  const sign = size === 32 ? 0x80000000 : size === 16 ? 0x8000 : 0x80;
  const r = c.flRes & mask;
  if (r === 0) f |= ZF;
  if (r & sign) f |= SF;
  f |= PARITY[r & 0xff]!;
  if (op === FL_LOGIC) return f;
  const a = c.flA & mask;
  const b = c.flB & mask;
  f |= (a ^ b ^ r) & AF;
  switch (op) {
    case FL_ADD:
      if (r >>> 0 < a >>> 0) f |= CF;
      if ((a ^ r) & (b ^ r) & sign) f |= OF;
      break;
    case FL_ADC:
      if (r >>> 0 < a >>> 0 || (c.flCf && r === a)) f |= CF;
      if ((a ^ r) & (b ^ r) & sign) f |= OF;
      break;
    case FL_SUB:
      if (a >>> 0 < b >>> 0) f |= CF;
      if ((a ^ b) & (a ^ r) & sign) f |= OF;
      break;
    case FL_SBB:
      if (a >>> 0 < b >>> 0 || (c.flCf && a === b)) f |= CF;
      if ((a ^ b) & (a ^ r) & sign) f |= OF;
      break;
    case FL_INC:
      f |= c.flCf;
      if ((r >>> 0) === sign) f |= OF;
      break;
    case FL_DEC:
      f |= c.flCf;
      if ((r >>> 0) === sign - 1) f |= OF;
      break;
  }
  return f;
}

/** Full EFLAGS value (materialises the lazy bits). */
export function getFlags(c: Cpu): number {
  if (c.flOp === FL_EAGER) return c.flags;
  return (c.flags & ~ARITH) | computeArith(c);
}

/** Make the arithmetic bits eager (before an instruction that modifies only some of them). */
export function materialize(c: Cpu): void {
  if (c.flOp !== FL_EAGER) {
    c.flags = (c.flags & ~ARITH) | computeArith(c);
    c.flOp = FL_EAGER;
  }
}

export function getCF(c: Cpu): number {
  const op = c.flOp;
  if (op === FL_EAGER) return c.flags & CF;
  if (op === FL_LOGIC) return 0;
  if (op === FL_INC || op === FL_DEC) return c.flCf;
  return computeArith(c) & CF;
}

/** AF alone (shifts keep it): no need to compute the other five. */
export function getAF(c: Cpu): number {
  const op = c.flOp;
  if (op === FL_EAGER) return c.flags & AF;
  if (op === FL_LOGIC) return 0;
  return (c.flA ^ c.flB ^ c.flRes) & AF;
}

export function getZF(c: Cpu): boolean {
  const op = c.flOp;
  if (op === FL_EAGER) return (c.flags & ZF) !== 0;
  const size = c.flSize;
  if (size === 64) return (c.flRes | c.flResH) === 0;
  if (size === 32) return c.flRes === 0;
  return (c.flRes & (size === 16 ? 0xffff : 0xff)) === 0;
}

/** Record a lazy result. a/b halves only matter for 64-bit ops. */
export function setLazy(c: Cpu, op: number, size: number, r: number, rh: number, a: number, ah: number, b: number, bh: number): void {
  c.flOp = op;
  c.flSize = size;
  c.flRes = r;
  c.flResH = rh;
  c.flA = a;
  c.flAH = ah;
  c.flB = b;
  c.flBH = bh;
}

/** Set all six arithmetic flags eagerly. */
export function setArith(c: Cpu, f: number): void {
  c.flags = (c.flags & ~ARITH) | (f & ARITH);
  c.flOp = FL_EAGER;
}

/** Condition codes 0-15 (the low nibble of Jcc/SETcc/CMOVcc). */
export function cond(c: Cpu, cc: number): boolean {
  if ((cc >> 1) === 2) return getZF(c) !== ((cc & 1) !== 0); // E / NE: zero test only
  const op = c.flOp;
  // Fast paths: compare/subtract and logic results below 64 bits decide without
  // materialising all flags.
  if (op === FL_SUB && c.flSize !== 64) {
    const size = c.flSize;
    const sh = 32 - size;
    const a = c.flA, b = c.flB;
    let r2: boolean;
    switch (cc >> 1) {
      case 1: r2 = (a << sh) >>> 0 < (b << sh) >>> 0; break; // B
      case 2: r2 = ((a - b) << sh) === 0; break; // E
      case 3: r2 = (a << sh) >>> 0 <= (b << sh) >>> 0; break; // BE
      case 6: r2 = (a << sh) < (b << sh); break; // L
      case 7: r2 = (a << sh) <= (b << sh); break; // LE
      default: return condSlow(c, cc);
    }
    return (cc & 1) ? !r2 : r2;
  }
  if (op === FL_SUB) {
    // 64-bit compare/subtract: decide from the operand halves.
    const ah = c.flAH, bh = c.flBH;
    const al = c.flA >>> 0, bl = c.flB >>> 0;
    let r2: boolean;
    switch (cc >> 1) {
      case 1: r2 = ah === bh ? al < bl : ah >>> 0 < bh >>> 0; break; // B
      case 3: r2 = ah === bh ? al <= bl : ah >>> 0 < bh >>> 0; break; // BE
      case 6: r2 = ah === bh ? al < bl : ah < bh; break; // L
      case 7: r2 = ah === bh ? al <= bl : ah < bh; break; // LE
      default: return condSlow(c, cc);
    }
    return (cc & 1) ? !r2 : r2;
  }
  if (op === FL_LOGIC) {
    const size = c.flSize;
    let zero: boolean;
    let neg: boolean;
    if (size === 64) { zero = (c.flRes | c.flResH) === 0; neg = c.flResH < 0; }
    else { const sh = 32 - size; zero = (c.flRes << sh) === 0; neg = (c.flRes << sh) < 0; }
    let r2: boolean;
    switch (cc >> 1) {
      case 0: case 1: r2 = false; break; // OF = CF = 0
      case 2: case 3: r2 = zero; break; // E, BE
      case 4: case 6: r2 = neg; break; // S, L (SF != OF with OF = 0)
      case 7: r2 = zero || neg; break; // LE
      default: return condSlow(c, cc);
    }
    return (cc & 1) ? !r2 : r2;
  }
  return condSlow(c, cc);
}

function condSlow(c: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = (getFlags(c) & OF) !== 0; break;
    case 1: r = getCF(c) !== 0; break;
    case 2: r = getZF(c); break;
    case 3: r = getCF(c) !== 0 || getZF(c); break;
    case 4: r = (getFlags(c) & SF) !== 0; break;
    case 5: r = (getFlags(c) & PF) !== 0; break;
    case 6: { const f = getFlags(c); r = ((f & SF) !== 0) !== ((f & OF) !== 0); break; }
    default: { const f = getFlags(c); r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0); break; }
  }
  return (cc & 1) ? !r : r;
}
