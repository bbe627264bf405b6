// Far JMP / CALL / RET: loading CS with the protected-mode checks, returns to an outer
// privilege level (which also pops SS:SP), and dispatch of transfers through system
// descriptors: call gates (call-gate.ts) and task gates / TSS descriptors (task-switch.ts).
import type { Cpu } from '../cpu.ts';
import { CS, EFER_LMA, EX_GP, EX_NP, SS, TWO32, VM, ES, DS, FS, GS } from '../constants.ts';
import { DHI, DLO, descAttr, descBase, descLimit, readDescriptor, setAccessed, setSegCache, loadSegment } from './segments.ts';
import { push, pop } from '../operands.ts';
import { refreshSegChecks } from './seg-limits.ts';
import { gateTransfer } from './call-gate.ts';
import { taskTransfer } from './task-switch.ts';

function realModeCs(c: Cpu, sel: number): void {
  c.sSel[CS] = sel & 0xffff;
  c.sBase[CS] = (sel & 0xffff) * 16;
  if (c.flags & VM) {
    c.sLimit[CS] = 0xffff;
    c.sAttr[CS] = 0xfb;
  }
  c.updateMode();
}

/**
 * Check the code descriptor of `sel` for a transfer at privilege `cpl` and load CS (RPL set
 * to the resulting CPL). For returns, `returning` allows RPL > CPL (outer level).
 */
export function loadCodeSegment(c: Cpu, sel: number, returning: boolean): number {
  if ((sel & 0xfffc) === 0) c.fault(EX_GP, 0);
  readDescriptor(c, sel);
  const lo = DLO, hi = DHI;
  const type = (hi >> 8) & 0x1f;
  const dpl = (hi >> 13) & 3;
  const rpl = sel & 3;
  if ((type & 0x18) !== 0x18) c.fault(EX_GP, sel & 0xfffc); // must be code
  const conforming = (type & 4) !== 0;
  let newCpl = c.cpl;
  if (returning) {
    if (rpl < c.cpl) c.fault(EX_GP, sel & 0xfffc);
    if (conforming ? dpl > rpl : dpl !== rpl) c.fault(EX_GP, sel & 0xfffc);
    newCpl = rpl;
  } else if (conforming) {
    if (dpl > c.cpl) c.fault(EX_GP, sel & 0xfffc);
  } else if (rpl > c.cpl || dpl !== c.cpl) c.fault(EX_GP, sel & 0xfffc);
  if (!(hi & 0x8000)) c.fault(EX_NP, sel & 0xfffc);
  // Long mode: a code segment with both L and D set is invalid.
  if ((c.efer & 0x400) && (hi & 0x200000) && (hi & 0x400000)) c.fault(EX_GP, sel & 0xfffc);
  setAccessed(c);
  setSegCache(c, CS, (sel & 0xfffc) | newCpl, descBase(lo, hi), descLimit(lo, hi), descAttr(hi) | 0x1);
  return newCpl;
}

function setRip(c: Cpu, off: number, os: number): void {
  if (c.codeMode === 64) c.rip = off;
  else c.rip = os === 16 ? off & 0xffff : off >>> 0;
}

export function farJump(c: Cpu, sel: number, off: number, os = 32): void {
  if (!(c.cr0 & 1) || (c.flags & VM)) {
    realModeCs(c, sel);
    c.rip = os === 16 || c.codeMode === 16 ? off & 0xffff : off >>> 0;
    return;
  }
  if (systemTarget(c, sel)) {
    systemTransfer(c, sel, false);
    return;
  }
  const saved = saveCs(c);
  loadCodeSegment(c, sel, false);
  checkTargetLimit(c, off, os, saved);
  setRip(c, off, os);
}

/** Reads the descriptor of a non-null `sel`; true when it is a system descriptor (gate, TSS). */
function systemTarget(c: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  readDescriptor(c, sel);
  return (DHI & 0x1000) === 0;
}

/** JMP/CALL through a call gate, task gate or TSS descriptor (read by systemTarget). */
function systemTransfer(c: Cpu, sel: number, isCall: boolean): void {
  const lo = DLO, hi = DHI;
  const type = (hi >> 8) & 0xf;
  const long = (c.efer & EFER_LMA) !== 0;
  if (type === 0xc || (type === 4 && !long)) {
    gateTransfer(c, sel, lo, hi, isCall);
    return;
  }
  // Task switches do not exist in long mode.
  if (!long && (type === 5 || type === 1 || type === 9)) {
    taskTransfer(c, sel, lo, hi, isCall ? 'call' : 'jmp');
    return;
  }
  c.fault(EX_GP, sel & 0xfffc);
}

type CsCache = readonly [number, number, number, number];

export function saveCs(c: Cpu): CsCache {
  return [c.sSel[CS]!, c.sBase[CS]!, c.sLimit[CS]!, c.sAttr[CS]!];
}

export function restoreCs(c: Cpu, saved: CsCache): void {
  setSegCache(c, CS, saved[0], saved[1], saved[2], saved[3]);
}

/** A far transfer's offset must lie inside the new CS (outside 64-bit mode): #GP(0) at the
 * transferring instruction, with the old CS back in place. */
function checkTargetLimit(c: Cpu, off: number, os: number, saved: CsCache): void {
  if (c.codeMode === 64) return;
  const o = os === 16 ? off & 0xffff : off >>> 0;
  if (o > c.sLimit[CS]!) {
    restoreCs(c, saved);
    c.fault(EX_GP, 0);
  }
}

export function farCall(c: Cpu, sel: number, off: number, os: number): void {
  const retCs = c.sSel[CS]!;
  const retIp = c.rip;
  const size = os;
  if (!(c.cr0 & 1) || (c.flags & VM)) {
    push(c, size, retCs, 0);
    push(c, size, retIp, 0);
    realModeCs(c, sel);
    c.rip = os === 16 ? off & 0xffff : off >>> 0;
    return;
  }
  if (systemTarget(c, sel)) {
    systemTransfer(c, sel, true);
    return;
  }
  const sp = c.getSp();
  const savedCs = saveCs(c);
  loadCodeSegment(c, sel, false);
  checkTargetLimit(c, off, os, savedCs);
  try {
    // Push with the old stack (same privilege: SS unchanged).
    push(c, size, retCs, 0);
    push(c, size, retIp % TWO32 | 0, Math.floor(retIp / TWO32));
  } catch (e) {
    restoreCs(c, savedCs);
    c.setSp(sp);
    throw e;
  }
  setRip(c, off, os);
}

export function farReturn(c: Cpu, os: number, extra: number): void {
  if (!(c.cr0 & 1) || (c.flags & VM)) {
    const ip = pop(c, os);
    const cs = pop(c, os) & 0xffff;
    realModeCs(c, cs);
    c.rip = os === 16 ? ip & 0xffff : ip >>> 0;
    c.setSp(c.getSp() + extra);
    return;
  }
  const spLo = c.rl[4]!, spHi = c.rh[4]!;
  const ip = pop(c, os);
  const iph = c.mhi;
  const cs = pop(c, os) & 0xffff;
  // Return to an outer level: SS:SP follow the parameters on the old stack; they are read
  // at the old privilege, before CS changes.
  const outer = (cs & 3) > c.cpl;
  let sp = 0, sph = 0, ss = 0;
  if (outer) {
    c.setSp(c.getSp() + extra);
    sp = pop(c, os);
    sph = c.mhi;
    ss = pop(c, os) & 0xffff;
  }
  const savedCs = saveCs(c);
  let target: number;
  try {
    loadCodeSegment(c, cs, true);
    if (c.codeMode === 64) target = iph * TWO32 + (ip >>> 0);
    else {
      target = os === 16 ? ip & 0xffff : ip >>> 0;
      if (target > c.sLimit[CS]!) c.fault(EX_GP, 0);
    }
    if (outer) loadSegment(c, SS, ss);
  } catch (e) {
    restoreCs(c, savedCs);
    c.rl[4] = spLo;
    c.rh[4] = spHi;
    throw e;
  }
  if (outer) {
    if (os === 64) { c.rl[4] = sp; c.rh[4] = sph; } else c.setSp(os === 32 ? sp >>> 0 : sp & 0xffff);
    nullInaccessibleSegments(c);
  }
  c.rip = target;
  c.setSp(c.getSp() + extra);
}

/** After a return to an outer level, data segments the new CPL may not use become null. */
export function nullInaccessibleSegments(c: Cpu): void {
  for (const s of [ES, DS, FS, GS]) {
    const a = c.sAttr[s]!;
    const dpl = (a >> 5) & 3;
    const conformingCode = (a & 0x1c) === 0x1c;
    if ((c.sSel[s]! & 0xfffc) !== 0 && !conformingCode && dpl < c.cpl) {
      c.sSel[s] = 0;
      c.sAttr[s] = 0;
      if (c.codeMode !== 64) c.sBase[s] = 0;
    }
  }
  refreshSegChecks(c);
}
