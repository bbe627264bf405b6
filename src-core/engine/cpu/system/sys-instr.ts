// System instructions of the 0F map: descriptor tables, control/debug registers, MSRs,
// CPUID, RDTSC(P), SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS, INVLPG, LAR/LSL/VERR/VERW,
// and the non-SSE members of group 15 (FXSAVE/FXRSTOR, fences, CLFLUSH).
import type { Cpu } from '../cpu.ts';
import type { Instr } from '../decode.ts';
import {
  CR0_PE, CR0_PG, CR0_TS, CR4_PAE, CR4_TSD, CS, EFER_LMA, EFER_LME, EFER_SCE, EX_GP, EX_UD, GS, IF, LDTR, RF, SS, TR,
  TWO32, VM, ZF, CR0_WP, CR4_PGE, CR4_PSE, EX_NM, CR4_OSFXSR, CR0_NW, CR0_CD, CR4_DE,
} from '../constants.ts';
import { getFlags, materialize } from '../flags.ts';
import { memLin, getReg, setReg, readRM } from '../operands.ts';
import { cpuid } from './cpuid.ts';
import { readMsr, writeMsr } from './msr.ts';
import { DHI, DLO, DADDR, descAttr, descBase, descLimit, readDescriptor, readDescriptorHigh, setSegCache, sysWrite32 } from './segments.ts';
import { fxsave, fxrstor } from '../fxsave.ts';
import { wideLin } from './mem-operand.ts';
import { loadPdptes, paePaging } from '../paging.ts';

/** 2^47: 64-bit addresses must lie in [-2^47, 2^47) (48-bit linear addresses). */
const CANONICAL = 140737488355328;

function requireCpl0(c: Cpu): void {
  if ((c.cr0 & 1) && c.cpl !== 0) c.fault(EX_GP, 0);
}

export function execSystem0f(c: Cpu, ins: Instr): void {
  switch (ins.op) {
    case 0x100: group6(c, ins); return;
    case 0x101: group7(c, ins); return;
    case 0x102: case 0x103: larLsl(c, ins, ins.op === 0x103); return;
    case 0x105: syscall(c); return;
    case 0x106: requireCpl0(c); c.cr0 &= ~CR0_TS; return;
    case 0x107: sysret(c, ins); return;
    case 0x108: case 0x109: requireCpl0(c); return; // INVD / WBINVD: no caches to manage
    case 0x120: case 0x122: movCr(c, ins, ins.op === 0x122); return;
    case 0x121: case 0x123: movDr(c, ins, ins.op === 0x123); return;
    case 0x130: requireCpl0(c); writeMsr(c, c.rl[1]!, c.rl[0]!, c.rl[2]!); return;
    case 0x132: {
      requireCpl0(c);
      const [lo, hi] = readMsr(c, c.rl[1]!);
      c.rl[0] = lo; c.rh[0] = 0; c.rl[2] = hi; c.rh[2] = 0;
      return;
    }
    case 0x131: rdtsc(c, false); return;
    case 0x133: c.fault(EX_GP, 0); return; // RDPMC: no counters
    case 0x134: sysenter(c); return;
    case 0x135: sysexit(c); return;
    case 0x1a2: {
      const [a, b, cc, d] = cpuid(c, c.rl[0]!, c.rl[1]!);
      c.rl[0] = a; c.rl[3] = b; c.rl[1] = cc; c.rl[2] = d;
      c.rh[0] = 0; c.rh[3] = 0; c.rh[1] = 0; c.rh[2] = 0;
      return;
    }
    case 0x1ae: group15(c, ins); return;
    default:
      c.fault(EX_UD);
  }
}

function rdtsc(c: Cpu, p: boolean): void {
  if ((c.cr4 & CR4_TSD) && c.cpl !== 0 && (c.cr0 & 1)) c.fault(EX_GP, 0);
  const t = Math.max(0, c.tscSource() + c.tscOffset);
  c.rl[0] = t % TWO32 | 0; c.rh[0] = 0;
  c.rl[2] = Math.floor(t / TWO32) | 0; c.rh[2] = 0;
  if (p) { c.rl[1] = c.tscAux; c.rh[1] = 0; }
}

function group6(c: Cpu, ins: Instr): void {
  if (!(c.cr0 & 1) || (c.flags & VM)) c.fault(EX_UD);
  switch (ins.ext) {
    case 0: case 1: { // SLDT / STR
      const v = c.sSel[ins.ext === 0 ? LDTR : TR]!;
      if (ins.mod === 3) setReg(c, ins.osize, ins.rm, 0, v, 0);
      else c.wr16(memLin(c, ins, 2, true), v);
      return;
    }
    case 2: { // LLDT
      requireCpl0(c);
      const sel = readRM(c, ins, 16);
      if ((sel & 0xfffc) === 0) { setSegCache(c, LDTR, sel, 0, 0, 0); return; }
      if (sel & 4) c.fault(EX_GP, sel & 0xfffc);
      readDescriptor(c, sel);
      const lo = DLO, hi = DHI;
      if (((hi >> 8) & 0x1f) !== 2) c.fault(EX_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) c.fault(11, sel & 0xfffc);
      let base = descBase(lo, hi);
      if (c.efer & EFER_LMA) base += readDescriptorHigh(c) * TWO32;
      setSegCache(c, LDTR, sel, base, descLimit(lo, hi), descAttr(hi));
      return;
    }
    case 3: { // LTR
      requireCpl0(c);
      const sel = readRM(c, ins, 16);
      if ((sel & 0xfffc) === 0 || (sel & 4)) c.fault(EX_GP, sel & 0xfffc);
      readDescriptor(c, sel);
      const lo = DLO, hi = DHI;
      const type = (hi >> 8) & 0x1f;
      // Available 16- or 32-bit TSS; long mode has only the 64-bit one (type 9).
      if (type !== 9 && (type !== 1 || (c.efer & EFER_LMA))) c.fault(EX_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) c.fault(11, sel & 0xfffc);
      let base = descBase(lo, hi);
      if (c.efer & EFER_LMA) base += readDescriptorHigh(c) * TWO32;
      sysWrite32(c, DADDR + 4, hi | 0x200); // mark busy
      setSegCache(c, TR, sel, base, descLimit(lo, hi), descAttr(hi | 0x200));
      return;
    }
    case 4: case 5: { // VERR / VERW
      const sel = readRM(c, ins, 16);
      materialize(c);
      let ok = false;
      if ((sel & 0xfffc) !== 0) {
        try {
          readDescriptor(c, sel);
          const hi = DHI;
          const type = (hi >> 8) & 0x1f;
          const dpl = (hi >> 13) & 3;
          const conf = (type & 0x1c) === 0x1c;
          const priv = conf || (dpl >= c.cpl && dpl >= (sel & 3));
          if (type & 0x10 && priv) ok = ins.ext === 4 ? (type & 0x18) !== 0x18 || (type & 2) !== 0 : (type & 0x1a) === 0x12;
        } catch { ok = false; }
      }
      c.flags = ok ? c.flags | ZF : c.flags & ~ZF;
      return;
    }
    default: c.fault(EX_UD);
  }
}

const LAR_LEGACY = [1, 2, 3, 4, 5, 9, 11, 12];
const LAR_LONG = [2, 9, 11, 12];
const LSL_LEGACY = [1, 2, 3, 9, 11];
const LSL_LONG = [2, 9, 11];

function larLsl(c: Cpu, ins: Instr, lsl: boolean): void {
  if (!(c.cr0 & 1) || (c.flags & VM)) c.fault(EX_UD);
  const sel = readRM(c, ins, 16);
  materialize(c);
  c.flags &= ~ZF;
  if ((sel & 0xfffc) === 0) return;
  try { readDescriptor(c, sel); } catch { return; }
  const lo = DLO, hi = DHI;
  const type = (hi >> 8) & 0x1f;
  const dpl = (hi >> 13) & 3;
  const conf = (type & 0x1c) === 0x1c;
  if (!conf && (dpl < c.cpl || dpl < (sel & 3))) return;
  if (!(type & 0x10)) {
    // System descriptors LAR/LSL accept; IA-32e mode has no 16-bit TSSes, 16-bit call gates or
    // task gates (SDM LAR, LSL).
    const long = (c.efer & EFER_LMA) !== 0;
    const okSys = lsl ? (long ? LSL_LONG : LSL_LEGACY) : (long ? LAR_LONG : LAR_LEGACY);
    if (!okSys.includes(type)) return;
  }
  c.flags |= ZF;
  const v = lsl ? descLimit(lo, hi) : hi & 0x00f0ff00;
  setReg(c, ins.osize === 16 ? 16 : 32, ins.reg, 0, v | 0, 0);
}

function group7(c: Cpu, ins: Instr): void {
  if (ins.mod === 3) {
    const key = (ins.ext << 3) | (ins.rm & 7);
    switch (key) {
      case 0x38: // SWAPGS (0F 01 F8)
        if (c.codeMode !== 64) c.fault(EX_UD);
        requireCpl0(c);
        { const t = c.sBase[GS]!; c.sBase[GS] = c.kernelGsBase; c.kernelGsBase = t; }
        return;
      case 0x39: rdtsc(c, true); return; // RDTSCP (0F 01 F9)
      default:
        if (ins.ext === 4) { setReg(c, ins.osize, ins.rm, 0, c.cr0 & 0xffff, 0); return; } // SMSW r
        if (ins.ext === 6) { lmsw(c, getReg(c, 16, ins.rm, 0)); return; }
        c.fault(EX_UD); // MONITOR/MWAIT/XGETBV/CLAC/STAC... not advertised
    }
  }
  // Operand size for the segment check: 6 (10 in 64-bit mode) bytes for the table registers,
  // a word for MSW, one byte for INVLPG; SGDT/SIDT/SMSW store.
  const bytes = ins.ext < 4 ? (c.codeMode === 64 ? 10 : 6) : ins.ext === 7 ? 1 : 2;
  const lin = memLin(c, ins, bytes, ins.ext < 2 || ins.ext === 4);
  switch (ins.ext) {
    case 0: case 1: { // SGDT / SIDT
      if ((c.cr0 & 1) && c.cpl !== 0 && false) c.fault(EX_GP, 0);
      const base = ins.ext === 0 ? c.gdtBase : c.idtBase;
      const limit = ins.ext === 0 ? c.gdtLimit : c.idtLimit;
      c.wr16(lin, limit);
      if (c.codeMode === 64) c.wr64(lin + 2, base % TWO32 | 0, Math.floor(base / TWO32));
      else c.wr32(lin + 2, base | 0);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      requireCpl0(c);
      const limit = c.rd16(lin);
      let base: number;
      if (c.codeMode === 64) { const lo = c.rd64(lin + 2); base = c.mhi * TWO32 + (lo >>> 0); }
      else { base = c.rd32(lin + 2) >>> 0; if (ins.osize === 16) base &= 0xffffff; }
      if (ins.ext === 2) { c.gdtBase = base; c.gdtLimit = limit; } else { c.idtBase = base; c.idtLimit = limit; }
      return;
    }
    case 4: c.wr16(lin, c.cr0 & 0xffff); return; // SMSW m16
    case 6: lmsw(c, c.rd16(lin)); return;
    case 7: requireCpl0(c); c.tlbFlushPage(lin); return; // INVLPG
    default: c.fault(EX_UD);
  }
}

function lmsw(c: Cpu, v: number): void {
  requireCpl0(c);
  // LMSW sets PE but cannot clear it; touches only PE, MP, EM, TS.
  const nv = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & CR0_PE);
  setCr0(c, nv);
}

export function setCr0(c: Cpu, v: number): void {
  v = (v | 0x10) >>> 0; // ET is hardwired
  if ((v & CR0_PG) && !(v & CR0_PE)) c.fault(EX_GP, 0);
  const old = c.cr0;
  // PDPTEs load when PAE paging is on afterwards and PG, CD or NW changes (SDM 4.4.1); an
  // invalid one makes this MOV #GP with nothing changed.
  if (paePaging(c, v, c.cr4) && ((old ^ v) & (CR0_PG | CR0_CD | CR0_NW))) loadPdptes(c, c.cr3);
  if ((v & CR0_PG) && !(old & CR0_PG) && (c.efer & EFER_LME)) {
    if (!(c.cr4 & CR4_PAE)) c.fault(EX_GP, 0);
    c.efer |= EFER_LMA;
  }
  if (!(v & CR0_PG) && (old & CR0_PG) && (c.efer & EFER_LMA)) {
    if (c.codeMode === 64) c.fault(EX_GP, 0);
    c.efer &= ~EFER_LMA;
  }
  c.cr0 = v | 0;
  if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) c.tlbFlushAll();
  c.updateMode();
}

function movCr(c: Cpu, ins: Instr, write: boolean): void {
  requireCpl0(c);
  const n = ins.reg;
  const size = c.codeMode === 64 ? 64 : 32;
  if (write) {
    const lo = c.rl[ins.rm]!;
    const hi = size === 64 ? c.rh[ins.rm]! : 0;
    switch (n) {
      case 0:
        // Bits 63:32 are reserved, and NW without CD is an invalid cache mode (SDM MOV CRn).
        if (hi !== 0 || ((lo & CR0_NW) && !(lo & CR0_CD))) c.fault(EX_GP, 0);
        setCr0(c, lo);
        return;
      case 2: c.cr2 = hi * TWO32 + (lo >>> 0); return;
      case 3: {
        const v = (hi >>> 0) * TWO32 + (lo >>> 0);
        if (paePaging(c, c.cr0, c.cr4)) loadPdptes(c, v);
        c.cr3 = v;
        c.tlbFlushNonGlobal();
        return;
      }
      case 4: {
        const old = c.cr4;
        if ((c.efer & EFER_LMA) && !(lo & CR4_PAE)) c.fault(EX_GP, 0);
        // Only bits we implement: TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT. VME and PVI
        // (virtual-8086 extensions) are neither implemented nor advertised.
        if (lo & ~0x7fc || hi !== 0) c.fault(EX_GP, 0);
        if (paePaging(c, c.cr0, lo) && ((old ^ lo) & (CR4_PAE | CR4_PGE | CR4_PSE))) loadPdptes(c, c.cr3);
        c.cr4 = lo;
        if ((old ^ lo) & (CR4_PAE | CR4_PGE | CR4_PSE)) c.tlbFlushAll();
        return;
      }
      case 8: // the TPR: bits 63:4 are reserved
        if (lo & ~15 || hi !== 0) c.fault(EX_GP, 0);
        c.cr8 = lo;
        return;
      default: c.fault(EX_UD);
    }
  }
  let v: number;
  switch (n) {
    case 0: v = c.cr0 >>> 0; break; // held as a signed 32-bit value: no sign extension
    case 2: v = c.cr2; break;
    case 3: v = c.cr3; break;
    case 4: v = c.cr4; break;
    case 8: v = c.cr8; break;
    default: c.fault(EX_UD);
  }
  setReg(c, size, ins.rm, 0, v % TWO32 | 0, Math.floor(v / TWO32) | 0);
}

function movDr(c: Cpu, ins: Instr, write: boolean): void {
  requireCpl0(c);
  let n = ins.reg;
  // DR4/DR5 alias DR6/DR7 without CR4.DE; with it they are #UD (SDM MOV DRn).
  if (n === 4 || n === 5) {
    if (c.cr4 & CR4_DE) c.fault(EX_UD);
    n += 2;
  }
  if (n > 7) c.fault(EX_UD);
  if (write) c.dr[n] = c.rh[ins.rm]! * TWO32 + (c.rl[ins.rm]! >>> 0);
  else {
    let v = c.dr[n]!;
    if (n === 6) v = (v | 0xffff0ff0) >>> 0;
    if (n === 7) v = ((v % TWO32) | 0x400) >>> 0;
    setReg(c, c.codeMode === 64 ? 64 : 32, ins.rm, 0, v % TWO32 | 0, Math.floor(v / TWO32) | 0);
  }
}

function flatCode(c: Cpu, sel: number, long: boolean, dpl: number): void {
  // SYSCALL/SYSENTER load fixed flat descriptors without reading the GDT.
  setSegCache(c, CS, sel, 0, 0xffffffff, (long ? 0xa09b : 0xc09b) | (dpl << 5));
}

function flatStack(c: Cpu, sel: number, dpl: number): void {
  setSegCache(c, SS, sel, 0, 0xffffffff, 0xc093 | (dpl << 5));
}

function syscall(c: Cpu): void {
  if (!(c.efer & EFER_SCE)) c.fault(EX_UD);
  const sel = c.starHi & 0xffff;
  const flags = getFlags(c);
  if (c.efer & EFER_LMA) {
    const ret = c.rip;
    const compat = c.codeMode !== 64;
    c.rl[1] = ret % TWO32 | 0; c.rh[1] = Math.floor(ret / TWO32) | 0;
    c.rl[11] = flags & ~RF; c.rh[11] = 0;
    flatCode(c, sel & 0xfffc, true, 0);
    flatStack(c, (sel + 8) & 0xfffc, 0);
    c.flags = (flags & ~c.fmask & ~RF) | 2;
    c.flOp = 0;
    c.rip = compat ? c.cstar : c.lstar;
  } else {
    c.rl[1] = c.rip | 0;
    flatCode(c, sel & 0xfffc, false, 0);
    flatStack(c, (sel + 8) & 0xfffc, 0);
    c.flags = (flags & ~(IF | VM | RF)) | 2;
    c.flOp = 0;
    c.rip = c.star >>> 0;
  }
  c.updateMode();
}

function sysret(c: Cpu, ins: Instr): void {
  if (!(c.efer & EFER_SCE)) c.fault(EX_UD);
  if (!(c.cr0 & 1) || c.cpl !== 0) c.fault(EX_GP, 0);
  const sel = c.starHi >>> 16;
  let badRip = false;
  if (c.efer & EFER_LMA) {
    if (ins.osize === 64) {
      // AMD (APM SYSRET) does not check RCX: the return completes and the #GP(0) comes from
      // fetching at the non-canonical RIP, at CPL 3 with the user CS/SS and RFLAGS = R11 in
      // place and that RIP in the frame (Intel raises it at CPL 0 before any state changes).
      // Fetch assumes a canonical RIP, so the fault is raised here once the state is loaded.
      const target = c.rh[1]! * TWO32 + (c.rl[1]! >>> 0);
      flatCode(c, ((sel + 16) & 0xfffc) | 3, true, 3);
      c.rip = target;
      if (target < -CANONICAL || target >= CANONICAL) badRip = true;
    } else {
      setSegCache(c, CS, (sel & 0xfffc) | 3, 0, 0xffffffff, 0xc0fb);
      c.rip = c.rl[1]! >>> 0;
    }
    c.flags = (c.rl[11]! & 0x3c7fd7) | 2;
    c.flOp = 0;
  } else {
    setSegCache(c, CS, (sel & 0xfffc) | 3, 0, 0xffffffff, 0xc0fb);
    c.rip = c.rl[1]! >>> 0;
    c.flags |= IF;
  }
  // SS keeps base/limit but gets RPL 3 and DPL 3.
  c.sSel[SS] = ((sel + 8) & 0xfffc) | 3;
  c.sAttr[SS] = 0xc0f3;
  c.sBase[SS] = 0;
  c.sLimit[SS] = 0xffffffff;
  c.updateMode();
  c.intCheck = true;
  if (badRip) { c.ip0 = c.rip; c.fault(EX_GP, 0); }
}

// SYSENTER/SYSEXIT are legacy-mode only on AMD (APM vol. 3): in long mode, 64-bit and
// compatibility mode alike, both raise #UD (Intel runs them there). The #UD comes first, before
// the CPL and SYSENTER_CS checks. The SYSENTER MSRs hold 32 bits on AMD (msr.ts).
function sysenter(c: Cpu): void {
  if (c.efer & EFER_LMA) c.fault(EX_UD);
  if (!(c.cr0 & 1)) c.fault(EX_GP, 0);
  const cs = c.sysenterCs & 0xfffc;
  if (cs === 0) c.fault(EX_GP, 0);
  c.flags &= ~(VM | IF | RF);
  flatCode(c, cs, false, 0);
  flatStack(c, cs + 8, 0);
  c.rl[4] = c.sysenterEsp | 0;
  c.rip = c.sysenterEip >>> 0;
  c.updateMode();
}

function sysexit(c: Cpu): void {
  if (c.efer & EFER_LMA) c.fault(EX_UD);
  if (!(c.cr0 & 1) || c.cpl !== 0) c.fault(EX_GP, 0);
  const base = c.sysenterCs & 0xfffc;
  if (base === 0) c.fault(EX_GP, 0);
  flatCode(c, (base + 16) | 3, false, 3);
  flatStack(c, (base + 24) | 3, 3);
  c.rl[4] = c.rl[1]!;
  c.rip = c.rl[2]! >>> 0;
  c.updateMode();
}

function group15(c: Cpu, ins: Instr): void {
  if (ins.mod === 3) {
    // LFENCE (E8), MFENCE (F0), SFENCE (F8): ordering is trivially kept by an interpreter.
    if (ins.ext >= 5 && ins.mp === 0) return;
    c.fault(EX_UD);
  }
  // A 66, F3 or F2 prefix makes FXSAVE/FXRSTOR/LDMXCSR/STMXCSR (and the XSAVE family) #UD,
  // as on the AMD host; only 66 /7 (CLFLUSHOPT) exists, and CLFLUSH takes no prefix.
  if (ins.mp !== 0 && !(ins.mp === 1 && ins.ext === 7)) c.fault(EX_UD);
  // #UD and #NM come before the operand's segment and page checks.
  if (ins.ext < 2 && (c.cr0 & (CR0_TS | 0x4))) c.fault(EX_NM);
  if ((ins.ext === 2 || ins.ext === 3) && !(c.cr4 & CR4_OSFXSR)) c.fault(EX_UD);
  if (ins.ext === 4 || ins.ext === 5 || ins.ext === 6) c.fault(EX_UD); // XSAVE family not advertised
  // FXSAVE/FXRSTOR: 512 bytes; LDMXCSR/STMXCSR: 4; CLFLUSH: 1. FXSAVE and STMXCSR store.
  // The whole operand is checked (segment limit, canonical last byte in 64-bit mode).
  const lin = wideLin(c, ins, ins.ext < 2 ? 512 : ins.ext < 4 ? 4 : 1, ins.ext === 0 || ins.ext === 3);
  switch (ins.ext) {
    case 0: case 1:
      if (ins.ext === 0) fxsave(c, lin, ins.osize === 64); else fxrstor(c, lin, ins.osize === 64);
      return;
    case 2: { // LDMXCSR
      if (!(c.cr4 & CR4_OSFXSR)) c.fault(EX_UD);
      const v = c.rd32(lin);
      if (v & ~0xffff) c.fault(EX_GP, 0);
      c.mxcsr = v;
      return;
    }
    case 3: if (!(c.cr4 & CR4_OSFXSR)) c.fault(EX_UD); c.wr32(lin, c.mxcsr); return; // STMXCSR
    case 7: c.rd8(lin); return; // CLFLUSH: touch for faults only
    default: c.fault(EX_UD); // XSAVE family not advertised
  }
}

export { getFlags, IF };
