// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with REP/REPE/REPNE in every
// address size. Long REP runs are split into chunks: the instruction restarts itself so
// interrupts and the run budget are honoured, and a fault mid-way leaves RSI/RDI/RCX at the
// element that faulted, as on hardware.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { DF, DS, ES, ZF } from './constants.ts';
import { alu, OP_CMP } from './alu.ts';
import { getFlags } from './flags.ts';
import { readMem, writeMem, getReg, setReg } from './operands.ts';
import { regA, setRegA } from './exec.ts';
import { portAllowed } from './system/io-perm.ts';

const CHUNK = 4096;

function wrapA(amask: number, v: number): number {
  return amask === 0 ? v : amask === 0xffff ? v & 0xffff : v >>> 0;
}

export function execString(c: Cpu, ins: Instr): void {
  const op = ins.op;
  const size = op & 1 ? ins.osize : 8;
  const bytes = size >> 3;
  const as = ins.asize;
  const step = c.flags & DF ? -bytes : bytes;
  const srcSeg = ins.seg >= 0 ? ins.seg : DS;
  const rep = ins.rep !== 0;
  const amask = as === 64 ? 0 : as === 32 ? 0xffffffff : 0xffff;
  // The count is handled exactly even for 64-bit RCX values beyond 2^53.
  let cLo = rep ? (as === 64 ? c.rl[1]! >>> 0 : regA(c, 1, as)) : 1;
  let cHi = rep && as === 64 ? c.rh[1]! >>> 0 : 0;
  if (cLo === 0 && cHi === 0) return;
  const n = cHi !== 0 || cLo > CHUNK ? CHUNK : cLo;
  let si = regA(c, 6, as);
  let di = regA(c, 7, as);
  const isCmp = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
  let done = 0;
  try {
    while (done < n) {
      switch (op) {
        case 0xa4: case 0xa5: { // MOVS
          const v = readMem(c, size, c.segLin(srcSeg, si, bytes));
          writeMem(c, size, c.segLin(ES, di, bytes, true), v, c.mhi);
          si = wrapA(amask, si + step); di = wrapA(amask, di + step);
          break;
        }
        case 0xaa: case 0xab: // STOS
          writeMem(c, size, c.segLin(ES, di, bytes, true), getReg(c, size, 0, 0), c.mhi);
          di = wrapA(amask, di + step);
          break;
        case 0xac: case 0xad: { // LODS
          const v = readMem(c, size, c.segLin(srcSeg, si, bytes));
          setReg(c, size, 0, 0, v, c.mhi);
          si = wrapA(amask, si + step);
          break;
        }
        case 0xa6: case 0xa7: { // CMPS: [rsi] - [rdi]
          const a = readMem(c, size, c.segLin(srcSeg, si, bytes));
          const ah = c.mhi;
          const b = readMem(c, size, c.segLin(ES, di, bytes));
          alu(c, OP_CMP, size, a, ah, b, c.mhi);
          si = wrapA(amask, si + step); di = wrapA(amask, di + step);
          break;
        }
        case 0xae: case 0xaf: { // SCAS: rax - [rdi]
          const b = readMem(c, size, c.segLin(ES, di, bytes));
          const bh = c.mhi;
          alu(c, OP_CMP, size, getReg(c, size, 0, 0), c.mhi, b, bh);
          di = wrapA(amask, di + step);
          break;
        }
        case 0x6c: case 0x6d: { // INS
          const port = c.rl[2]! & 0xffff;
          portAllowed(c, port, bytes > 4 ? 4 : bytes);
          const lin = c.segLin(ES, di, bytes, true);
          c.checkWritable(lin);
          const v = c.io.read(port, (size === 8 ? 1 : size === 16 ? 2 : 4) as 1 | 2 | 4);
          writeMem(c, size === 64 ? 32 : size, lin, v | 0, 0);
          di = wrapA(amask, di + step);
          break;
        }
        default: { // OUTS
          const port = c.rl[2]! & 0xffff;
          portAllowed(c, port, bytes > 4 ? 4 : bytes);
          const v = readMem(c, size === 64 ? 32 : size, c.segLin(srcSeg, si, bytes));
          c.io.write(port, (size === 8 ? 1 : size === 16 ? 2 : 4) as 1 | 2 | 4, v >>> 0 & (size === 8 ? 0xff : size === 16 ? 0xffff : 0xffffffff));
          si = wrapA(amask, si + step);
          break;
        }
      }
      done++;
      if (isCmp && rep) {
        const zf = (getFlags(c) & ZF) !== 0;
        if (ins.rep === 0xf3 ? !zf : zf) break;
      }
    }
  } finally {
    // Commit progress (also when an element faulted: completed elements stay done).
    if (done > 0) {
      if (op !== 0xaa && op !== 0xab && op !== 0x6c && op !== 0x6d) setRegA(c, 6, as, si);
      if (op !== 0xac && op !== 0xad && op !== 0x6e && op !== 0x6f) setRegA(c, 7, as, di);
      if (rep) {
        cLo -= done;
        if (cLo < 0) { cLo += 4294967296; cHi = (cHi - 1) >>> 0; }
        if (as === 64) { c.rl[1] = cLo | 0; c.rh[1] = cHi | 0; }
        else setRegA(c, 1, as, cLo);
      }
    }
  }
  if (rep && (cLo !== 0 || cHi !== 0)) {
    const stopped = isCmp && (() => { const zf = (getFlags(c) & ZF) !== 0; return ins.rep === 0xf3 ? !zf : zf; })();
    if (!stopped) c.rip = c.ip0; // more to do: re-execute (interrupts may come in between)
  }
}
