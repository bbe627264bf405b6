// x87 instructions (D8-DF). Arithmetic runs in double precision (see fpu.ts). Exceptions are
// reported in the status word as masked; unmasked x87 exceptions are not delivered.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CF, EX_NM, PF, ZF, TWO32 } from './constants.ts';
import { cond, getFlags, setArith } from './flags.ts';
import { memLin, setReg } from './operands.ts';
import { fromExtended, toExtended } from './fpu.ts';

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
const F64 = new Float64Array(1);
const I64 = new Int32Array(F64.buffer);

function readF32(c: Cpu, lin: number): number {
  I32[0] = c.rd32(lin);
  return F32[0]!;
}
function readF64(c: Cpu, lin: number): number {
  I64[0] = c.rd32(lin);
  I64[1] = c.rd32(lin + 4);
  return F64[0]!;
}
function writeF32(c: Cpu, lin: number, v: number): void {
  F32[0] = v;
  c.wr32(lin, I32[0]!);
}
function writeF64(c: Cpu, lin: number, v: number): void {
  F64[0] = v;
  c.wr64(lin, I64[0]!, I64[1]!);
}

/** Round per the control word's RC field. */
function roundRc(cw: number, v: number): number {
  switch ((cw >> 10) & 3) {
    case 0: { // nearest even
      const f = Math.floor(v);
      const d = v - f;
      if (d > 0.5) return f + 1;
      if (d < 0.5) return f;
      return f % 2 === 0 ? f : f + 1;
    }
    case 1: return Math.floor(v);
    case 2: return Math.ceil(v);
    default: return Math.trunc(v);
  }
}

function arith(op: number, a: number, b: number): number {
  switch (op) {
    case 0: return a + b;
    case 1: return a * b;
    case 4: return a - b;
    case 5: return b - a;
    case 6: return a / b;
    default: return b / a;
  }
}

function compare(c: Cpu, a: number, b: number): void {
  const f = c.fpu;
  f.sw &= ~0x4500;
  if (Number.isNaN(a) || Number.isNaN(b)) f.sw |= 0x4500;
  else if (a < b) f.sw |= 0x100;
  else if (a === b) f.sw |= 0x4000;
}

function comi(c: Cpu, a: number, b: number): void {
  const base = getFlags(c) & ~(ZF | PF | CF);
  let f = 0;
  if (Number.isNaN(a) || Number.isNaN(b)) f = ZF | PF | CF;
  else if (a < b) f = CF;
  else if (a === b) f = ZF;
  setArith(c, (base & 0x8d4) | f); // OF, SF, AF cleared
}

function intStore(c: Cpu, lin: number, bits: number, v: number): void {
  const r = roundRc(c.fpu.cw, v);
  const lim = Math.pow(2, bits - 1);
  const bad = !Number.isFinite(r) || r >= lim || r < -lim;
  if (bad) c.fpu.sw |= 1;
  if (bits === 16) c.wr16(lin, bad ? 0x8000 : r & 0xffff);
  else if (bits === 32) c.wr32(lin, bad ? 0x80000000 | 0 : r | 0);
  else if (bad) c.wr64(lin, 0, 0x80000000 | 0);
  else c.wr64(lin, (((r % TWO32) + TWO32) % TWO32) | 0, Math.floor(r / TWO32) | 0);
}

const CONSTS = [1, Math.log2(10), Math.LOG2E, Math.PI, Math.log10(2), Math.LN2, 0];

export function execFpu(c: Cpu, ins: Instr): void {
  if (c.cr0 & 0xc) c.fault(EX_NM); // EM or TS
  const f = c.fpu;
  const op = ins.op;
  const ext = ins.ext;
  const rm = ins.rm & 7;
  if (ins.mod !== 3) {
    const lin = memLin(c, ins);
    switch (op) {
      case 0xd8: case 0xdc: case 0xda: case 0xde: {
        const v = op === 0xd8 ? readF32(c, lin) : op === 0xdc ? readF64(c, lin) : op === 0xda ? c.rd32(lin) : (c.rd16(lin) << 16) >> 16;
        if (ext === 2 || ext === 3) { compare(c, f.get(0), v); if (ext === 3) f.pop(); }
        else f.set(0, arith(ext, f.get(0), v));
        return;
      }
      case 0xd9:
        switch (ext) {
          case 0: f.push(readF32(c, lin)); return;
          case 2: writeF32(c, lin, f.get(0)); return;
          case 3: writeF32(c, lin, f.get(0)); f.pop(); return;
          case 4: fldenv(c, lin, ins.osize); return;
          case 5: f.cw = c.rd16(lin); return;
          case 6: fstenv(c, lin, ins.osize); return;
          case 7: c.wr16(lin, f.cw); return;
          default: c.fault(6);
        }
        return;
      case 0xdb:
        switch (ext) {
          case 0: f.push(c.rd32(lin)); return;
          case 2: intStore(c, lin, 32, f.get(0)); return;
          case 3: intStore(c, lin, 32, f.get(0)); f.pop(); return;
          case 5: f.push(fromExtended(c.rd32(lin), c.rd32(lin + 4), c.rd16(lin + 8))); return;
          case 7: { const [a, b, e] = toExtended(f.get(0)); c.checkWritable(lin + 9); c.wr32(lin, a); c.wr32(lin + 4, b); c.wr16(lin + 8, e); f.pop(); return; }
          default: c.fault(6);
        }
        return;
      case 0xdd:
        switch (ext) {
          case 0: f.push(readF64(c, lin)); return;
          case 2: writeF64(c, lin, f.get(0)); return;
          case 3: writeF64(c, lin, f.get(0)); f.pop(); return;
          case 4: frstor(c, lin, ins.osize); return;
          case 6: fsave(c, lin, ins.osize); return;
          case 7: c.wr16(lin, f.statusWord()); return;
          default: c.fault(6);
        }
        return;
      case 0xdf:
        switch (ext) {
          case 0: f.push((c.rd16(lin) << 16) >> 16); return;
          case 2: intStore(c, lin, 16, f.get(0)); return;
          case 3: intStore(c, lin, 16, f.get(0)); f.pop(); return;
          case 5: { const lo = c.rd32(lin); const hi = c.rd32(lin + 4); f.push(hi * TWO32 + (lo >>> 0)); return; }
          case 7: intStore(c, lin, 64, f.get(0)); f.pop(); return;
          default: c.fault(6); // FBLD/FBSTP not implemented
        }
        return;
    }
    return;
  }
  // Register forms.
  switch (op) {
    case 0xd8:
      if (ext === 2 || ext === 3) { compare(c, f.get(0), f.get(rm)); if (ext === 3) f.pop(); }
      else f.set(0, arith(ext, f.get(0), f.get(rm)));
      return;
    case 0xdc: case 0xde: {
      // ST(i) = ST(i) op ST(0); DC/DE swap the sense of SUB/SUBR, DIV/DIVR.
      if (op === 0xde && ext === 3 && rm === 1) { compare(c, f.get(0), f.get(1)); f.pop(); f.pop(); return; } // FCOMPP
      if (ext === 2 || ext === 3) { compare(c, f.get(0), f.get(rm)); if (ext === 3) f.pop(); return; }
      const e = ext >= 4 ? ext ^ 1 : ext;
      f.set(rm, arith(e, f.get(rm), f.get(0)));
      if (op === 0xde) f.pop();
      return;
    }
    case 0xd9:
      switch (ext) {
        case 0: f.push(f.get(rm)); return;
        case 1: { const t = f.get(0); f.set(0, f.get(rm)); f.set(rm, t); return; }
        case 2: return; // FNOP
        case 4:
          switch (rm) {
            case 0: f.set(0, -f.get(0)); return;
            case 1: f.set(0, Math.abs(f.get(0))); return;
            case 4: compare(c, f.get(0), 0); return;
            case 5: fxam(c); return;
            default: c.fault(6);
          }
          return;
        case 5: if (rm === 7) c.fault(6); f.push(CONSTS[rm]!); return;
        case 6:
          switch (rm) {
            case 0: f.set(0, Math.pow(2, f.get(0)) - 1); return; // F2XM1
            case 1: { const v = f.get(1) * Math.log2(f.get(0)); f.pop(); f.set(0, v); return; } // FYL2X
            case 2: f.set(0, Math.tan(f.get(0))); f.push(1); f.sw &= ~0x400; return; // FPTAN
            case 3: { const v = Math.atan2(f.get(1), f.get(0)); f.pop(); f.set(0, v); return; } // FPATAN
            case 4: { const v = f.get(0); const e = v === 0 ? -Infinity : Math.floor(Math.log2(Math.abs(v))); f.set(0, e); f.push(v / Math.pow(2, e)); return; } // FXTRACT
            case 5: case 0 + 5: { fprem(c, true); return; } // FPREM1
            case 6: f.top = (f.top - 1) & 7; return; // FDECSTP
            default: f.top = (f.top + 1) & 7; return; // FINCSTP
          }
        case 7:
          switch (rm) {
            case 0: fprem(c, false); return;
            case 1: { const v = f.get(1) * Math.log2(f.get(0) + 1); f.pop(); f.set(0, v); return; } // FYL2XP1
            case 2: f.set(0, Math.sqrt(f.get(0))); return;
            case 3: { const v = f.get(0); f.set(0, Math.sin(v)); f.push(Math.cos(v)); f.sw &= ~0x400; return; }
            case 4: f.set(0, roundRc(f.cw, f.get(0))); return;
            case 5: f.set(0, f.get(0) * Math.pow(2, Math.trunc(f.get(1)))); return; // FSCALE
            case 6: f.set(0, Math.sin(f.get(0))); f.sw &= ~0x400; return;
            default: f.set(0, Math.cos(f.get(0))); f.sw &= ~0x400; return;
          }
        default: c.fault(6);
      }
      return;
    case 0xda:
      if (ext === 5 && rm === 1) { compare(c, f.get(0), f.get(1)); f.pop(); f.pop(); return; } // FUCOMPP
      if (ext < 4) { // FCMOVB/E/BE/U
        const cc = [2, 4, 6, 10][ext]!;
        if (cond(c, cc)) f.set(0, f.get(rm));
        return;
      }
      c.fault(6);
      return;
    case 0xdb:
      if (ext < 4) { // FCMOVNB/NE/NBE/NU
        const cc = [3, 5, 7, 11][ext]!;
        if (cond(c, cc)) f.set(0, f.get(rm));
        return;
      }
      if (ext === 4) {
        if (rm === 2) { f.sw &= 0x7f00; return; } // FNCLEX
        if (rm === 3) { f.reset(); return; } // FNINIT
        return; // FENI/FDISI/FSETPM: no-ops
      }
      if (ext === 5 || ext === 6) { comi(c, f.get(0), f.get(rm)); return; } // FUCOMI / FCOMI
      c.fault(6);
      return;
    case 0xdd:
      switch (ext) {
        case 0: f.tag[(f.top + rm) & 7] = 3; return; // FFREE
        case 2: f.set(rm, f.get(0)); return; // FST
        case 3: f.set(rm, f.get(0)); f.pop(); return; // FSTP
        case 4: compare(c, f.get(0), f.get(rm)); return; // FUCOM
        case 5: compare(c, f.get(0), f.get(rm)); f.pop(); return; // FUCOMP
        default: c.fault(6);
      }
      return;
    case 0xdf:
      if (ext === 4 && rm === 0) { setReg(c, 16, 0, 0, f.statusWord(), 0); return; } // FNSTSW AX
      if (ext === 5 || ext === 6) { comi(c, f.get(0), f.get(rm)); f.pop(); return; } // FUCOMIP / FCOMIP
      if (ext === 0) { f.tag[(f.top + rm) & 7] = 3; f.pop(); return; } // FFREEP
      c.fault(6);
      return;
  }
}

function fxam(c: Cpu): void {
  const f = c.fpu;
  const v = f.get(0);
  f.sw &= ~0x4700;
  if (1 / v < 0 || v < 0) f.sw |= 0x200;
  if (f.isEmpty(0)) f.sw |= 0x4100;
  else if (Number.isNaN(v)) f.sw |= 0x100;
  else if (!Number.isFinite(v)) f.sw |= 0x500;
  else if (v === 0) f.sw |= 0x4000;
  else f.sw |= 0x400;
}

function fprem(c: Cpu, ieee: boolean): void {
  const f = c.fpu;
  const a = f.get(0);
  const b = f.get(1);
  const q = ieee ? Math.round(a / b) : Math.trunc(a / b);
  f.set(0, a - q * b);
  f.sw &= ~0x4700;
  const qi = Math.abs(q);
  if (qi & 1) f.sw |= 0x200;
  if (qi & 2) f.sw |= 0x4000;
  if (qi & 4) f.sw |= 0x100;
}

function fstenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const w = os === 16 ? 2 : 4;
  const put = (i: number, v: number): void => { if (w === 2) c.wr16(lin + i * 2, v); else c.wr32(lin + i * 4, v); };
  put(0, f.cw | (w === 4 ? 0xffff0000 : 0));
  put(1, f.statusWord());
  put(2, f.tagWord());
  put(3, f.fip); put(4, 0); put(5, f.fdp); put(6, 0);
  f.cw |= 0x3f; // FSTENV masks all exceptions
}

function fldenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const w = os === 16 ? 2 : 4;
  const get = (i: number): number => (w === 2 ? c.rd16(lin + i * 2) : c.rd32(lin + i * 4));
  f.cw = get(0) & 0xffff;
  const sw = get(1);
  f.sw = sw & ~0x3800;
  f.top = (sw >> 11) & 7;
  f.setTagWord(get(2));
}

function fsave(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const envSize = os === 16 ? 14 : 28;
  fstenv(c, lin, os);
  for (let i = 0; i < 8; i++) {
    const [a, b, e] = toExtended(f.get(i));
    c.wr32(lin + envSize + i * 10, a);
    c.wr32(lin + envSize + i * 10 + 4, b);
    c.wr16(lin + envSize + i * 10 + 8, e);
  }
  f.reset();
}

function frstor(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const envSize = os === 16 ? 14 : 28;
  fldenv(c, lin, os);
  const tags = f.tagWord();
  for (let i = 0; i < 8; i++) {
    const v = fromExtended(c.rd32(lin + envSize + i * 10), c.rd32(lin + envSize + i * 10 + 4), c.rd16(lin + envSize + i * 10 + 8));
    f.st[(f.top + i) & 7] = v;
  }
  f.setTagWord(tags);
}
