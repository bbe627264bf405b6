// Hardware task switches (protected mode only; long mode has none): JMP or CALL to a TSS
// descriptor or a task gate, interrupts and exceptions through a task gate in the IDT (how
// 32-bit kernels catch #DF on a known-good stack), and IRET with NT set returning to the
// task named by the back link. 32-bit TSSes (with CR3) and 16-bit ones.
//
// Order, as the SDM describes it: check the new TSS, save the outgoing state into the
// current TSS, update busy bits, back link and NT, load TR, set CR0.TS, load CR3 and the
// LDT, registers and EFLAGS, then the segment registers (their faults belong to the new
// task), and push the error code of an exception on the new task's stack. A 32-bit TSS with
// its T bit (offset 64h, bit 0) set then raises a debug trap before the new task's first
// instruction, with DR6.BT set.
import type { Cpu } from '../cpu.ts';
import { CR0_PG, CR0_TS, CS, DS, ES, EX_DB, EX_GP, EX_NP, EX_SS, EX_TS, FS, GS, LDTR, NT, SS, TR, VM } from '../constants.ts';
import { getFlags } from '../flags.ts';
import { push } from '../operands.ts';
import { deliverInterrupt } from './interrupts.ts';
import { loadPdptes, paePaging } from '../paging.ts';

/** DR6.BT: the debug exception came from a task switch to a TSS with the T bit set. */
const DR6_BT = 0x8000;
/** 32-bit TSS: the word holding the T (debug trap) bit. */
const TSS32_TRAP = 0x64;
import {
  DHI, DLO, descAttr, descBase, descLimit, readDescriptor, setSegCache, sysRead16, sysRead32, sysWrite32,
} from './segments.ts';

export type TaskSwitchKind = 'jmp' | 'call' | 'int' | 'iret';

/** Field offsets of the two TSS formats. */
interface Layout {
  ip: number;
  flags: number;
  /** EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI. */
  regs: number;
  /** ES, CS, SS, DS(, FS, GS) selectors. */
  segs: number;
  segStep: number;
  nsegs: number;
  ldt: number;
  cr3: number;
  minLimit: number;
  wide: boolean;
}

const TSS32: Layout = { ip: 0x20, flags: 0x24, regs: 0x28, segs: 0x48, segStep: 4, nsegs: 6, ldt: 0x60, cr3: 0x1c, minLimit: 0x67, wide: true };
const TSS16: Layout = { ip: 0x0e, flags: 0x10, regs: 0x12, segs: 0x22, segStep: 2, nsegs: 4, ldt: 0x2a, cr3: -1, minLimit: 0x2b, wide: false };

/** JMP/CALL to a TSS descriptor (type 1/9) or through a task gate (type 5); lo/hi already read. */
export function taskTransfer(c: Cpu, sel: number, lo: number, hi: number, kind: 'jmp' | 'call'): void {
  const dpl = (hi >> 13) & 3;
  if (dpl < c.cpl || dpl < (sel & 3)) c.fault(EX_GP, sel & 0xfffc);
  if (!(hi & 0x8000)) c.fault(EX_NP, sel & 0xfffc);
  let tss = sel;
  if (((hi >> 8) & 0xf) === 5) {
    tss = lo >>> 16;
    readTssDescriptor(c, tss, EX_GP);
  } else if (((hi >> 8) & 0xf) !== 1 && ((hi >> 8) & 0xf) !== 9) c.fault(EX_GP, sel & 0xfffc);
  switchTask(c, tss, kind, -1);
}

/** An interrupt or exception through a task gate whose selector is `tss` (the gate checked). */
export function taskGateInterrupt(c: Cpu, tss: number, code: number, ext: number): void {
  readTssDescriptor(c, tss, EX_GP, ext);
  switchTask(c, tss, 'int', code);
}

/** IRET with NT set: return to the task named by the current TSS's back link. */
export function taskReturn(c: Cpu): void {
  const link = sysRead16(c, c.sBase[TR]!);
  if ((link & 4) || (link & 0xfffc) === 0) c.fault(EX_TS, link & 0xfffc);
  readDescriptor(c, link, EX_TS);
  const type = (DHI >> 8) & 0x1f;
  if (type !== 3 && type !== 0xb) c.fault(EX_TS, link & 0xfffc); // must be busy
  if (!(DHI & 0x8000)) c.fault(EX_NP, link & 0xfffc);
  switchTask(c, link, 'iret', -1);
}

/** Read the TSS descriptor of `sel` (GDT only, available, present); #vec(sel) otherwise. */
function readTssDescriptor(c: Cpu, sel: number, vec: number, ext = 0): void {
  if (sel & 4) c.fault(vec, (sel & 0xfffc) | ext);
  readDescriptor(c, sel, vec);
  const type = (DHI >> 8) & 0x1f;
  if (type !== 1 && type !== 9) c.fault(vec, (sel & 0xfffc) | ext);
  if (!(DHI & 0x8000)) c.fault(EX_NP, (sel & 0xfffc) | ext);
}

/** Set or clear the busy bit of the TSS descriptor `sel` in the GDT. */
function setBusy(c: Cpu, sel: number, busy: boolean): void {
  const a = c.gdtBase + (sel & 0xfff8) + 4;
  const hi = sysRead32(c, a);
  sysWrite32(c, a, busy ? hi | 0x200 : hi & ~0x200);
}

/** The switch itself, after the descriptor of `sel` was read (DLO/DHI/DADDR). */
function switchTask(c: Cpu, sel: number, kind: TaskSwitchKind, code: number): void {
  const lo = DLO, hi = DHI;
  const nl = (hi & 0x800) !== 0 ? TSS32 : TSS16;
  const nbase = descBase(lo, hi);
  const nlimit = descLimit(lo, hi);
  if (nlimit < nl.minLimit) c.fault(EX_TS, sel & 0xfffc);

  // Read the whole incoming state first (a page fault here changes nothing).
  const rd = (off: number): number => (nl.wide ? sysRead32(c, nbase + off) : sysRead16(c, nbase + off));
  const nip = rd(nl.ip) >>> 0;
  let nflags = rd(nl.flags) >>> 0;
  const nregs: number[] = [];
  for (let i = 0; i < 8; i++) nregs.push(rd(nl.regs + i * (nl.wide ? 4 : 2)));
  const nsegs: number[] = [];
  for (let i = 0; i < 6; i++) nsegs.push(i < nl.nsegs ? sysRead16(c, nbase + nl.segs + i * nl.segStep) : 0);
  const nldt = sysRead16(c, nbase + nl.ldt);
  const ncr3 = nl.cr3 >= 0 ? sysRead32(c, nbase + nl.cr3) >>> 0 : -1;
  const trap = nl.wide && (sysRead16(c, nbase + TSS32_TRAP) & 1) !== 0;

  // Save the outgoing task into the current TSS.
  const obase = c.sBase[TR]!;
  const ol = (c.sAttr[TR]! & 8) !== 0 ? TSS32 : TSS16;
  let oflags = getFlags(c);
  c.flOp = 0;
  c.flags = oflags;
  if (kind === 'iret') oflags &= ~NT;
  const wr = (off: number, v: number): void => {
    if (ol.wide) sysWrite32(c, obase + off, v);
    else sysWrite16(c, obase + off, v);
  };
  wr(ol.ip, c.rip);
  wr(ol.flags, oflags);
  for (let i = 0; i < 8; i++) wr(ol.regs + i * (ol.wide ? 4 : 2), c.rl[i]!);
  for (let i = 0; i < ol.nsegs; i++) sysWrite16(c, obase + ol.segs + i * ol.segStep, c.sSel[i]!);

  const oldTr = c.sSel[TR]!;
  if (kind === 'jmp' || kind === 'iret') setBusy(c, oldTr, false);
  if (kind === 'call' || kind === 'int') {
    sysWrite16(c, nbase, oldTr); // back link
    nflags |= NT;
  }
  if (kind !== 'iret') setBusy(c, sel, true);
  setSegCache(c, TR, sel, nbase, nlimit, descAttr(hi) | 0x200);
  c.cr0 |= CR0_TS;
  // Local breakpoints (DR7 L0-L3) belong to the old task.
  c.dr[7] = (c.dr[7]! & ~0x55) >>> 0;
  if (ncr3 >= 0 && (c.cr0 & CR0_PG)) {
    // Under PAE paging the new CR3 loads the PDPTE registers too (an invalid one is #GP(0),
    // raised here after the outgoing task is saved).
    if (paePaging(c, c.cr0, c.cr4)) loadPdptes(c, ncr3);
    c.cr3 = ncr3;
    c.tlbFlushNonGlobal();
  }

  // Registers and flags of the new task.
  for (let i = 0; i < 8; i++) {
    if (nl.wide) { c.rl[i] = nregs[i]!; c.rh[i] = 0; } else c.rl[i] = (c.rl[i]! & ~0xffff) | (nregs[i]! & 0xffff);
  }
  if (!nl.wide) nflags &= 0xffff;
  c.flags = (nflags & 0x3f7fd5) | 2;
  c.flOp = 0;
  c.rip = nip;
  // From here faults belong to the new task: they restart at its first instruction.
  c.ip0 = nip;
  // Selectors first (so a fault below leaves them as the new task's), then descriptors.
  for (let s = 0; s < 6; s++) c.sSel[s] = nsegs[s]!;
  c.sSel[LDTR] = nldt;
  loadTaskLdt(c, nldt);
  if (c.flags & VM) {
    for (let s = 0; s < 6; s++) setSegCache(c, s, nsegs[s]!, nsegs[s]! * 16, 0xffff, s === CS ? 0xfb : 0xf3);
  } else loadTaskSegments(c, nsegs);
  c.intCheck = true;
  if (c.rip > c.sLimit[CS]!) c.fault(EX_GP, 0);
  if (code >= 0) push(c, nl.wide ? 32 : 16, code, 0);
  if (trap) {
    // The switch is complete (it belongs to the new task); the trap's return address is the
    // new task's first instruction. 16-bit TSSes have no T bit.
    c.dr[6] = (c.dr[6]! | DR6_BT) >>> 0;
    deliverInterrupt(c, EX_DB, -1, 'trap');
  }
}

function sysWrite16(c: Cpu, lin: number, v: number): void {
  const a = lin & ~3;
  if ((lin & 3) === 3) {
    // Straddles a dword: two byte-pair writes through 32-bit read-modify-writes.
    const w0 = sysRead32(c, a);
    sysWrite32(c, a, (w0 & 0x00ffffff) | ((v & 0xff) << 24));
    const w1 = sysRead32(c, a + 4);
    sysWrite32(c, a + 4, (w1 & ~0xff) | ((v >> 8) & 0xff));
    return;
  }
  const sh = (lin & 3) * 8;
  const w = sysRead32(c, a);
  sysWrite32(c, a, (w & ~(0xffff << sh)) | ((v & 0xffff) << sh));
}

function loadTaskLdt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    setSegCache(c, LDTR, sel, 0, 0, 0);
    return;
  }
  if (sel & 4) c.fault(EX_TS, sel & 0xfffc);
  readDescriptor(c, sel, EX_TS);
  if (((DHI >> 8) & 0x1f) !== 2) c.fault(EX_TS, sel & 0xfffc);
  if (!(DHI & 0x8000)) c.fault(EX_TS, sel & 0xfffc);
  setSegCache(c, LDTR, sel, descBase(DLO, DHI), descLimit(DLO, DHI), descAttr(DHI));
}

/** CS, SS and the data segments of the new task, with #TS/#NP/#SS naming the selector. */
function loadTaskSegments(c: Cpu, sels: number[]): void {
  // Until each is checked the caches are unusable (a fault leaves them so).
  for (const s of [ES, DS, FS, GS]) c.sAttr[s] = 0;
  const cs = sels[CS]!;
  const cpl = cs & 3;
  if ((cs & 0xfffc) === 0) c.fault(EX_TS, 0);
  readDescriptor(c, cs, EX_TS);
  let lo = DLO, hi = DHI;
  const cdpl = (hi >> 13) & 3;
  const conforming = (hi & 0x400) !== 0;
  if ((hi & 0x1800) !== 0x1800 || (conforming ? cdpl > cpl : cdpl !== cpl)) c.fault(EX_TS, cs & 0xfffc);
  if (!(hi & 0x8000)) c.fault(EX_NP, cs & 0xfffc);
  const csBase = descBase(lo, hi), csLimit = descLimit(lo, hi), csAttr = descAttr(hi) | 1;

  const ss = sels[SS]!;
  if ((ss & 0xfffc) === 0) c.fault(EX_TS, 0);
  readDescriptor(c, ss, EX_TS);
  lo = DLO; hi = DHI;
  if ((ss & 3) !== cpl || ((hi >> 13) & 3) !== cpl || (hi & 0x1a00) !== 0x1200) c.fault(EX_TS, ss & 0xfffc);
  if (!(hi & 0x8000)) c.fault(EX_SS, ss & 0xfffc);
  setSegCache(c, SS, ss, descBase(lo, hi), descLimit(lo, hi), descAttr(hi) | 1);
  setSegCache(c, CS, cs, csBase, csLimit, csAttr);

  for (const s of [ES, DS, FS, GS]) {
    const sel = sels[s]!;
    if ((sel & 0xfffc) === 0) {
      setSegCache(c, s, sel, 0, 0, 0);
      continue;
    }
    readDescriptor(c, sel, EX_TS);
    lo = DLO; hi = DHI;
    const type = (hi >> 8) & 0x1f;
    const dpl = (hi >> 13) & 3;
    if (!(type & 0x10) || (type & 0x1a) === 0x18) c.fault(EX_TS, sel & 0xfffc);
    if ((type & 0x1c) !== 0x1c && (dpl < cpl || dpl < (sel & 3))) c.fault(EX_TS, sel & 0xfffc);
    if (!(hi & 0x8000)) c.fault(EX_NP, sel & 0xfffc);
    setSegCache(c, s, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi) | 1);
  }
}
