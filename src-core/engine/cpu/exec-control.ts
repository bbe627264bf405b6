// Control-transfer and frame handlers: group 5 (INC/DEC, CALL/JMP near and far indirect,
// PUSH r/m) and ENTER.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { EX_SS, EX_UD, SS, TWO32 } from './constants.ts';
import { checkStore, memLin, push, readRM, writeRMAfterRead } from './operands.ts';
import { farCall, farJump } from './system/far.ts';
import { branchSize, checkTarget, jumpTo, regA, setRegA, stackSize } from './exec-util.ts';
import { incDec } from './exec-arith.ts';
export function group5(c: Cpu, ins: Instr): void {
  const os = ins.osize;
  switch (ins.ext) {
    case 0: case 1: {
      const a = readRM(c, ins, os);
      const ah = c.mhi;
      checkStore(c, ins, os);
      const v = incDec(c, os, a, ah, ins.ext === 0);
      writeRMAfterRead(c, ins, os, v, c.rhi);
      return;
    }
    case 2: { // CALL near indirect
      const sz = branchSize(c, ins);
      const t = readRM(c, ins, sz);
      const target = sz === 64 ? c.mhi * TWO32 + (t >>> 0) : sz === 32 ? t >>> 0 : t & 0xffff;
      const ret = c.rip;
      checkTarget(c, target);
      push(c, sz, ret | 0, Math.floor(ret / TWO32));
      jumpTo(c, target, sz);
      return;
    }
    case 3: case 5: { // CALL/JMP far indirect
      if (ins.mod === 3) c.fault(EX_UD);
      const lin = memLin(c, ins, (os >> 3) + 2);
      const off = os === 64 ? c.rd64(lin) : os === 32 ? c.rd32(lin) : c.rd16(lin);
      const offh = os === 64 ? c.mhi : 0;
      const sel = c.rd16(lin + (os >> 3));
      const target = os === 64 ? offh * TWO32 + (off >>> 0) : os === 32 ? off >>> 0 : off & 0xffff;
      if (ins.ext === 3) farCall(c, sel, target, os);
      else farJump(c, sel, target, os);
      return;
    }
    case 4: { // JMP near indirect
      const sz = branchSize(c, ins);
      const t = readRM(c, ins, sz);
      jumpTo(c, sz === 64 ? c.mhi * TWO32 + (t >>> 0) : sz === 32 ? t >>> 0 : t & 0xffff, sz);
      return;
    }
    case 6: { // PUSH r/m
      const sz = stackSize(c, ins);
      const v = readRM(c, ins, sz);
      push(c, sz, v, c.mhi);
      return;
    }
    default:
      c.fault(EX_UD);
  }
}

export function enter(c: Cpu, ins: Instr): void {
  const sz = stackSize(c, ins);
  const size = ins.imm & 0xffff;
  const level = ins.imm2 & 31;
  const spLo = c.rl[4]!, spHi = c.rh[4]!;
  try {
    enterFrame(c, sz, size, level);
  } catch (e) {
    // A stack fault part way (segment limit, page) leaves RSP as it was.
    c.rl[4] = spLo;
    c.rh[4] = spHi;
    throw e;
  }
}

function enterFrame(c: Cpu, sz: number, size: number, level: number): void {
  push(c, sz, c.rl[5]!, c.rh[5]!);
  const frame = c.getSp();
  if (level > 0) {
    let bp = regA(c, 5, c.stackMode);
    for (let i = 1; i < level; i++) {
      bp -= sz >> 3;
      const lin = c.segLin(SS, c.stackMode === 64 ? bp : c.stackMode === 32 ? bp >>> 0 : bp & 0xffff, sz >> 3);
      const v = sz === 64 ? c.rd64(lin) : sz === 32 ? c.rd32(lin) : c.rd16(lin);
      push(c, sz, v, c.mhi);
    }
    push(c, sz, frame | 0, Math.floor(frame / TWO32));
  }
  // Hardware finishes with a write check of the final stack pointer (an operand-sized
  // access at SS:new RSP, measured on the host: the frame's pushes stay in memory but RSP and
  // RBP are left as they were when it faults). Probe before RBP or RSP change.
  let fin = c.getSp() - size;
  if (c.stackMode === 32) fin >>>= 0;
  else if (c.stackMode === 16) fin &= 0xffff;
  probeStackWrite(c, fin, sz >> 3);
  setRegA(c, 5, sz === 64 ? 64 : sz, frame);
  c.setSp(fin);
}

/** Write-check `bytes` at SS:sp: segment limit and type, canonical form, then paging. */
function probeStackWrite(c: Cpu, sp: number, bytes: number): void {
  if (c.stackMode === 64 && (sp < -140737488355328 || sp >= 140737488355328)) c.fault(EX_SS, 0);
  const lin = c.segLin(SS, sp, bytes, true);
  c.checkWritable(lin);
  if ((lin & 0xfff) + bytes > 0x1000) c.checkWritable(lin + bytes - 1);
}
