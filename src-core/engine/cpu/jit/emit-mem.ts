// Source emitters for operands in compiled blocks: registers with the size rules of the
// interpreter (operands.ts), effective addresses and memory accesses with the software-TLB
// fast path inlined (RAM only; MMIO, misses and page-crossing accesses call the Cpu's
// accessors, which translate, fault and dispatch exactly as the interpreter does).
//
// Every emitter returns JavaScript statements as a string. The compiled function declares
// the locals they use: rl rh (registers), tv to tp (TLB arrays), dv ram (RAM views),
// sb (segment bases), RS WS (TLB permission bits for the current privilege), scratch
// lin po vpn t o.
import type { Instr } from '../decode.ts';
import type { FlagSrc } from './emit-alu.ts';

export const CANON = 140737488355328; // 2^47
const TWO32 = 4294967296;

/** Per-instruction facts the emitters need. */
export interface EmitCtx {
  /** Index of the instruction in its block (I[k] is its Instr record). */
  k: number;
  mode: number;
  ins: Instr;
  /** Expression for the address of the next instruction (what RIP holds while it executes). */
  next: string;
  /** What the instruction just before set the flags from, while its locals are intact. */
  prev: FlagSrc | null;
}

/** 64-bit register value as a number (exact for canonical values), as reg64n() computes it. */
export function reg64(r: number): string {
  return `(rh[${r}] * ${TWO32} + (rl[${r}] >>> 0))`;
}

export function readReg(size: number, r: number, rex: number, lo: string, hi: string): string {
  switch (size) {
    case 8:
      if (rex !== 0 || r < 4 || r > 7) return `${lo} = rl[${r}] & 255;`;
      return `${lo} = (rl[${r - 4}] >> 8) & 255;`;
    case 16: return `${lo} = rl[${r}] & 65535;`;
    case 32: return `${lo} = rl[${r}];`;
    default: return `${lo} = rl[${r}]; ${hi} = rh[${r}];`;
  }
}

export function writeReg(size: number, r: number, rex: number, lo: string, hi: string): string {
  switch (size) {
    case 8:
      if (rex !== 0 || r < 4 || r > 7) return `rl[${r}] = (rl[${r}] & -256) | (${lo} & 255);`;
      return `rl[${r - 4}] = (rl[${r - 4}] & -65281) | ((${lo} & 255) << 8);`;
    case 16: return `rl[${r}] = (rl[${r}] & -65536) | (${lo} & 65535);`;
    case 32: return `rl[${r}] = ${lo}; rh[${r}] = 0;`;
    default: return `rl[${r}] = ${lo}; rh[${r}] = ${hi};`;
  }
}

/**
 * Statements leaving the linear address of the memory operand in `lin`, mirroring ea() and
 * memLin() (operands.ts) step for step; null when the form is left to the interpreter
 * (16-bit addressing, 32-bit RIP-relative).
 */
export function linOf(x: EmitCtx): string | null {
  const ins = x.ins;
  const s = ins.seg >= 0 ? ins.seg : ins.defSeg;
  if (ins.asize === 64) {
    let out: string;
    if (ins.ripRel) {
      // A canonical RIP plus a 32-bit displacement is exact as a double.
      out = `lin = (${x.next}) + ${ins.disp | 0};\n`;
      out += `if (lin < -${CANON} || lin >= ${CANON}) { c.rip = ${x.next}; lin = H.ea(c, I[${x.k}]); }\n`;
    } else {
      // Summed exactly in int32 halves as ea64() does (operands.ts): a double sum rounds
      // when a huge base and a negative index cancel. el/eh is the running sum, es the new
      // low half; the carry out of bit 31 comes from the sign bits alone.
      const cy = (a: string, b: string): string => `(((${a} & ${b}) | ((${a} | ${b}) & ~es)) >>> 31)`;
      out = ins.base >= 0 ? `el = rl[${ins.base}]; eh = rh[${ins.base}];\n` : 'el = 0; eh = 0;\n';
      if (ins.index >= 0) {
        const sc = ins.scale;
        const xi = ins.index;
        out += sc === 0 ? `il = rl[${xi}]; ih = rh[${xi}];\n` :
          `il = rl[${xi}] << ${sc}; ih = (rh[${xi}] << ${sc}) | (rl[${xi}] >>> ${32 - sc});\n`;
        out += `es = (el + il) | 0; eh = (eh + ih + ${cy('el', 'il')}) | 0; el = es;\n`;
      }
      const d = ins.disp | 0;
      if (d !== 0) out += `es = (el + ${d}) | 0; eh = (eh + ${d >> 31} + ${cy('el', String(d))}) | 0; el = es;\n`;
      // Not canonical: the interpreter's ea() raises the fault (#GP or #SS by segment).
      out += `if (((eh << 16) >> 16) !== eh) { c.rip = ${x.next}; H.ea(c, I[${x.k}]); }\n`;
      out += `lin = eh * ${TWO32} + (el >>> 0);\n`;
    }
    if (s >= 4) out += `lin = sb[${s}] + lin; if (lin < -${CANON} || lin >= ${CANON}) c.fault(13, 0);\n`;
    return out;
  }
  if (ins.asize !== 32 || ins.ripRel) return null;
  let e = ins.base >= 0 ? `rl[${ins.base}]` : '0';
  if (ins.index >= 0) e = `${e} + (rl[${ins.index}] << ${ins.scale})`;
  const off = `((${e} + ${ins.disp | 0}) >>> 0)`;
  if (x.mode === 64) {
    if (s < 4) return `lin = ${off};\n`;
    return `lin = sb[${s}] + ${off}; if (lin < -${CANON} || lin >= ${CANON}) c.fault(13, 0);\n`;
  }
  // Base and offset are non-negative: `>>> 0` wraps at 2^32 without a floating-point remainder.
  return `lin = (sb[${s}] + ${off}) >>> 0;\n`;
}

const LAST = [0, 4095, 4094, 0, 4092, 0, 0, 0, 4088];

function tlbHit(perm: string, size: number): string {
  const bytes = size >> 3;
  const edge = bytes > 1 ? ` && po <= ${LAST[bytes]}` : '';
  return `po = lin & 4095; vpn = (lin - po) / 4096; t = vpn & 4095;\n` +
    `if (tv[t] === vpn && (tp[t] & ${perm}) !== 0 && (o = to[t]) >= 0${edge}) `;
}

/** Load `size` bits at `lin` into lo (and hi for 64). */
export function load(size: number, lo: string, hi: string): string {
  const pre = tlbHit('RS', size);
  switch (size) {
    case 8: return `${pre}${lo} = ram[o + po]; else ${lo} = c.rd8(lin);\n`;
    case 16: return `${pre}${lo} = dv.getUint16(o + po, true); else ${lo} = c.rd16(lin);\n`;
    case 32: return `${pre}${lo} = dv.getInt32(o + po, true); else ${lo} = c.rd32(lin);\n`;
    default:
      return `${pre}{ ${lo} = dv.getInt32(o + po, true); ${hi} = dv.getInt32(o + po + 4, true); }\n` +
        `else { ${lo} = c.rd64(lin); ${hi} = c.mhi; }\n`;
  }
}

/** Store `size` bits of lo (hi for 64) at `lin`. */
export function store(size: number, lo: string, hi: string): string {
  const pre = tlbHit('WS', size);
  switch (size) {
    case 8: return `${pre}ram[o + po] = ${lo}; else c.wr8(lin, ${lo});\n`;
    case 16: return `${pre}dv.setUint16(o + po, ${lo} & 65535, true); else c.wr16(lin, ${lo});\n`;
    case 32: return `${pre}dv.setInt32(o + po, ${lo}, true); else c.wr32(lin, ${lo});\n`;
    default:
      return `${pre}{ dv.setInt32(o + po, ${lo}, true); dv.setInt32(o + po + 4, ${hi}, true); }\n` +
        `else c.wr64(lin, ${lo}, ${hi});\n`;
  }
}

/** Read the r/m operand into lo/hi (memory leaves its address in `lin` for a write back). */
export function readRM(x: EmitCtx, size: number, lo: string, hi: string): string | null {
  const ins = x.ins;
  if (ins.mod === 3) return readReg(size, ins.rm, ins.rex, lo, hi);
  const l = linOf(x);
  if (l === null) return null;
  return l + load(size, lo, hi);
}

/**
 * readRM for a read-modify-write: after the read, the store is checked as the interpreter's
 * checkStore does (operands.ts), so a store that would fault does so before the flags or any
 * register change. A TLB hit with write permission on RAM needs no further check.
 */
export function readRMW(x: EmitCtx, size: number, lo: string, hi: string): string | null {
  const rd = readRM(x, size, lo, hi);
  if (rd === null || x.ins.mod === 3) return rd;
  const bytes = size >> 3;
  const cross = bytes > 1 ? ` if ((lin & 4095) + ${bytes} > 4096) c.checkWritable(lin + ${bytes - 1});` : '';
  return rd + `${tlbHit('WS', size)}{} else { c.checkWritable(lin);${cross} }\n`;
}

/** Write the r/m operand after readRM (memory reuses `lin`). */
export function writeRMAfterRead(x: EmitCtx, size: number, lo: string, hi: string): string {
  const ins = x.ins;
  if (ins.mod === 3) return writeReg(size, ins.rm, ins.rex, lo, hi);
  return store(size, lo, hi);
}

/** Write the r/m operand without a prior read. */
export function writeRM(x: EmitCtx, size: number, lo: string, hi: string): string | null {
  const ins = x.ins;
  if (ins.mod === 3) return writeReg(size, ins.rm, ins.rex, lo, hi);
  const l = linOf(x);
  if (l === null) return null;
  return l + store(size, lo, hi);
}
