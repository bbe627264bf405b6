// The one-byte opcode map. Two-byte (0F) opcodes go to exec-0f.ts, x87 to fpu-exec.ts,
// string instructions to string.ts, SSE to sse.ts. Long handlers live in exec-arith.ts,
// exec-control.ts; shared helpers in exec-util.ts.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import {
  CF, CS, DF, DS, ES, EX_BP, EX_GP, EX_OF, EX_UD, FS, GS, IF, IOPL, OF, SS, TWO32, VM, ZF, RF,
} from './constants.ts';
import {
  alu, shift, OP_CMP, OP_AND,
} from './alu.ts';
import { FL_LOGIC, cond, getCF, getFlags, materialize, setLazy } from './flags.ts';
import {
  checkStore, ea, eaHalves, getReg, getReg8, memLin, peek, pop, push, readMem, readRM, setReg, setReg8, writeMem, writeRM, writeRMAfterRead,
} from './operands.ts';
import { exec0f } from './exec-0f.ts';
import { branchSize, checkTarget, jumpTo as jumpToOp, regA, stackSize, signExt, writeFlags } from './exec-util.ts';
import { arpl, bcdAdjust, group3, imul3, incDec as incDecOp, xchgAcc } from './exec-arith.ts';
import { enter, group5 } from './exec-control.ts';
import { execString } from './string.ts';
import { execFpu } from './fpu-exec.ts';
import { loadSegment } from './system/segments.ts';
import { farCall, farJump, farReturn } from './system/far.ts';
import { iret, softwareInterrupt } from './system/interrupts.ts';
import { portAllowed } from './system/io-perm.ts';

/** POPA's eight values, read before any register is written. */
const POPA_VALS = new Int32Array(8);

/** Run one decoded instruction through the handler its decode chose (exec-pick.ts). */
export function execute(c: Cpu, ins: Instr): void {
  ins.fn(c, ins);
}

/** The general handler: every one-byte opcode (0F and the rest dispatched from here). */
export function executeAny(c: Cpu, ins: Instr): void {
  if (ins.invalid) c.fault(EX_UD);
  const op = ins.op;
  if (ins.lock && !lockAllowed(ins)) c.fault(EX_UD);
  if (op >= 0x100) {
    exec0f(c, ins);
    return;
  }
  const os = ins.osize;
  if (op < 0x40 && (op & 7) < 6) {
    // ALU: 00-05, 08-0d, ..., 38-3d.
    const aop = op >> 3;
    switch (op & 7) {
      case 0: { // r/m8, r8
        const a = readRM(c, ins, 8);
        if (aop !== OP_CMP) checkStore(c, ins, 8);
        const r = alu(c, aop, 8, a, 0, getReg8(c, ins.reg, ins.rex), 0);
        if (aop !== OP_CMP) writeRMAfterRead(c, ins, 8, r, 0);
        return;
      }
      case 1: {
        const a = readRM(c, ins, os);
        const ah = c.mhi;
        if (aop !== OP_CMP) checkStore(c, ins, os);
        const b = getReg(c, os, ins.reg, ins.rex);
        const r = alu(c, aop, os, a, ah, b, c.mhi);
        if (aop !== OP_CMP) writeRMAfterRead(c, ins, os, r, c.rhi);
        return;
      }
      case 2: {
        const b = readRM(c, ins, 8);
        const r = alu(c, aop, 8, getReg8(c, ins.reg, ins.rex), 0, b, 0);
        if (aop !== OP_CMP) setReg8(c, ins.reg, ins.rex, r);
        return;
      }
      case 3: {
        const b = readRM(c, ins, os);
        const bh = c.mhi;
        const a = getReg(c, os, ins.reg, ins.rex);
        const r = alu(c, aop, os, a, c.mhi, b, bh);
        if (aop !== OP_CMP) setReg(c, os, ins.reg, ins.rex, r, c.rhi);
        return;
      }
      case 4: {
        const r = alu(c, aop, 8, c.rl[0]! & 0xff, 0, ins.imm & 0xff, 0);
        if (aop !== OP_CMP) setReg8(c, 0, 0, r);
        return;
      }
      default: {
        const a = getReg(c, os, 0, 0);
        const r = alu(c, aop, os, a, c.mhi, os === 16 ? ins.imm & 0xffff : ins.imm, ins.imm >> 31);
        if (aop !== OP_CMP) setReg(c, os, 0, 0, r, c.rhi);
        return;
      }
    }
  }
  switch (op) {
    case 0x06: case 0x0e: case 0x16: case 0x1e: // PUSH seg
      if (c.codeMode === 64) c.fault(EX_UD);
      push(c, os, c.sSel[op >> 3]!, 0);
      return;
    case 0x07: case 0x17: case 0x1f: { // POP seg
      if (c.codeMode === 64) c.fault(EX_UD);
      const v = pop(c, os) & 0xffff;
      try { loadSegment(c, op >> 3, v); } catch (e) { c.setSp(c.getSp() - (os >> 3)); throw e; }
      if (op === 0x17) c.inhibit = c.intCheck = true;
      return;
    }
    case 0x27: case 0x2f: case 0x37: case 0x3f:
      if (c.codeMode === 64) c.fault(EX_UD);
      bcdAdjust(c, op);
      return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const r = op & 7;
      const v = incDecOp(c, os, getReg(c, os, r, 0), c.mhi, op < 0x48);
      setReg(c, os, r, 0, v, c.rhi);
      return;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
      const r = (op & 7) | ((ins.rex & 1) << 3);
      const sz = stackSize(c, ins);
      push(c, sz, c.rl[r]!, c.rh[r]!);
      return;
    }
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const r = (op & 7) | ((ins.rex & 1) << 3);
      const sz = stackSize(c, ins);
      const v = pop(c, sz);
      setReg(c, sz, r, 0, v, c.mhi);
      return;
    }
    case 0x60: { // PUSHA
      if (c.codeMode === 64) c.fault(EX_UD);
      const sp = c.rl[4]!;
      // A stack fault part way (segment limit, page) leaves ESP as it was.
      try { for (let r = 0; r < 8; r++) push(c, os, r === 4 ? sp : c.rl[r]!, 0); } catch (e) { c.rl[4] = sp; throw e; }
      return;
    }
    case 0x61: { // POPA
      if (c.codeMode === 64) c.fault(EX_UD);
      // Hardware checks the whole 16/32-byte read (stack limit, pages) before it writes any
      // register: read all eight values first, so a fault part-way changes nothing.
      const bytes = os >> 3;
      const vals = POPA_VALS;
      for (let k = 0; k < 8; k++) vals[k] = peek(c, os, k * bytes);
      for (let k = 0; k < 8; k++) if (k !== 3) setReg(c, os, 7 - k, 0, vals[k]!, 0); // SP's slot is skipped
      c.setSp(c.getSp() + 8 * bytes);
      return;
    }
    case 0x62: { // BOUND
      if (c.codeMode === 64 || ins.mod === 3) c.fault(EX_UD);
      const lin = memLin(c, ins, os >> 2);
      const idx = signExt(os, getReg(c, os, ins.reg, 0));
      const lo = signExt(os, readMem(c, os, lin));
      const hi = signExt(os, readMem(c, os, lin + (os >> 3)));
      if (idx < lo || idx > hi) c.fault(5);
      return;
    }
    case 0x63:
      if (c.codeMode === 64) { // MOVSXD
        const v = readRM(c, ins, 32);
        if (os === 64) setReg(c, 64, ins.reg, 0, v, v >> 31);
        else setReg(c, os, ins.reg, 0, v, 0);
      } else arpl(c, ins);
      return;
    case 0x68: push(c, stackSize(c, ins), ins.imm, ins.imm >> 31); return;
    case 0x6a: push(c, stackSize(c, ins), ins.imm, ins.imm >> 31); return;
    case 0x69: case 0x6b: {
      const b = readRM(c, ins, os);
      imul3(c, ins, os, b, c.mhi, ins.imm, ins.imm >> 31);
      return;
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      execString(c, ins);
      return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
      if (cond(c, op & 15)) jumpToOp(c, c.rip + ins.imm, branchSize(c, ins));
      return;
    case 0x80: case 0x81: case 0x82: case 0x83: {
      if (op === 0x82 && c.codeMode === 64) c.fault(EX_UD);
      const size = op === 0x80 || op === 0x82 ? 8 : os;
      const a = readRM(c, ins, size);
      const ah = c.mhi;
      if (ins.ext !== OP_CMP) checkStore(c, ins, size);
      const imm = size === 8 ? ins.imm & 0xff : size === 16 ? ins.imm & 0xffff : ins.imm;
      const r = alu(c, ins.ext, size, a, ah, imm, ins.imm >> 31);
      if (ins.ext !== OP_CMP) writeRMAfterRead(c, ins, size, r, c.rhi);
      return;
    }
    case 0x84: alu(c, OP_AND, 8, readRM(c, ins, 8), 0, getReg8(c, ins.reg, ins.rex), 0); return;
    case 0x85: {
      const a = readRM(c, ins, os);
      const ah = c.mhi;
      const b = getReg(c, os, ins.reg, ins.rex);
      alu(c, OP_AND, os, a, ah, b, c.mhi);
      return;
    }
    case 0x86: {
      const a = readRM(c, ins, 8);
      const b = getReg8(c, ins.reg, ins.rex);
      writeRMAfterRead(c, ins, 8, b, 0);
      setReg8(c, ins.reg, ins.rex, a);
      return;
    }
    case 0x87: {
      const a = readRM(c, ins, os);
      const ah = c.mhi;
      const b = getReg(c, os, ins.reg, ins.rex);
      writeRMAfterRead(c, ins, os, b, c.mhi);
      setReg(c, os, ins.reg, ins.rex, a, ah);
      return;
    }
    case 0x88: writeRM(c, ins, 8, getReg8(c, ins.reg, ins.rex), 0); return;
    case 0x89: { const v = getReg(c, os, ins.reg, ins.rex); writeRM(c, ins, os, v, c.mhi); return; }
    case 0x8a: setReg8(c, ins.reg, ins.rex, readRM(c, ins, 8)); return;
    case 0x8b: { const v = readRM(c, ins, os); setReg(c, os, ins.reg, ins.rex, v, c.mhi); return; }
    case 0x8c: { // MOV r/m, Sreg
      if (ins.ext > 5) c.fault(EX_UD);
      const v = c.sSel[ins.ext]! & 0xffff;
      if (ins.mod === 3) setReg(c, os === 16 ? 16 : os, ins.rm, 0, v, 0);
      else writeMem(c, 16, memLin(c, ins, 2, true), v, 0);
      return;
    }
    case 0x8d: { // LEA
      if (ins.mod === 3) c.fault(EX_UD);
      if (ins.asize === 64) {
        const lo = eaHalves(c, ins);
        setReg(c, os, ins.reg, 0, lo, c.mhi);
      } else setReg(c, os, ins.reg, 0, ea(c, ins) | 0, 0);
      return;
    }
    case 0x8e: { // MOV Sreg, r/m
      if (ins.ext === CS || ins.ext > 5) c.fault(EX_UD);
      loadSegment(c, ins.ext, readRM(c, ins, 16));
      if (ins.ext === SS) c.inhibit = c.intCheck = true;
      return;
    }
    case 0x8f: { // POP r/m
      const sz = stackSize(c, ins);
      const spBefore = c.getSp();
      const v = pop(c, sz);
      const vh = c.mhi;
      try { writeRM(c, ins, sz, v, vh); } catch (e) { c.setSp(spBefore); throw e; }
      return;
    }
    case 0x90:
      if (ins.rex & 1) { xchgAcc(c, ins, 8); return; }
      return; // NOP / PAUSE
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      xchgAcc(c, ins, (op & 7) | ((ins.rex & 1) << 3));
      return;
    case 0x98: // CBW / CWDE / CDQE
      if (os === 16) c.rl[0] = (c.rl[0]! & ~0xffff) | (((c.rl[0]! << 24) >> 24) & 0xffff);
      else if (os === 32) { c.rl[0] = (c.rl[0]! << 16) >> 16; c.rh[0] = 0; }
      else c.rh[0] = c.rl[0]! >> 31;
      return;
    case 0x99: // CWD / CDQ / CQO
      if (os === 16) c.rl[2] = (c.rl[2]! & ~0xffff) | (((c.rl[0]! << 16) >> 31) & 0xffff);
      else if (os === 32) { c.rl[2] = c.rl[0]! >> 31; c.rh[2] = 0; }
      else { c.rl[2] = c.rh[0]! >> 31; c.rh[2] = c.rh[0]! >> 31; }
      return;
    case 0x9a: farCall(c, ins.imm2, ins.imm, os); return;
    case 0x9b: if ((c.cr0 & 0xa) === 0xa) c.fault(7); c.fpu.checkPending(c); return; // FWAIT
    case 0x9c: { // PUSHF
      if ((c.flags & VM) && (c.flags & IOPL) !== IOPL) c.fault(EX_GP, 0);
      const f = getFlags(c) & ~(RF | VM);
      push(c, stackSize(c, ins), f, 0);
      return;
    }
    case 0x9d: { // POPF
      if ((c.flags & VM) && (c.flags & IOPL) !== IOPL) c.fault(EX_GP, 0);
      const sz = stackSize(c, ins);
      const v = pop(c, sz);
      writeFlags(c, v, sz);
      return;
    }
    case 0x9e: { // SAHF
      materialize(c);
      c.flags = (c.flags & ~0xd5) | ((c.rl[0]! >> 8) & 0xd5);
      return;
    }
    case 0x9f: // LAHF
      c.rl[0] = (c.rl[0]! & ~0xff00) | (((getFlags(c) & 0xd5) | 2) << 8);
      return;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      const size = op & 1 ? os : 8;
      const s = ins.seg >= 0 ? ins.seg : DS;
      const off = ins.asize === 64 ? ins.immHi * TWO32 + (ins.imm >>> 0) : ins.imm >>> 0;
      const lin = c.segLin(s, off, size >> 3, op >= 0xa2);
      if (op < 0xa2) setReg(c, size, 0, 0, readMem(c, size, lin), c.mhi);
      else writeMem(c, size, lin, getReg(c, size, 0, 0), c.mhi);
      return;
    }
    case 0xa8: alu(c, OP_AND, 8, c.rl[0]! & 0xff, 0, ins.imm & 0xff, 0); return;
    case 0xa9: alu(c, OP_AND, os, getReg(c, os, 0, 0), c.mhi, os === 16 ? ins.imm & 0xffff : ins.imm, ins.imm >> 31); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      setReg8(c, (op & 7) | ((ins.rex & 1) << 3), ins.rex, ins.imm);
      return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      setReg(c, os, (op & 7) | ((ins.rex & 1) << 3), 0, ins.imm, ins.immHi);
      return;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      if (ins.ext === 6 && false) return;
      const size = op & 1 ? os : 8;
      const a = readRM(c, ins, size);
      const ah = c.mhi;
      checkStore(c, ins, size);
      const cnt = op <= 0xc1 ? ins.imm & 0xff : op <= 0xd1 ? 1 : c.rl[1]! & 0xff;
      const r = shift(c, ins.ext, size, a, ah, cnt);
      writeRMAfterRead(c, ins, size, r, c.rhi);
      return;
    }
    case 0xc2: case 0xc3: { // RET near
      const sz = branchSize(c, ins);
      const spBefore = c.getSp();
      const t = pop(c, sz);
      const target = sz === 64 ? c.mhi * TWO32 + (t >>> 0) : sz === 32 ? t >>> 0 : t & 0xffff;
      try { jumpToOp(c, target, sz); } catch (e) { c.setSp(spBefore); throw e; }
      if (op === 0xc2) c.setSp(c.getSp() + ins.imm);
      return;
    }
    case 0xc4: case 0xc5: { // LES / LDS (VEX prefixes in 64-bit mode: not implemented -> #UD)
      if (c.codeMode === 64 || ins.mod === 3) c.fault(EX_UD);
      const lin = memLin(c, ins, (os >> 3) + 2);
      const off = readMem(c, os, lin);
      const sel = c.rd16(lin + (os >> 3));
      loadSegment(c, op === 0xc4 ? ES : DS, sel);
      setReg(c, os, ins.reg, 0, off, 0);
      return;
    }
    case 0xc6: writeRM(c, ins, 8, ins.imm, 0); return;
    case 0xc7: writeRM(c, ins, os, ins.imm, ins.imm >> 31); return;
    case 0xc8: enter(c, ins); return;
    case 0xc9: { // LEAVE
      const sz = stackSize(c, ins);
      if (c.stackMode === 64) { c.rl[4] = c.rl[5]!; c.rh[4] = c.rh[5]!; }
      else if (c.stackMode === 32) c.rl[4] = c.rl[5]!;
      else c.rl[4] = (c.rl[4]! & ~0xffff) | (c.rl[5]! & 0xffff);
      const v = pop(c, sz);
      setReg(c, sz, 5, 0, v, c.mhi);
      return;
    }
    case 0xca: case 0xcb: farReturn(c, os, op === 0xca ? ins.imm : 0); return;
    case 0xcc: softwareInterrupt(c, EX_BP, 'int3'); return;
    case 0xcd: softwareInterrupt(c, ins.imm & 0xff, 'int'); return;
    case 0xce:
      if (c.codeMode === 64) c.fault(EX_UD);
      if (getFlags(c) & OF) softwareInterrupt(c, EX_OF, 'int3');
      return;
    case 0xcf: iret(c, os); return;
    case 0xd4: { // AAM
      if (c.codeMode === 64) c.fault(EX_UD);
      const base = ins.imm & 0xff;
      if (base === 0) c.fault(0);
      const al = c.rl[0]! & 0xff;
      const r = ((Math.floor(al / base) & 0xff) << 8) | (al % base);
      c.rl[0] = (c.rl[0]! & ~0xffff) | r;
      setLazy(c, FL_LOGIC, 8, r & 0xff, 0, 0, 0, 0, 0);
      return;
    }
    case 0xd5: { // AAD
      if (c.codeMode === 64) c.fault(EX_UD);
      const r = ((c.rl[0]! & 0xff) + ((c.rl[0]! >> 8) & 0xff) * (ins.imm & 0xff)) & 0xff;
      c.rl[0] = (c.rl[0]! & ~0xffff) | r;
      setLazy(c, FL_LOGIC, 8, r, 0, 0, 0, 0, 0);
      return;
    }
    case 0xd6: // SALC
      if (c.codeMode === 64) c.fault(EX_UD);
      setReg8(c, 0, 0, getCF(c) ? 0xff : 0);
      return;
    case 0xd7: { // XLAT
      const s = ins.seg >= 0 ? ins.seg : DS;
      const off = (regA(c, 3, ins.asize) + (c.rl[0]! & 0xff));
      const o = ins.asize === 64 ? off : ins.asize === 32 ? off >>> 0 : off & 0xffff;
      setReg8(c, 0, 0, c.rd8(c.segLin(s, o)));
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      execFpu(c, ins);
      return;
    case 0xe0: case 0xe1: case 0xe2: { // LOOPNE / LOOPE / LOOP
      const as = ins.asize;
      let zero: boolean;
      if (as === 64) {
        const lo = c.rl[1]!;
        c.rl[1] = lo - 1;
        if (lo === 0) c.rh[1] = c.rh[1]! - 1;
        zero = (c.rl[1]! | c.rh[1]!) === 0;
      } else if (as === 32) {
        c.rl[1] = c.rl[1]! - 1;
        c.rh[1] = 0;
        zero = c.rl[1] === 0;
      } else {
        const v = (c.rl[1]! - 1) & 0xffff;
        c.rl[1] = (c.rl[1]! & ~0xffff) | v;
        zero = v === 0;
      }
      let take = !zero;
      if (op === 0xe0) take = take && !(getFlags(c) & ZF);
      else if (op === 0xe1) take = take && (getFlags(c) & ZF) !== 0;
      if (take) jumpToOp(c, c.rip + ins.imm, branchSize(c, ins));
      return;
    }
    case 0xe3:
      if (regA(c, 1, ins.asize) === 0) jumpToOp(c, c.rip + ins.imm, branchSize(c, ins));
      return;
    case 0xe4: case 0xe5: case 0xec: case 0xed: { // IN
      const size = op & 1 ? (os === 16 ? 16 : 32) : 8;
      const port = op < 0xec ? ins.imm & 0xff : c.rl[2]! & 0xffff;
      portAllowed(c, port, size >> 3);
      const v = c.io.read(port, (size >> 3) as 1 | 2 | 4);
      setReg(c, size, 0, 0, v | 0, 0);
      if (c.bus.mapVersion !== c.seenMapVersion) c.tlbFlushAll();
      return;
    }
    case 0xe6: case 0xe7: case 0xee: case 0xef: { // OUT
      const size = op & 1 ? (os === 16 ? 16 : 32) : 8;
      const port = op < 0xee ? ins.imm & 0xff : c.rl[2]! & 0xffff;
      portAllowed(c, port, size >> 3);
      const v = size === 8 ? c.rl[0]! & 0xff : size === 16 ? c.rl[0]! & 0xffff : c.rl[0]! >>> 0;
      c.io.write(port, (size >> 3) as 1 | 2 | 4, v);
      if (c.bus.mapVersion !== c.seenMapVersion) c.tlbFlushAll();
      return;
    }
    case 0xe8: { // CALL rel
      const sz = branchSize(c, ins);
      const ret = c.rip;
      const target = c.rip + ins.imm;
      checkTarget(c, target);
      push(c, sz, ret | 0, Math.floor(ret / TWO32));
      jumpToOp(c, target, sz);
      return;
    }
    case 0xe9: case 0xeb: jumpToOp(c, c.rip + ins.imm, branchSize(c, ins)); return;
    case 0xea: farJump(c, ins.imm2, ins.imm); return;
    case 0xf1: softwareInterrupt(c, 1, 'int1'); return;
    case 0xf4: // HLT
      if (c.cpl !== 0) c.fault(EX_GP, 0);
      c.halted = true;
      c.intCheck = true;
      return;
    case 0xf5: materialize(c); c.flags ^= CF; return;
    case 0xf6: case 0xf7: group3(c, ins, op === 0xf6 ? 8 : os); return;
    case 0xf8: materialize(c); c.flags &= ~CF; return;
    case 0xf9: materialize(c); c.flags |= CF; return;
    case 0xfa: // CLI
      if (c.cr0 & 1 && c.cpl > ((c.flags & IOPL) >> 12)) c.fault(EX_GP, 0);
      c.flags &= ~IF;
      return;
    case 0xfb: // STI
      if (c.cr0 & 1 && c.cpl > ((c.flags & IOPL) >> 12)) c.fault(EX_GP, 0);
      if (!(c.flags & IF)) { c.flags |= IF; c.inhibit = true; c.intCheck = true; }
      return;
    case 0xfc: c.flags &= ~DF; return;
    case 0xfd: c.flags |= DF; return;
    case 0xfe: {
      if (ins.ext > 1) c.fault(EX_UD);
      const a = readRM(c, ins, 8);
      checkStore(c, ins, 8);
      const v = incDecOp(c, 8, a, 0, ins.ext === 0);
      writeRMAfterRead(c, ins, 8, v, 0);
      return;
    }
    case 0xff: group5(c, ins); return;
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67:
    case 0xf0: case 0xf2: case 0xf3:
      c.fault(EX_UD);
      return;
    default:
      c.fault(EX_UD);
  }
  void FS; void GS;
}

/** LOCK is only valid on read-modify-write instructions with a memory destination. */
function lockAllowed(ins: Instr): boolean {
  if (ins.mod === 3 || !ins.hasModrm) return false;
  const op = ins.op;
  if (op < 0x40) return (op & 7) < 2 && (op >> 3) !== 7;
  if (op >= 0x80 && op <= 0x83) return ins.ext !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return ins.ext === 2 || ins.ext === 3;
  if (op === 0xfe || op === 0xff) return ins.ext < 2;
  if (op === 0x1ab || op === 0x1b3 || op === 0x1bb || op === 0x1b0 || op === 0x1b1 || op === 0x1c0 || op === 0x1c1) return true;
  if (op === 0x1ba) return ins.ext >= 5;
  if (op === 0x1c7) return ins.ext === 1;
  return false;
}

// INC/DEC and near jumps for the block compiler, whose module reads them at load time
// (jit/compile.ts's HELPERS). exec.ts sits on an import cycle (exec -> system/far ->
// interrupts -> cpu -> run-loop -> jit/compile -> exec), so compile.ts can load while this
// module is only part-way evaluated; a re-export binding is then still unresolved when the
// loader transpiles to CommonJS, but hoisted declarations like these already exist.
export function incDec(c: Cpu, size: number, a: number, ah: number, inc: boolean): number {
  return incDecOp(c, size, a, ah, inc);
}
export function jumpTo(c: Cpu, target: number, osize: number): void {
  jumpToOp(c, target, osize);
}

// Re-exported so existing importers keep one entry point for the opcode helpers.
export { imul2 } from './exec-arith.ts';
export { regA, setRegA, stackSize, writeFlags } from './exec-util.ts';
export { getReg8, setReg8 };
