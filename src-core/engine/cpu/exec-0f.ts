// The two-byte (0F) opcode map: system instructions, CMOVcc/SETcc/Jcc rel32, bit
// operations, CMPXCHG/XADD, MOVZX/MOVSX, BSWAP. SSE/MMX opcodes go to sse.ts.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CF, EX_GP, EX_UD, FS, GS, IF, OF, SF, TWO32, ZF, PF, AF } from './constants.ts';
import { alu, shiftDouble, OP_CMP } from './alu.ts';
import { cond, getFlags, materialize, setArith } from './flags.ts';
import { checkStore, getReg, getReg8, memLin, pop, push, readMem, readRM, setReg, setReg8, writeMem, writeRM, writeRMAfterRead, ea } from './operands.ts';
import { imul2, jumpTo, stackSize } from './exec.ts';
import { execSse, isSseOpcode } from './sse.ts';
import { loadSegment } from './system/segments.ts';
import { execSystem0f } from './system/sys-instr.ts';

export function exec0f(c: Cpu, ins: Instr): void {
  const op = ins.op;
  const os = ins.osize;
  if (op >= 0x140 && op <= 0x14f) { // CMOVcc: the source is read even when the move is not taken
    const v = readRM(c, ins, os);
    const vh = c.mhi;
    if (cond(c, op & 15)) setReg(c, os, ins.reg, 0, v, vh);
    else if (os === 32) c.rh[ins.reg] = 0; // 32-bit CMOV zero-extends even when false
    return;
  }
  if (op >= 0x180 && op <= 0x18f) {
    if (cond(c, op & 15)) jumpTo(c, c.rip + ins.imm, c.codeMode === 64 ? 64 : os);
    return;
  }
  if (op >= 0x190 && op <= 0x19f) {
    writeRM(c, ins, 8, cond(c, op & 15) ? 1 : 0, 0);
    return;
  }
  if (op >= 0x1c8 && op <= 0x1cf) { // BSWAP
    const r = (op & 7) | ((ins.rex & 1) << 3);
    if (os === 64) {
      const lo = bswap32(c.rl[r]!);
      c.rl[r] = bswap32(c.rh[r]!);
      c.rh[r] = lo;
    } else if (os === 32) {
      c.rl[r] = bswap32(c.rl[r]!);
      c.rh[r] = 0;
    } else c.rl[r] = c.rl[r]! & ~0xffff; // 16-bit BSWAP is undefined; zeroing matches hardware
    return;
  }
  if (isSseOpcode(op)) {
    execSse(c, ins);
    return;
  }
  switch (op) {
    case 0x1a0: push(c, stackSize(c, ins), c.sSel[FS]!, 0); return;
    case 0x1a8: push(c, stackSize(c, ins), c.sSel[GS]!, 0); return;
    case 0x1a1: case 0x1a9: {
      const sz = stackSize(c, ins);
      const v = pop(c, sz) & 0xffff;
      try { loadSegment(c, op === 0x1a1 ? FS : GS, v); } catch (e) { c.setSp(c.getSp() - (sz >> 3)); throw e; }
      return;
    }
    case 0x1a3: case 0x1ab: case 0x1b3: case 0x1bb: bitOp(c, ins, (op >> 3) & 3, -1); return; // BT BTS BTR BTC
    case 0x1ba: if (ins.ext < 4) c.fault(EX_UD); bitOp(c, ins, ins.ext - 4, ins.imm & 0xff); return;
    case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad: {
      const d = readRM(c, ins, os);
      const dh = c.mhi;
      checkStore(c, ins, os);
      const s = getReg(c, os, ins.reg, 0);
      const cnt = op & 1 ? c.rl[1]! & 0xff : ins.imm & 0xff;
      const r = shiftDouble(c, op < 0x1ac, os, d, dh, s, c.mhi, cnt);
      writeRMAfterRead(c, ins, os, r, c.rhi);
      return;
    }
    case 0x1af: imul2(c, ins); return;
    case 0x1b0: case 0x1b1: { // CMPXCHG
      const size = op === 0x1b0 ? 8 : os;
      const d = readRM(c, ins, size);
      const dh = c.mhi;
      checkStore(c, ins, size); // the locked cycle writes even when the compare fails
      const a = getReg(c, size, 0, 0);
      const ah = c.mhi;
      alu(c, OP_CMP, size, a, ah, d, dh);
      const equal = size === 64 ? a === d && ah === dh : a === d;
      if (equal) {
        const s = size === 8 ? getReg8(c, ins.reg, ins.rex) : getReg(c, size, ins.reg, 0);
        writeRMAfterRead(c, ins, size, s, c.mhi);
      } else {
        if (ins.mod !== 3) writeRMAfterRead(c, ins, size, d, dh); // the locked cycle writes back
        setReg(c, size, 0, 0, d, dh);
      }
      return;
    }
    case 0x1c0: case 0x1c1: { // XADD
      const size = op === 0x1c0 ? 8 : os;
      const d = readRM(c, ins, size);
      const dh = c.mhi;
      checkStore(c, ins, size);
      const s = size === 8 ? getReg8(c, ins.reg, ins.rex) : getReg(c, size, ins.reg, 0);
      const r = alu(c, 0, size, d, dh, s, c.mhi);
      const rh = c.rhi;
      if (size === 8) setReg8(c, ins.reg, ins.rex, d);
      else setReg(c, size, ins.reg, 0, d, dh);
      writeRMAfterRead(c, ins, size, r, rh);
      return;
    }
    case 0x1c7: group9(c, ins); return;
    case 0x1b2: case 0x1b4: case 0x1b5: { // LSS / LFS / LGS
      if (ins.mod === 3) c.fault(EX_UD);
      const lin = memLin(c, ins, (os >> 3) + 2);
      const off = readMem(c, os, lin);
      const offh = c.mhi;
      const sel = c.rd16(lin + (os >> 3));
      loadSegment(c, op === 0x1b2 ? 2 : op === 0x1b4 ? FS : GS, sel);
      setReg(c, os, ins.reg, 0, off, offh);
      return;
    }
    case 0x1b6: case 0x1b7: { // MOVZX
      const v = op === 0x1b6 ? readRM(c, ins, 8) : readRM(c, ins, 16);
      setReg(c, os, ins.reg, 0, v, 0);
      return;
    }
    case 0x1be: case 0x1bf: { // MOVSX
      const v = op === 0x1be ? (readRM(c, ins, 8) << 24) >> 24 : (readRM(c, ins, 16) << 16) >> 16;
      setReg(c, os, ins.reg, 0, v, v >> 31);
      return;
    }
    case 0x1b8: { // POPCNT (F3)
      if (ins.mp !== 2) c.fault(EX_UD);
      const v = readRM(c, ins, os);
      const vh = os === 64 ? c.mhi : 0;
      const n = popcnt(os === 16 ? v & 0xffff : v) + popcnt(vh);
      setReg(c, os, ins.reg, 0, n, 0);
      setArith(c, n === 0 && (v | vh) === 0 ? ZF : 0);
      return;
    }
    case 0x1bc: case 0x1bd: bitScan(c, ins, op === 0x1bd); return;
    case 0x1b9: case 0x1ff: case 0x10b: c.fault(EX_UD); return; // UD1, UD0, UD2
    case 0x10d: case 0x118: case 0x119: case 0x11a: case 0x11b: case 0x11c: case 0x11d: case 0x11e: case 0x11f:
      return; // PREFETCH / hint NOPs (also ENDBR64)
    default:
      execSystem0f(c, ins);
  }
  void IF; void OF; void SF; void PF; void AF; void CF; void TWO32; void EX_GP; void writeMem; void ea; void getFlags;
}

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

function popcnt(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** BT/BTS/BTR/BTC (kind 0-3). imm < 0 means the bit offset comes from a register. */
function bitOp(c: Cpu, ins: Instr, kind: number, imm: number): void {
  const os = ins.osize;
  let lin = 0;
  let bit: number;
  let v: number;
  let vh = 0;
  if (ins.mod === 3) {
    v = getReg(c, os, ins.rm, 0);
    vh = c.mhi;
    bit = (imm >= 0 ? imm : getReg(c, os, ins.reg, 0)) & (os - 1);
  } else {
    // Register bit offsets are signed and can address memory outside the operand.
    let byteOff = 0;
    if (imm >= 0) bit = imm & (os - 1);
    else {
      const r = getReg(c, os, ins.reg, 0);
      let off: number;
      if (os === 64) off = c.mhi * TWO32 + (r >>> 0);
      else if (os === 32) off = r | 0;
      else off = (r << 16) >> 16;
      const word = Math.floor(off / os);
      byteOff = word * (os >> 3);
      bit = off - word * os;
    }
    if (c.codeMode !== 64) {
      // The segment check applies to the byte actually addressed (and to the store, if any).
      let off = ea(c, ins) + byteOff;
      off = ins.asize === 16 ? off & 0xffff : ((off % TWO32) + TWO32) % TWO32;
      lin = c.segLin(ins.seg >= 0 ? ins.seg : ins.defSeg, off, os >> 3, kind !== 0);
    } else {
      lin = memLin(c, ins) + byteOff;
      if (lin < -140737488355328 || lin >= 140737488355328) c.fault(EX_GP, 0); // non-canonical
    }
    v = readMem(c, os, lin);
    vh = c.mhi;
    if (kind !== 0) {
      // BTS/BTR/BTC: a store that would fault must do so before CF changes (as checkStore
      // does for the other read-modify-writes).
      const bytes = os >> 3;
      c.checkWritable(lin);
      if ((lin & 0xfff) + bytes > 0x1000) c.checkWritable(lin + bytes - 1);
    }
  }
  let cf: number;
  if (bit >= 32) cf = (vh >>> (bit - 32)) & 1;
  else cf = (v >>> bit) & 1;
  materialize(c);
  c.flags = (c.flags & ~CF) | cf;
  if (kind === 0) return;
  const mlo = bit < 32 ? 1 << bit : 0;
  const mhi = bit >= 32 ? 1 << (bit - 32) : 0;
  if (kind === 1) { v |= mlo; vh |= mhi; }
  else if (kind === 2) { v &= ~mlo; vh &= ~mhi; }
  else { v ^= mlo; vh ^= mhi; }
  if (ins.mod === 3) setReg(c, os, ins.rm, 0, v, vh);
  else writeMem(c, os, lin, v, vh);
}

/** BSF/BSR (and TZCNT/LZCNT are not advertised: F3 forms run as BSF/BSR like older CPUs). */
function bitScan(c: Cpu, ins: Instr, reverse: boolean): void {
  const os = ins.osize;
  let v = readRM(c, ins, os);
  let vh = os === 64 ? c.mhi : 0;
  if (os === 16) v &= 0xffff;
  materialize(c);
  if ((v | vh) === 0) {
    c.flags |= ZF;
    return; // destination unchanged (as AMD documents and Intel does)
  }
  c.flags &= ~ZF;
  let n: number;
  if (!reverse) n = v !== 0 ? 31 - Math.clz32(v & -v) : 32 + 31 - Math.clz32(vh & -vh);
  else n = vh !== 0 ? 63 - Math.clz32(vh) : 31 - Math.clz32(v);
  setReg(c, os, ins.reg, 0, n, 0);
}

function group9(c: Cpu, ins: Instr): void {
  if (ins.ext === 1 && ins.mod !== 3) { // CMPXCHG8B / CMPXCHG16B
    const lin = memLin(c, ins, ins.osize === 64 ? 16 : 8, true);
    materialize(c);
    if (ins.osize === 64) {
      if (lin % 16 !== 0) c.fault(EX_GP, 0);
      const l0 = c.rd64(lin), h0 = c.mhi, l1 = c.rd64(lin + 8), h1 = c.mhi;
      if (l0 === c.rl[0] && h0 === c.rh[0] && l1 === c.rl[2] && h1 === c.rh[2]) {
        c.checkWritable(lin + 15);
        c.wr64(lin, c.rl[3]!, c.rh[3]!);
        c.wr64(lin + 8, c.rl[1]!, c.rh[1]!);
        c.flags |= ZF;
      } else {
        c.checkWritable(lin + 15);
        c.wr64(lin, l0, h0);
        c.wr64(lin + 8, l1, h1);
        c.rl[0] = l0; c.rh[0] = h0; c.rl[2] = l1; c.rh[2] = h1;
        c.flags &= ~ZF;
      }
      return;
    }
    const lo = c.rd32(lin), hi = c.rd32(lin + 4);
    if (lo === c.rl[0] && hi === c.rl[2]) {
      c.wr64(lin, c.rl[3]!, c.rl[1]!);
      c.flags |= ZF;
    } else {
      c.wr64(lin, lo, hi);
      c.rl[0] = lo; c.rl[2] = hi;
      if (c.codeMode === 64) { c.rh[0] = 0; c.rh[2] = 0; }
      c.flags &= ~ZF;
    }
    return;
  }
  c.fault(EX_UD); // RDRAND/RDSEED/VMPTRLD... are not advertised
}
