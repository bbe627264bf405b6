// Power-on/INIT state and the register state a boot loader hands over.
import type { Cpu } from '../cpu.ts';
import type { BootCpuState, SegmentSetup } from '../../cpu-api.ts';
import { CS, DS, ES, FS, GS, LDTR, SS, TR, EFER_LMA, EFER_LME, CR0_PG } from '../constants.ts';
import { loadPdptes, paePaging, pdpteRegs } from '../paging.ts';

export function resetState(c: Cpu): void {
  c.rl.fill(0);
  c.rh.fill(0);
  c.rl[2] = 0x663; // EDX = CPU signature at reset
  c.flags = 2;
  c.flOp = 0;
  c.cr0 = 0x60000010;
  c.cr2 = 0;
  c.cr3 = 0;
  c.cr4 = 0;
  c.cr8 = 0;
  c.efer = 0;
  c.dr.fill(0);
  c.dr[6] = 0xffff0ff0;
  c.dr[7] = 0x400;
  for (const s of [ES, SS, DS, FS, GS]) {
    c.sSel[s] = 0;
    c.sBase[s] = 0;
    c.sLimit[s] = 0xffff;
    c.sAttr[s] = 0x93;
  }
  c.sSel[CS] = 0xf000;
  c.sBase[CS] = 0xffff0000;
  c.sLimit[CS] = 0xffff;
  c.sAttr[CS] = 0x9b;
  c.sSel[LDTR] = 0; c.sBase[LDTR] = 0; c.sLimit[LDTR] = 0xffff; c.sAttr[LDTR] = 0x82;
  c.sSel[TR] = 0; c.sBase[TR] = 0; c.sLimit[TR] = 0xffff; c.sAttr[TR] = 0x8b;
  c.gdtBase = 0; c.gdtLimit = 0xffff;
  c.idtBase = 0; c.idtLimit = 0x3ff;
  c.rip = 0xfff0;
  c.star = 0; c.starHi = 0; c.lstar = 0; c.cstar = 0; c.fmask = 0; c.kernelGsBase = 0;
  c.sysenterCs = 0; c.sysenterEsp = 0; c.sysenterEip = 0;
  pdpteRegs(c).fill(0);
  c.patLo = 0x00070406; c.patHi = 0x00070406;
  c.apicBase = 0xfee00900;
  c.miscEnable = 1;
  c.tscAux = 0;
  c.msrStore.clear();
  c.xmm.fill(0);
  c.mxcsr = 0x1f80;
  c.fpu.reset();
  c.halted = false;
  c.nmiPending = false;
  c.nmiBlocked = false;
  c.inhibit = false;
  c.intCheck = true;
  c.delivering = -1;
  c.tlbFlushAll();
  c.updateMode();
}

function applySeg(c: Cpu, s: number, setup: SegmentSetup): void {
  c.sSel[s] = setup.selector & 0xffff;
  c.sBase[s] = setup.base;
  c.sLimit[s] = setup.limit >>> 0;
  c.sAttr[s] = setup.attributes & 0xf0ff;
}

/** Apply a boot loader's register state (the Linux boot protocol's 32- or 64-bit entry). */
export function applyBootState(c: Cpu, st: BootCpuState): void {
  resetState(c);
  c.rl[2] = 0;
  const flat32Code: SegmentSetup = { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc09b };
  const flat64Code: SegmentSetup = { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xa09b };
  const flatData: SegmentSetup = { selector: 0x18, base: 0, limit: 0xffffffff, attributes: 0xc093 };
  if (st.gdt) { c.gdtBase = st.gdt.base; c.gdtLimit = st.gdt.limit; }
  if (st.idt) { c.idtBase = st.idt.base; c.idtLimit = st.idt.limit; }
  if (st.mode === 'real') {
    c.cr0 = st.cr0 ?? 0x60000010;
    if (st.cs) applySeg(c, CS, st.cs);
    else { c.sSel[CS] = 0; c.sBase[CS] = 0; }
    if (st.data) for (const s of [ES, SS, DS, FS, GS]) applySeg(c, s, st.data);
  } else {
    c.cr0 = (st.cr0 ?? (st.mode === 'long64' ? 0x80000011 : 0x11)) | 1;
    c.cr3 = st.cr3 ?? 0;
    c.cr4 = st.cr4 ?? (st.mode === 'long64' ? 0x20 : 0);
    c.efer = st.efer ?? (st.mode === 'long64' ? EFER_LME | EFER_LMA : 0);
    if (st.mode === 'long64') c.efer |= EFER_LME | EFER_LMA;
    if (st.mode === 'long64' && !(c.cr0 & CR0_PG)) c.cr0 |= CR0_PG;
    applySeg(c, CS, st.cs ?? (st.mode === 'long64' ? flat64Code : flat32Code));
    for (const s of [ES, SS, DS, FS, GS]) applySeg(c, s, st.data ?? flatData);
    c.sAttr[TR] = 0x8b;
  }
  c.rip = st.rip;
  const setR = (r: number, v: number | undefined): void => {
    if (v === undefined) return;
    c.rl[r] = v % 4294967296 | 0;
    c.rh[r] = Math.floor(v / 4294967296) | 0;
  };
  setR(4, st.rsp);
  setR(6, st.rsi);
  setR(3, st.rbx);
  setR(5, st.rbp);
  setR(7, st.rdi);
  // A boot state with PAE paging on needs its PDPTE registers, as if CR3 had been loaded.
  if (paePaging(c, c.cr0, c.cr4)) {
    try { loadPdptes(c, c.cr3); } catch { throw new Error('boot CPU state: a PAE PDPTE at CR3 has reserved bits set'); }
  }
  c.tlbFlushAll();
  c.updateMode();
}
