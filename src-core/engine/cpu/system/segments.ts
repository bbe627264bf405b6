// Segment-register loads and descriptor-table access (GDT/LDT), with the protected-mode
// type, privilege and presence checks. System reads/writes (descriptors, IDT, TSS) are
// supervisor accesses regardless of CPL.
import type { Cpu } from '../cpu.ts';
import { CS, EX_GP, EX_NP, EX_SS, LDTR, SS, VM } from '../constants.ts';
import { translate } from '../paging.ts';
import { refreshSegChecks } from './seg-limits.ts';

export function sysRead32(c: Cpu, lin: number): number {
  const po = lin & 0xfff;
  if (po > 0xffc) return sysRead8(c, lin) | (sysRead8(c, lin + 1) << 8) | (sysRead8(c, lin + 2) << 16) | (sysRead8(c, lin + 3) << 24);
  return c.bus.read32(translate(c, lin, 0)) | 0;
}

function sysRead8(c: Cpu, lin: number): number {
  return c.bus.read8(translate(c, lin, 0));
}

export function sysRead16(c: Cpu, lin: number): number {
  return sysRead8(c, lin) | (sysRead8(c, lin + 1) << 8);
}

export function sysWrite32(c: Cpu, lin: number, v: number): void {
  c.bus.write32(translate(c, lin, 1), v >>> 0);
}

/** Descriptor words of the last readDescriptor(). */
export let DLO = 0;
export let DHI = 0;
/** Linear address of the last descriptor read (to set the accessed bit). */
export let DADDR = 0;

/** Read the descriptor for `sel` into DLO/DHI; #GP(sel) when outside the table. */
export function readDescriptor(c: Cpu, sel: number, vec = EX_GP): void {
  const idx = sel & 0xfff8;
  let base: number;
  let limit: number;
  if (sel & 4) {
    if ((c.sSel[LDTR]! & 0xfffc) === 0) c.fault(vec, sel & 0xfffc);
    base = c.sBase[LDTR]!;
    limit = c.sLimit[LDTR]!;
  } else {
    base = c.gdtBase;
    limit = c.gdtLimit;
  }
  if (idx + 7 > limit) c.fault(vec, sel & 0xfffc);
  DADDR = base + idx;
  DLO = sysRead32(c, DADDR);
  DHI = sysRead32(c, DADDR + 4);
}

/** Read the high 8 bytes of a 16-byte system descriptor (long-mode TSS/LDT). */
export function readDescriptorHigh(c: Cpu): number {
  return sysRead32(c, DADDR + 8);
}

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}

export function descLimit(lo: number, hi: number): number {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? l * 4096 + 0xfff : l;
}

export function descAttr(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

/** Set the accessed bit of the last descriptor read, if clear. */
export function setAccessed(c: Cpu): void {
  if (!(DHI & 0x100)) sysWrite32(c, DADDR + 4, DHI | 0x100);
}

/** Load a segment register's cache directly (no checks): used by transfers after they check. */
export function setSegCache(c: Cpu, seg: number, sel: number, base: number, limit: number, attr: number): void {
  c.sSel[seg] = sel & 0xffff;
  c.sBase[seg] = base;
  c.sLimit[seg] = limit;
  c.sAttr[seg] = attr;
  if (seg === CS || seg === SS) c.updateMode();
  else refreshSegChecks(c);
}

/** MOV/POP/LxS to a data segment register or SS, with protected-mode checks. */
export function loadSegment(c: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!(c.cr0 & 1) || (c.flags & VM)) {
    c.sSel[seg] = sel;
    c.sBase[seg] = sel * 16;
    if (c.flags & VM) {
      c.sLimit[seg] = 0xffff;
      c.sAttr[seg] = seg === CS ? 0xfb : 0xf3;
    }
    if (seg === SS || seg === CS) c.updateMode();
    else refreshSegChecks(c);
    return;
  }
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === SS) {
      // A null SS is legal in 64-bit mode below CPL 3 (SYSCALL/interrupt stacks).
      if (c.codeMode !== 64 || c.cpl === 3 || rpl !== c.cpl) c.fault(EX_GP, 0);
      setSegCache(c, SS, sel, 0, 0xffffffff, (c.sAttr[SS]! & 0x4000) | 0x93 | (c.cpl << 5));
      return;
    }
    c.sSel[seg] = sel;
    c.sBase[seg] = 0;
    c.sLimit[seg] = 0;
    c.sAttr[seg] = 0; // unusable
    refreshSegChecks(c);
    return;
  }
  readDescriptor(c, sel);
  const hi = DHI;
  const lo = DLO;
  const dpl = (hi >> 13) & 3;
  const type = (hi >> 8) & 0x1f; // S bit + type
  if (seg === SS) {
    // Writable data segment, RPL = DPL = CPL.
    if ((type & 0x1a) !== 0x12 || rpl !== c.cpl || dpl !== c.cpl) c.fault(EX_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) c.fault(EX_SS, sel & 0xfffc);
  } else {
    // Data, or readable code; non-conforming ones need DPL >= max(CPL, RPL).
    if (!(type & 0x10) || (type & 0x1a) === 0x18) c.fault(EX_GP, sel & 0xfffc);
    const conformingCode = (type & 0x1c) === 0x1c;
    if (!conformingCode && (dpl < c.cpl || dpl < rpl)) c.fault(EX_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) c.fault(EX_NP, sel & 0xfffc);
  }
  setAccessed(c);
  // The base comes from the descriptor (32 bits; 64-bit FS/GS bases are set by MSR or WRFSBASE).
  setSegCache(c, seg, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi) | 0x1);
}
