// Operand access for decoded instructions: effective addresses, ModRM register/memory
// operands of every size, and the stack. 64-bit values travel as (lo, hi) int32 pairs: the
// low half is returned, the high half left in cpu.mhi.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { EX_GP, EX_SS } from './constants.ts';
import { checkSeg } from './system/seg-limits.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const SS = 2; // local copy: hot-path constant

const CANON = 140737488355328; // 2^47

/** 64-bit register value as a number (exact for canonical addresses). */
export function reg64n(c: Cpu, r: number): number {
  return c.rh[r]! * TWO32 + (c.rl[r]! >>> 0);
}

/**
 * Effective address as exact 64-bit halves (LEA and the slow path): low half returned,
 * high half in c.mhi.
 */
export function eaHalves(c: Cpu, ins: Instr): number {
  let lo: number;
  let hi: number;
  if (ins.ripRel) {
    lo = c.rip >>> 0;
    hi = Math.floor(c.rip / TWO32) | 0;
  } else if (ins.base >= 0) {
    lo = c.rl[ins.base]! >>> 0;
    hi = c.rh[ins.base]!;
  } else {
    lo = 0;
    hi = 0;
  }
  if (ins.index >= 0) {
    const s = ins.scale;
    let il = c.rl[ins.index]!;
    let ih = c.rh[ins.index]!;
    if (s) {
      ih = (ih << s) | (il >>> (32 - s));
      il = il << s;
    }
    const sum = lo + (il >>> 0);
    hi = (hi + ih + (sum >= TWO32 ? 1 : 0)) | 0;
    lo = sum >>> 0;
  }
  const d = ins.disp | 0;
  const sum = lo + (d >>> 0);
  hi = (hi + (d < 0 ? -1 : 0) + (sum >= TWO32 ? 1 : 0)) | 0;
  c.mhi = hi;
  return sum | 0;
}

/** Effective address (offset within the segment) as a number. */
export function ea(c: Cpu, ins: Instr): number {
  const as = ins.asize;
  if (as === 64) return ea64(c, ins);
  let v = ins.base >= 0 ? c.rl[ins.base]! : 0;
  if (ins.index >= 0) v += c.rl[ins.index]! << ins.scale;
  v += ins.disp;
  return as === 32 ? v >>> 0 : v & 0xffff;
}

/** Carry out of bit 31 of the int32 sum `lo + add` = `sum`, from the sign bits alone. */
function carry32(lo: number, add: number, sum: number): number {
  return ((lo & add) | ((lo | add) & ~sum)) >>> 31;
}

/**
 * base + index * scale + displacement with a 64-bit address size (RIP as the base for
 * RIP-relative operands), summed exactly in int32 halves and wrapping modulo 2^64 (a double
 * sum would round when a huge base and a negative index cancel): returns the low half, the
 * high half in c.eaHi. No canonical check: LEA wants none; ea64h adds it for memory operands.
 */
export function sum64h(c: Cpu, ins: Instr): number {
  let lo = 0;
  let hi = 0;
  const b = ins.base;
  if (b >= 0) {
    lo = c.rl[b]!;
    hi = c.rh[b]!;
  } else if (ins.ripRel) {
    const r = c.rip;
    lo = r | 0;
    hi = Math.floor(r / TWO32) | 0;
  }
  const x = ins.index;
  if (x >= 0) {
    const s = ins.scale;
    let il = c.rl[x]!;
    let ih = c.rh[x]!;
    if (s !== 0) {
      ih = (ih << s) | (il >>> (32 - s));
      il <<= s;
    }
    const sum = (lo + il) | 0;
    hi = (hi + ih + carry32(lo, il, sum)) | 0;
    lo = sum;
  }
  const d = ins.disp;
  const sum = (lo + d) | 0;
  c.eaHi = (hi + (d >> 31) + carry32(lo, d, sum)) | 0;
  return sum;
}

/** sum64h for a memory operand: #GP(0), or #SS(0) for an SS-relative operand, when the
 * address is not canonical. */
function ea64h(c: Cpu, ins: Instr): number {
  const lo = sum64h(c, ins);
  const hi = c.eaHi;
  if (((hi << 16) >> 16) !== hi) c.fault(ins.seg === SS || (ins.seg < 0 && ins.defSeg === SS) ? EX_SS : EX_GP, 0);
  return lo;
}

/**
 * A 64-bit address size's effective address as a number, faulting when not canonical;
 * RIP-relative addresses are a canonical RIP plus a 32-bit offset.
 */
export function ea64(c: Cpu, ins: Instr): number {
  if (ins.ripRel) {
    const v = c.rip + ins.disp;
    if (v < -CANON || v >= CANON) c.fault(EX_GP, 0);
    return v;
  }
  const lo = ea64h(c, ins);
  return c.eaHi * TWO32 + (lo >>> 0);
}

/** Linear address of a 64-bit-mode memory operand with a 64-bit address size: the effective
 * address plus the FS/GS base when overridden (both canonical, else the fault). */
export function lin64(c: Cpu, ins: Instr): number {
  const off = ea64(c, ins);
  const s = ins.seg;
  if (s < 4) return off; // no override (or ES/CS/SS/DS, which decode already dropped)
  const l = c.sBase[s]! + off;
  if (l < -CANON || l >= CANON) c.fault(EX_GP, 0);
  return l;
}

/**
 * lin64 as int32 halves: returns the low half, the high half in c.eaHi (for mem-halves.ts's
 * rd32h/wr32h... accessors). The same faults as lin64.
 */
export function lin64h(c: Cpu, ins: Instr): number {
  if (ins.ripRel || ins.seg >= 4) {
    const l = lin64(c, ins);
    c.eaHi = Math.floor(l / TWO32) | 0;
    return l | 0;
  }
  return ea64h(c, ins);
}

/** Linear address of the memory operand, for an access of `size` bytes (outside 64-bit mode
 * checked against the segment's limit and type, see system/seg-limits.ts). */
export function memLin(c: Cpu, ins: Instr, size = 1, write = false): number {
  const off = ea(c, ins);
  const s = ins.seg >= 0 ? ins.seg : ins.defSeg;
  if (c.codeMode === 64) {
    if (s < 4) return off;
    const l = c.sBase[s]! + off;
    if (l < -CANON || l >= CANON) c.fault(EX_GP, 0);
    return l;
  }
  if ((c.segChk & (1 << s)) !== 0) {
    checkSeg(c, s, off, size, write);
    c.segOff = off;
  }
  return (c.sBase[s]! + off) >>> 0;
}

// ---- registers ----

export function getReg8(c: Cpu, r: number, rex: number): number {
  if (rex !== 0 || r < 4 || r > 7) return c.rl[r]! & 0xff;
  return (c.rl[r - 4]! >> 8) & 0xff;
}

export function setReg8(c: Cpu, r: number, rex: number, v: number): void {
  if (rex !== 0 || r < 4 || r > 7) c.rl[r] = (c.rl[r]! & ~0xff) | (v & 0xff);
  else c.rl[r - 4] = (c.rl[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
}

/** Register read of size 8/16/32/64 (64: high half in c.mhi). */
export function getReg(c: Cpu, size: number, r: number, rex: number): number {
  switch (size) {
    case 8: return getReg8(c, r, rex);
    case 16: return c.rl[r]! & 0xffff;
    case 32: return c.rl[r]!;
    default: c.mhi = c.rh[r]!; return c.rl[r]!;
  }
}

/** Register write of size 8/16/32/64; 32-bit writes zero the high half. */
export function setReg(c: Cpu, size: number, r: number, rex: number, v: number, hi: number): void {
  switch (size) {
    case 8: setReg8(c, r, rex, v); break;
    case 16: c.rl[r] = (c.rl[r]! & ~0xffff) | (v & 0xffff); break;
    case 32: c.rl[r] = v; c.rh[r] = 0; break;
    default: c.rl[r] = v; c.rh[r] = hi; break;
  }
}

export function readMem(c: Cpu, size: number, lin: number): number {
  switch (size) {
    case 8: return c.rd8(lin);
    case 16: return c.rd16(lin);
    case 32: return c.rd32(lin);
    default: return c.rd64(lin);
  }
}

export function writeMem(c: Cpu, size: number, lin: number, v: number, hi: number): void {
  switch (size) {
    case 8: c.wr8(lin, v); break;
    case 16: c.wr16(lin, v); break;
    case 32: c.wr32(lin, v); break;
    default: c.wr64(lin, v, hi); break;
  }
}

/** Read the r/m operand (register or memory); memory sets c.eaLin for a later write. */
export function readRM(c: Cpu, ins: Instr, size: number): number {
  if (ins.mod === 3) return getReg(c, size, ins.rm, ins.rex);
  const lin = memLin(c, ins, size >> 3);
  c.eaLin = lin;
  return readMem(c, size, lin);
}

/** Write the r/m operand after readRM (memory reuses c.eaLin). */
export function writeRMAfterRead(c: Cpu, ins: Instr, size: number, v: number, hi: number): void {
  if (ins.mod === 3) setReg(c, size, ins.rm, ins.rex, v, hi);
  else {
    // The read checked the limit; a read-only segment must still refuse the store.
    if (c.segChk !== 0) checkRmwSeg(c, ins, size);
    writeMem(c, size, c.eaLin, v, hi);
  }
}

/**
 * A read-modify-write's store must not fault once flags or registers have changed (the
 * instruction did not happen): called right after the read, it checks the store's segment
 * type and limit and the page permissions of every byte.
 */
export function checkStore(c: Cpu, ins: Instr, size: number): void {
  if (ins.mod === 3) return;
  if (c.segChk !== 0) checkRmwSeg(c, ins, size);
  const lin = c.eaLin;
  c.checkWritable(lin);
  const bytes = size >> 3;
  if ((lin & 0xfff) + bytes > 0x1000) c.checkWritable(lin + bytes - 1);
}

/** Write the r/m operand without a prior read. */
export function writeRM(c: Cpu, ins: Instr, size: number, v: number, hi: number): void {
  if (ins.mod === 3) setReg(c, size, ins.rm, ins.rex, v, hi);
  else writeMem(c, size, memLin(c, ins, size >> 3, true), v, hi);
}

// ---- stack ----

function stackLin(c: Cpu, sp: number, bytes: number, write: boolean): number {
  if (c.stackMode === 64) return sp;
  if ((c.segChk & 4) !== 0) checkSeg(c, SS, sp, bytes, write);
  return (c.sBase[SS]! + sp) >>> 0;
}

function checkRmwSeg(c: Cpu, ins: Instr, size: number): void {
  const s = ins.seg >= 0 ? ins.seg : ins.defSeg;
  if ((c.segChk & (1 << s)) !== 0) checkSeg(c, s, c.segOff, size >> 3, true);
}

/** Push a value of `size` bits (16, 32, 64). */
export function push(c: Cpu, size: number, v: number, hi: number): void {
  const bytes = size >> 3;
  let sp = c.getSp() - bytes;
  if (c.stackMode === 32) sp = sp >>> 0;
  else if (c.stackMode === 16) sp = sp & 0xffff;
  const lin = stackLin(c, sp, bytes, true);
  if (size === 64) c.wr64(lin, v, hi);
  else if (size === 32) c.wr32(lin, v);
  else c.wr16(lin, v);
  c.setSp(sp);
}

/** Pop `size` bits; 64-bit high half in c.mhi. */
export function pop(c: Cpu, size: number): number {
  const sp = c.getSp();
  const lin = stackLin(c, sp, size >> 3, false);
  let v: number;
  if (size === 64) v = c.rd64(lin);
  else if (size === 32) v = c.rd32(lin);
  else v = c.rd16(lin);
  c.setSp(sp + (size >> 3));
  return v;
}

/** Read at stack offset `off` bytes above SP without popping. */
export function peek(c: Cpu, size: number, off: number): number {
  let sp = c.getSp() + off;
  if (c.stackMode === 32) sp = sp >>> 0;
  else if (c.stackMode === 16) sp = sp & 0xffff;
  const lin = stackLin(c, sp, size >> 3, false);
  return size === 64 ? c.rd64(lin) : size === 32 ? c.rd32(lin) : c.rd16(lin);
}

export { EX_SS };
