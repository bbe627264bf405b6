// Far CALL and JMP through call gates: 16- and 32-bit gates in protected mode, 64-bit
// (16-byte) gates in long mode. The gate names the target code segment and offset; CALL to
// a more privileged non-conforming segment switches to the stack the TSS holds for the new
// privilege level and copies the gate's parameter count of words/dwords from the caller's
// stack (64-bit gates copy none). JMP through a gate never changes privilege. RETF back to
// the outer level is far.ts's farReturn.
import type { Cpu } from '../cpu.ts';
import { CS, EFER_LMA, EX_GP, EX_NP, EX_SS, EX_TS, SS, TR, TWO32 } from '../constants.ts';
import {
  DADDR, DHI, DLO, descAttr, descBase, descLimit, readDescriptor, setAccessed, setSegCache, sysRead16, sysRead32,
} from './segments.ts';
import { peek, push } from '../operands.ts';
import { restoreCs, saveCs } from './far.ts';

const CANON = 140737488355328;

/** Check and take the call gate `sel` (descriptor words lo/hi already read). */
export function gateTransfer(c: Cpu, sel: number, lo: number, hi: number, isCall: boolean): void {
  const gsel = sel & 0xfffc;
  const gdpl = (hi >> 13) & 3;
  if (gdpl < c.cpl || gdpl < (sel & 3)) c.fault(EX_GP, gsel);
  if (!(hi & 0x8000)) c.fault(EX_NP, gsel);
  const long = (c.efer & EFER_LMA) !== 0;
  let bits: number;
  let target: number;
  let params = 0;
  if (long) {
    // 16-byte gate: bits 8-12 of the upper half's second dword must be zero.
    const up = sysRead32(c, DADDR + 8);
    if ((sysRead32(c, DADDR + 12) >> 8) & 0x1f) c.fault(EX_GP, gsel);
    bits = 64;
    target = (up | 0) * TWO32 + (((hi & 0xffff0000) | (lo & 0xffff)) >>> 0);
  } else {
    bits = (hi & 0x800) !== 0 ? 32 : 16;
    target = bits === 32 ? ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0 : lo & 0xffff;
    params = hi & 0x1f;
  }
  const tsel = lo >>> 16;
  if ((tsel & 0xfffc) === 0) c.fault(EX_GP, 0);
  readDescriptor(c, tsel);
  const clo = DLO, chi = DHI;
  const cdpl = (chi >> 13) & 3;
  if ((chi & 0x1800) !== 0x1800 || cdpl > c.cpl) c.fault(EX_GP, tsel & 0xfffc);
  const conforming = (chi & 0x400) !== 0;
  if (!isCall && !conforming && cdpl !== c.cpl) c.fault(EX_GP, tsel & 0xfffc);
  if (!(chi & 0x8000)) c.fault(EX_NP, tsel & 0xfffc);
  if (long && (!(chi & 0x200000) || (chi & 0x400000))) c.fault(EX_GP, tsel & 0xfffc); // 64-bit code only
  if (long ? target < -CANON || target >= CANON : target > descLimit(clo, chi)) c.fault(EX_GP, 0);
  setAccessed(c);
  const newCpl = isCall && !conforming && cdpl < c.cpl ? cdpl : c.cpl;
  const csBase = descBase(clo, chi), csLimit = descLimit(clo, chi), csAttr = descAttr(chi) | 1;
  const newCs = (tsel & 0xfffc) | newCpl;
  if (!isCall) {
    setSegCache(c, CS, newCs, csBase, csLimit, csAttr);
    c.rip = target;
    return;
  }
  const retCs = c.sSel[CS]!;
  const retIp = c.rip;
  const savedCs = saveCs(c);
  const spLo = c.rl[4]!, spHi = c.rh[4]!;
  if (newCpl === c.cpl) {
    try {
      pushRet(c, bits, retCs, retIp);
    } catch (e) {
      c.rl[4] = spLo; c.rh[4] = spHi;
      throw e;
    }
    setSegCache(c, CS, newCs, csBase, csLimit, csAttr);
    c.rip = target;
    return;
  }
  // More privileged: the new stack comes from the TSS.
  const oldSs = c.sSel[SS]!;
  const savedSs = [c.sSel[SS]!, c.sBase[SS]!, c.sLimit[SS]!, c.sAttr[SS]!] as const;
  const oldSpLo = spLo, oldSpHi = c.codeMode === 64 ? spHi : 0;
  try {
    if (long) {
      const rsp = readTss64(c, 4 + newCpl * 8);
      if (rsp < -CANON || rsp >= CANON) c.fault(EX_SS, 0);
      setSegCache(c, SS, newCpl, 0, 0xffffffff, 0x93 | (newCpl << 5)); // null SS, RPL = new CPL
      setSegCache(c, CS, newCs, csBase, csLimit, csAttr);
      c.rl[4] = rsp % TWO32 | 0;
      c.rh[4] = Math.floor(rsp / TWO32);
      push(c, 64, oldSs, 0);
      push(c, 64, oldSpLo, oldSpHi);
    } else {
      const [nsp, nss] = tssStack(c, newCpl);
      const item = bits >> 3;
      const copied: number[] = [];
      for (let i = params - 1; i >= 0; i--) copied.push(peek(c, bits, i * item));
      const ss = checkNewStack(c, nss, newCpl, nsp, (4 + params) * item);
      setSegCache(c, SS, nss, ss.base, ss.limit, ss.attr);
      setSegCache(c, CS, newCs, csBase, csLimit, csAttr);
      c.setSp(nsp);
      push(c, bits, oldSs, 0);
      push(c, bits, oldSpLo, 0);
      for (const v of copied) push(c, bits, v, 0);
    }
    pushRet(c, bits, retCs, retIp);
  } catch (e) {
    setSegCache(c, SS, savedSs[0], savedSs[1], savedSs[2], savedSs[3]);
    restoreCs(c, savedCs);
    c.rl[4] = spLo; c.rh[4] = spHi;
    throw e;
  }
  c.rip = target;
}

function pushRet(c: Cpu, bits: number, cs: number, ip: number): void {
  push(c, bits, cs, 0);
  push(c, bits, ip % TWO32 | 0, Math.floor(ip / TWO32));
}

/** SS:ESP for privilege `dpl` from the current (16- or 32-bit) TSS; #TS(TR) past its limit. */
export function tssStack(c: Cpu, dpl: number): [number, number] {
  const base = c.sBase[TR]!;
  const tss32 = (c.sAttr[TR]! & 8) !== 0;
  const at = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
  if (at + (tss32 ? 5 : 3) > c.sLimit[TR]!) c.fault(EX_TS, c.sSel[TR]! & 0xfffc);
  if (tss32) return [sysRead32(c, base + at) >>> 0, sysRead16(c, base + at + 4)];
  return [sysRead16(c, base + at), sysRead16(c, base + at + 2)];
}

function readTss64(c: Cpu, off: number): number {
  if (off + 7 > c.sLimit[TR]!) c.fault(EX_TS, c.sSel[TR]! & 0xfffc);
  const lo = sysRead32(c, c.sBase[TR]! + off);
  const hi = sysRead32(c, c.sBase[TR]! + off + 4);
  return hi * TWO32 + (lo >>> 0);
}

/**
 * Validate the inner stack segment `nss` for privilege `cpl` (#TS(sel) for a bad selector or
 * descriptor, #SS(sel) when not present or without room for `bytes` below `sp`) and return
 * its cache values.
 */
function checkNewStack(c: Cpu, nss: number, cpl: number, sp: number, bytes: number): { base: number; limit: number; attr: number } {
  if ((nss & 0xfffc) === 0) c.fault(EX_TS, 0);
  readDescriptor(c, nss, EX_TS);
  const lo = DLO, hi = DHI;
  if ((nss & 3) !== cpl || ((hi >> 13) & 3) !== cpl || (hi & 0x1a00) !== 0x1200) c.fault(EX_TS, nss & 0xfffc);
  if (!(hi & 0x8000)) c.fault(EX_SS, nss & 0xfffc);
  const limit = descLimit(lo, hi);
  const attr = descAttr(hi) | 1;
  if (!stackRoom(sp, bytes, limit, attr)) c.fault(EX_SS, nss & 0xfffc);
  setAccessed(c);
  return { base: descBase(lo, hi), limit, attr };
}

/** Whether `bytes` can be pushed below `sp` on a stack segment with this limit and cache
 * attributes (expand-down and the B bit honoured). */
export function stackRoom(sp: number, bytes: number, limit: number, attr: number): boolean {
  const big = (attr & 0x4000) !== 0;
  const top = (big ? sp >>> 0 : sp & 0xffff) || (big ? 0x100000000 : 0x10000);
  const low = top - bytes;
  return attr & 4 ? low > limit && top - 1 <= (big ? 0xffffffff : 0xffff) : low >= 0 && top - 1 <= limit;
}
