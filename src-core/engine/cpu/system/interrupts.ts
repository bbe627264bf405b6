// Exception and interrupt delivery (real mode IVT, protected-mode and long-mode IDT gates
// with stack switches and IST), double/triple fault escalation, external interrupts and NMI
// at instruction boundaries, and IRET in every mode.
import type { Cpu } from '../cpu.ts';
import { FAULT } from '../cpu.ts';
import {
  AC, CS, DS, ES, EX_DF, EX_GP, EX_NP, EX_SS, EX_TS, FS, GS, IF, IOPL, NT, RF, SS, TF, TR, TWO32, VM, EFER_LMA,
} from '../constants.ts';
import { getFlags } from '../flags.ts';
import { writeFlags } from '../exec.ts';
import { DHI, DLO, descAttr, descBase, descLimit, readDescriptor, setSegCache, sysRead32, sysRead16, loadSegment } from './segments.ts';
import { loadCodeSegment, nullInaccessibleSegments } from './far.ts';
import { pop, push } from '../operands.ts';
import { taskGateInterrupt, taskReturn } from './task-switch.ts';
import { stackRoom, tssStack } from './call-gate.ts';
import { EV_FREEZE } from '../fpu.ts';

export type EventKind = 'fault' | 'trap' | 'ext' | 'int' | 'int3' | 'int1' | 'nmi';

const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);
const HAS_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);

/** At an instruction boundary: deliver NMI or a maskable interrupt if one is due. */
export function checkInterrupts(c: Cpu): void {
  c.intCheck = false;
  if (c.nmiPending && !c.nmiBlocked) {
    c.nmiPending = false;
    c.nmiBlocked = true;
    c.halted = false;
    guarded(c, 2, -1, 'nmi');
    return;
  }
  const src = c.intSrc;
  if (src && (c.flags & IF) && src.hasInterrupt()) {
    const vec = src.acknowledge();
    c.halted = false;
    guarded(c, vec & 0xff, -1, 'ext');
  }
}

/** Deliver the exception recorded by c.fault() (restarting the faulting instruction). */
export function deliverPending(c: Cpu): void {
  const vec = c.exVec;
  const code = c.exCode;
  c.rip = c.ip0;
  if (vec === EV_FREEZE) return; // a frozen x87 instruction: nothing to deliver
  guarded(c, vec, HAS_CODE.has(vec) ? (code < 0 ? 0 : code) : -1, 'fault');
}

/** Deliver with double/triple-fault escalation when the delivery itself faults (the run loop
 * delivers single-step traps through it too). */
export function guarded(c: Cpu, vec: number, code: number, kind: EventKind): void {
  const prev = c.delivering;
  c.delivering = vec;
  try {
    deliverInterrupt(c, vec, code, kind);
    c.delivering = -1;
  } catch (e) {
    if (e !== FAULT) throw e;
    const v2 = c.exVec;
    const code2 = HAS_CODE.has(v2) ? (c.exCode < 0 ? 0 : c.exCode) : -1;
    c.delivering = -1;
    if (vec === EX_DF || prev === EX_DF) {
      tripleFault(c);
      return;
    }
    const first = vec;
    const df = (CONTRIBUTORY.has(first) && CONTRIBUTORY.has(v2)) || (first === 14 && (v2 === 14 || CONTRIBUTORY.has(v2)));
    if (df) guarded(c, EX_DF, 0, 'fault');
    else guarded(c, v2, code2, 'fault');
  }
}

function tripleFault(c: Cpu): void {
  const cb = c.onTripleFault;
  c.reset();
  if (cb) cb();
  c.exitReq = true;
}

/** INT n / INT3 / INTO / INT1 from an instruction (return address = next instruction). */
export function softwareInterrupt(c: Cpu, vec: number, kind: EventKind): void {
  if ((c.flags & VM) && (c.flags & IOPL) !== IOPL && kind === 'int') c.fault(EX_GP, 0);
  deliverInterrupt(c, vec, -1, kind);
}

/**
 * Deliver vector `vec`. code < 0: no error code. Faults inside propagate (FAULT) to the
 * caller, which escalates.
 */
export function deliverInterrupt(c: Cpu, vec: number, code: number, kind: EventKind): void {
  if (c.eventHook && c.eventHook(vec, code, kind)) {
    c.exitReq = true;
    return;
  }
  const flags = getFlags(c);
  c.flOp = 0;
  c.flags = flags;
  const ext = kind === 'ext' || kind === 'nmi' || kind === 'fault' || kind === 'trap' ? 1 : 0;
  if (!(c.cr0 & 1)) {
    // Real mode: IVT entry of 4 bytes.
    if (vec * 4 + 3 > c.idtLimit) c.fault(EX_GP, 0);
    const ip = sysRead16(c, c.idtBase + vec * 4);
    const cs = sysRead16(c, c.idtBase + vec * 4 + 2);
    push(c, 16, flags, 0);
    push(c, 16, c.sSel[CS]!, 0);
    push(c, 16, c.rip, 0);
    c.sSel[CS] = cs;
    c.sBase[CS] = cs * 16;
    c.rip = ip;
    c.flags &= ~(IF | TF | AC | RF);
    c.updateMode();
    return;
  }
  if (c.efer & EFER_LMA) {
    deliverLong(c, vec, code, kind, flags, ext);
    return;
  }
  // Protected mode: 8-byte gates.
  if (vec * 8 + 7 > c.idtLimit) c.fault(EX_GP, vec * 8 + 2 + ext);
  const glo = sysRead32(c, c.idtBase + vec * 8);
  const ghi = sysRead32(c, c.idtBase + vec * 8 + 4);
  const gtype = (ghi >> 8) & 0x1f;
  const gdpl = (ghi >> 13) & 3;
  if (kind === 'int' || kind === 'int3' || kind === 'int1') {
    if (gdpl < c.cpl && kind !== 'int1') c.fault(EX_GP, vec * 8 + 2);
  }
  if (!(ghi & 0x8000)) c.fault(EX_NP, vec * 8 + 2 + ext);
  if (gtype === 0x05) {
    // Task gate: the handler is a whole task (its own stack, registers, CR3).
    taskGateInterrupt(c, glo >>> 16, code, ext);
    return;
  }
  if (gtype !== 0x0e && gtype !== 0x0f && gtype !== 0x06 && gtype !== 0x07) c.fault(EX_GP, vec * 8 + 2 + ext);
  const gate32 = (gtype & 8) !== 0;
  const size = gate32 ? 32 : 16;
  const sel = glo >>> 16;
  const off = gate32 ? ((ghi & 0xffff0000) | (glo & 0xffff)) >>> 0 : glo & 0xffff;
  if ((sel & 0xfffc) === 0) c.fault(EX_GP, ext);
  readDescriptor(c, sel);
  const dhi = DHI, dlo = DLO;
  const ddpl = (dhi >> 13) & 3;
  if ((dhi & 0x1800) !== 0x1800 || ddpl > c.cpl) c.fault(EX_GP, (sel & 0xfffc) + ext);
  if (!(dhi & 0x8000)) c.fault(EX_NP, (sel & 0xfffc) + ext);
  if (off > descLimit(dlo, dhi)) c.fault(EX_GP, ext); // handler beyond its code segment
  const conforming = (dhi & 0x400) !== 0;
  const fromVm86 = (flags & VM) !== 0;
  const oldCs = c.sSel[CS]!;
  const oldRip = c.rip;
  const oldSs = c.sSel[SS]!;
  const oldSp = c.rl[4]!;
  // A fault while the frame is written leaves the interrupted context as it was.
  const saved = [CS, SS, ES, DS, FS, GS].map((s) => [s, c.sSel[s]!, c.sBase[s]!, c.sLimit[s]!, c.sAttr[s]!] as const);
  try {
    if (!conforming && ddpl < c.cpl) {
      // Inner privilege: new stack from the TSS.
      const [newSp, newSs] = tssStack(c, ddpl);
      if ((newSs & 0xfffc) === 0) c.fault(EX_TS, ext);
      readDescriptor(c, newSs, EX_TS);
      const shi = DHI, slo = DLO;
      if ((newSs & 3) !== ddpl || ((shi >> 13) & 3) !== ddpl || (shi & 0x1a00) !== 0x1200) c.fault(EX_TS, (newSs & 0xfffc) + ext);
      if (!(shi & 0x8000)) c.fault(EX_SS, (newSs & 0xfffc) + ext);
      const frame = ((fromVm86 ? 9 : 5) + (code >= 0 ? 1 : 0)) * (size >> 3);
      if (!stackRoom(newSp, frame, descLimit(slo, shi), descAttr(shi))) c.fault(EX_SS, (newSs & 0xfffc) + ext);
      c.flags &= ~VM;
      setSegCache(c, SS, newSs, descBase(slo, shi), descLimit(slo, shi), descAttr(shi));
      c.cpl = ddpl;
      setSegCache(c, CS, (sel & 0xfffc) | ddpl, descBase(dlo, dhi), descLimit(dlo, dhi), descAttr(dhi));
      if (c.stackMode === 32) c.rl[4] = newSp; else c.rl[4] = (c.rl[4]! & ~0xffff) | (newSp & 0xffff);
      if (fromVm86) {
        push(c, size, c.sSel[GS]!, 0);
        push(c, size, c.sSel[FS]!, 0);
        push(c, size, c.sSel[DS]!, 0);
        push(c, size, c.sSel[ES]!, 0);
        for (const s of [GS, FS, DS, ES]) { c.sSel[s] = 0; c.sBase[s] = 0; c.sAttr[s] = 0; }
      }
      push(c, size, oldSs, 0);
      push(c, size, oldSp, 0);
    } else {
      if (fromVm86) c.fault(EX_GP, (sel & 0xfffc) + ext);
      setSegCache(c, CS, (sel & 0xfffc) | c.cpl, descBase(dlo, dhi), descLimit(dlo, dhi), descAttr(dhi));
    }
    push(c, size, flags, 0);
    push(c, size, oldCs, 0);
    push(c, size, oldRip, 0);
    if (code >= 0) push(c, size, code, 0);
  } catch (e) {
    c.flags = flags;
    for (const [s, sl, b, l, a] of saved) { c.sSel[s] = sl; c.sBase[s] = b; c.sLimit[s] = l; c.sAttr[s] = a; }
    c.rl[4] = oldSp;
    c.updateMode();
    throw e;
  }
  c.rip = off;
  c.flags &= ~(TF | NT | RF | VM);
  if (!(gtype & 1)) c.flags &= ~IF;
  c.updateMode();
}

function deliverLong(c: Cpu, vec: number, code: number, kind: EventKind, flags: number, ext: number): void {
  if (vec * 16 + 15 > c.idtLimit) c.fault(EX_GP, vec * 8 + 2 + ext);
  const a = c.idtBase + vec * 16;
  const glo = sysRead32(c, a);
  const ghi = sysRead32(c, a + 4);
  const gup = sysRead32(c, a + 8);
  const gtype = (ghi >> 8) & 0x1f;
  const gdpl = (ghi >> 13) & 3;
  if ((kind === 'int' || kind === 'int3') && gdpl < c.cpl) c.fault(EX_GP, vec * 8 + 2);
  if (gtype !== 0x0e && gtype !== 0x0f) c.fault(EX_GP, vec * 8 + 2 + ext);
  if (!(ghi & 0x8000)) c.fault(EX_NP, vec * 8 + 2 + ext);
  const sel = glo >>> 16;
  const target = gup * TWO32 + (((ghi & 0xffff0000) | (glo & 0xffff)) >>> 0);
  const ist = ghi & 7;
  if ((sel & 0xfffc) === 0) c.fault(EX_GP, ext);
  readDescriptor(c, sel);
  const dhi = DHI, dlo = DLO;
  const ddpl = (dhi >> 13) & 3;
  if ((dhi & 0x1800) !== 0x1800 || ddpl > c.cpl || !(dhi & 0x200000) || (dhi & 0x400000)) c.fault(EX_GP, (sel & 0xfffc) + ext);
  if (!(dhi & 0x8000)) c.fault(EX_NP, (sel & 0xfffc) + ext);
  const conforming = (dhi & 0x400) !== 0;
  const oldCs = c.sSel[CS]!;
  const oldRip = c.rip;
  const oldSs = c.sSel[SS]!;
  const oldSpLo = c.rl[4]!;
  const oldSpHi = c.codeMode === 64 ? c.rh[4]! : 0;
  const newCpl = conforming ? c.cpl : ddpl;
  let sp: number;
  const tssBase = c.sBase[TR]!;
  if (ist !== 0) sp = readTss64(c, tssBase + 0x24 + (ist - 1) * 8);
  else if (newCpl < c.cpl) sp = readTss64(c, tssBase + 4 + newCpl * 8);
  else sp = c.codeMode === 64 ? c.rh[4]! * TWO32 + (c.rl[4]! >>> 0) : c.rl[4]! >>> 0;
  if (sp < -140737488355328 || sp >= 140737488355328) c.fault(EX_SS, ext);
  sp -= ((sp % 16) + 16) % 16; // align to 16
  // Write the frame (SS, RSP, RFLAGS, CS, RIP, [code]) at the new stack, as supervisor.
  const frame = [oldSs, 0, oldSpLo, oldSpHi, flags, 0, oldCs, 0, oldRip % TWO32 | 0, Math.floor(oldRip / TWO32) | 0];
  if (code >= 0) frame.push(code, 0);
  const savedCpl = c.cpl;
  c.cpl = newCpl;
  c.userShift = newCpl === 3 ? 2 : 0;
  try {
    for (let k = 0; k < frame.length; k += 2) {
      sp -= 8;
      c.wr64(sp, frame[k]!, frame[k + 1]!);
    }
  } catch (e) {
    c.cpl = savedCpl;
    c.userShift = savedCpl === 3 ? 2 : 0;
    throw e;
  }
  setSegCache(c, CS, (sel & 0xfffc) | newCpl, descBase(dlo, dhi), descLimit(dlo, dhi), descAttr(dhi));
  if (newCpl !== savedCpl) setSegCache(c, SS, newCpl, 0, 0xffffffff, 0x93 | (newCpl << 5)); // null SS, RPL = new CPL
  c.rl[4] = sp % TWO32 | 0;
  c.rh[4] = Math.floor(sp / TWO32);
  c.rip = target;
  c.flags &= ~(TF | NT | RF | VM);
  if (!(gtype & 1)) c.flags &= ~IF;
  c.updateMode();
}

function readTss64(c: Cpu, lin: number): number {
  const lo = sysRead32(c, lin);
  const hi = sysRead32(c, lin + 4);
  return hi * TWO32 + (lo >>> 0);
}

/** IRET / IRETD / IRETQ. */
export function iret(c: Cpu, os: number): void {
  c.nmiBlocked = false;
  c.intCheck = true;
  if (!(c.cr0 & 1)) {
    const ip = pop(c, os);
    const cs = pop(c, os) & 0xffff;
    const fl = pop(c, os);
    c.sSel[CS] = cs;
    c.sBase[CS] = cs * 16;
    c.rip = os === 16 ? ip & 0xffff : ip >>> 0;
    writeFlags(c, fl, os);
    c.updateMode();
    return;
  }
  if (c.flags & VM) {
    if ((c.flags & IOPL) !== IOPL) c.fault(EX_GP, 0);
    const ip = pop(c, os);
    const cs = pop(c, os) & 0xffff;
    const fl = pop(c, os);
    c.sSel[CS] = cs;
    c.sBase[CS] = cs * 16;
    c.rip = ip & 0xffff;
    const keep = c.flags & (IOPL | VM);
    writeFlags(c, fl, os);
    c.flags = (c.flags & ~(IOPL | VM)) | keep;
    return;
  }
  if (c.flags & NT) {
    if (c.efer & EFER_LMA) c.fault(EX_GP, 0); // no task switches in long mode
    taskReturn(c);
    return;
  }
  const spBefore = c.rl[4]!;
  const spBeforeHi = c.rh[4]!;
  const ip = pop(c, os);
  const iph = c.mhi;
  const cs = pop(c, os) & 0xffff;
  const fl = pop(c, os);
  const target = os === 64 ? iph * TWO32 + (ip >>> 0) : os === 32 ? ip >>> 0 : ip & 0xffff;
  const oldCpl = c.cpl;
  if (os !== 64 && (fl & VM) && oldCpl === 0 && !(c.efer & EFER_LMA)) {
    // Return to virtual-8086 mode: pop ESP, SS, ES, DS, FS, GS.
    const esp = pop(c, 32);
    const ss = pop(c, 32) & 0xffff;
    const es = pop(c, 32) & 0xffff;
    const ds = pop(c, 32) & 0xffff;
    const fs = pop(c, 32) & 0xffff;
    const gs = pop(c, 32) & 0xffff;
    c.flags = (fl & 0x3f7fd5) | 2 | VM;
    c.flOp = 0;
    for (const [s, v] of [[CS, cs], [SS, ss], [ES, es], [DS, ds], [FS, fs], [GS, gs]] as const) {
      c.sSel[s] = v; c.sBase[s] = v * 16; c.sLimit[s] = 0xffff; c.sAttr[s] = s === CS ? 0xfb : 0xf3;
    }
    c.rl[4] = esp;
    c.rip = ip & 0xffff;
    c.updateMode();
    return;
  }
  // Pop the outer stack pointer too (always for IRETQ) before CS changes the stack size.
  const outer = (cs & 3) > oldCpl;
  let sp = 0, sph = 0, ss = 0;
  if (outer || os === 64) {
    sp = pop(c, os);
    sph = c.mhi;
    ss = pop(c, os) & 0xffff;
  }
  const savedCs = [c.sSel[CS]!, c.sBase[CS]!, c.sLimit[CS]!, c.sAttr[CS]!] as const;
  try {
    loadCodeSegment(c, cs, true);
    if (c.codeMode !== 64 && (os === 16 ? target & 0xffff : target >>> 0) > c.sLimit[CS]!) c.fault(EX_GP, 0);
  } catch (e) {
    setSegCache(c, CS, savedCs[0], savedCs[1], savedCs[2], savedCs[3]);
    c.rl[4] = spBefore; c.rh[4] = spBeforeHi;
    throw e;
  }
  const newCpl = c.cpl;
  if (outer || os === 64) {
    try {
      if ((ss & 0xfffc) === 0 && (c.efer & EFER_LMA) && newCpl < 3) {
        setSegCache(c, SS, ss, 0, 0xffffffff, 0x93 | (newCpl << 5));
      } else loadSegment(c, SS, ss);
    } catch (e) {
      setSegCache(c, CS, savedCs[0], savedCs[1], savedCs[2], savedCs[3]);
      c.rl[4] = spBefore; c.rh[4] = spBeforeHi;
      throw e;
    }
    c.cpl = oldCpl; // the flags write is checked against the old privilege
    writeFlags(c, fl, os);
    c.cpl = newCpl;
    if (os === 64) { c.rl[4] = sp; c.rh[4] = sph; }
    else if (os === 32) { c.rl[4] = sp; c.rh[4] = 0; }
    else c.rl[4] = (c.rl[4]! & ~0xffff) | (sp & 0xffff);
    if (outer) nullInaccessibleSegments(c);
  } else {
    c.cpl = oldCpl;
    writeFlags(c, fl, os);
    c.cpl = newCpl;
  }
  c.updateMode();
  c.rip = c.codeMode === 64 ? target : os === 16 ? target & 0xffff : target >>> 0;
}
