// Linear -> physical translation: the page walk for 32-bit, PAE and 4-level paging, and the
// fill of the CPU's software TLB. Permissions of every level combine (R/W and U/S AND, NX OR);
// accessed bits are set on the walk, the dirty bit on the first write, so a TLB entry only
// grants write access once the dirty bit is set.
import type { Cpu } from './cpu.ts';
import {
  CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, EFER_LMA, EFER_LME, EFER_NXE, EX_GP, EX_PF, PF_I, PF_P, PF_RSVD, PF_U, PF_W, TWO32,
} from './constants.ts';

export const ACC_WRITE = 1;
export const ACC_USER = 2;
export const ACC_FETCH = 4;

/** TLB permission bits. The user variants sit 2 bits above the supervisor ones. */
export const T_RS = 1;
export const T_WS = 2;
export const T_RU = 4;
export const T_WU = 8;
export const T_XS = 16;
export const T_XU = 32;
export const T_GLOBAL = 64;
/** The entry caches part of a large (2 MiB / 4 MiB / 1 GiB) page: INVLPG must drop all of them. */
export const T_LARGE = 128;

function readPhys32(c: Cpu, addr: number): number {
  return c.bus.read32(addr) | 0;
}
function writePhys32(c: Cpu, addr: number, v: number): void {
  c.bus.write32(addr, v >>> 0);
}

/*
 * Reserved bits (SDM 4.3-4.5, with MAXPHYADDR = 40 as CPUID 0x80000008 reports): a present
 * entry with one set is #PF with P and RSVD. High dword masks: PAE entries reserve bits 62:40,
 * 4-level ones 51:40 (62:52 are ignored there); bit 63 is reserved without EFER.NXE. Large
 * pages reserve the frame bits below their size except PAT (bit 12): 20:13 for 2 MiB, 29:13
 * for 1 GiB; a 32-bit 4 MiB page reserves bit 21 (bits 20:13 are PSE-36 address bits). A PML4
 * entry has no PS bit. (PAE PDPTEs are checked when loaded: loadPdptes below.)
 */
const RSVD_HI_PAE = 0x7fffff00;
const RSVD_HI_4LEVEL = 0x000fff00;
const RSVD_LO_2M = 0x1fe000;
const RSVD_LO_1G = 0x3fffe000;
const RSVD_LO_4M = 0x200000;

/*
 * PAE paging reads its four PDPTEs into internal registers when CR3 is loaded, and when a MOV
 * to CR0/CR4 turns PAE paging on (SDM 4.4.1; APM 5.3.3 caches them alike): a later write to
 * the table in memory has no effect until the next load. A present PDPTE with a reserved bit
 * set (2:1, 8:5, 63:40 with MAXPHYADDR 40; there is no NX bit at this level) makes that MOV
 * #GP(0) and leaves the registers unchanged. Kept beside the Cpu (cpu.ts is the interpreter's)
 * as lo/hi dword pairs; snapshot.ts saves them.
 */
const PDPTE_RSVD_LO = 0x1e6;
const PDPTE_RSVD_HI = 0xffffff00;
const pdptes = new WeakMap<Cpu, Int32Array>();

/** The four PDPTE registers as lo/hi pairs (all zero: not present, until loaded). */
export function pdpteRegs(c: Cpu): Int32Array {
  let r = pdptes.get(c);
  if (!r) { r = new Int32Array(8); pdptes.set(c, r); }
  return r;
}

/** Load the PDPTE registers from the table at `cr3`, or #GP(0) when one is invalid. */
export function loadPdptes(c: Cpu, cr3: number): void {
  const base = (cr3 % TWO32 >>> 0) & 0xffffffe0; // PAE CR3 holds a 32-bit, 32-byte aligned base
  const next = new Int32Array(8);
  for (let i = 0; i < 8; i += 2) {
    const lo = readPhys32(c, (base >>> 0) + i * 4);
    const hi = readPhys32(c, (base >>> 0) + i * 4 + 4);
    if ((lo & 1) && ((lo & PDPTE_RSVD_LO) || (hi & PDPTE_RSVD_HI))) c.fault(EX_GP, 0);
    next[i] = lo; next[i + 1] = hi;
  }
  pdpteRegs(c).set(next);
  pdptesPending.delete(c);
}

/**
 * A version 1 snapshot carries no PDPTE registers: the next PAE walk copies them unchecked
 * from the table at CR3 (guest memory may be restored after the CPU, so not at load time).
 */
export function pdptesFromMemoryLater(c: Cpu): void {
  pdptesPending.add(c);
}
const pdptesPending = new WeakSet<Cpu>();

function readPdptesRaw(c: Cpu): void {
  pdptesPending.delete(c);
  const base = (c.cr3 % TWO32 >>> 0) & 0xffffffe0;
  const r = pdpteRegs(c);
  for (let i = 0; i < 8; i++) r[i] = readPhys32(c, (base >>> 0) + i * 4);
}

/** PAE paging (not 4-level) is in use with these CR0/CR4 values. */
export function paePaging(c: Cpu, cr0: number, cr4: number): boolean {
  return (cr0 & CR0_PG) !== 0 && (cr4 & CR4_PAE) !== 0 && !(c.efer & EFER_LME);
}

function pageFault(c: Cpu, lin: number, acc: number, present: boolean, rsvd = false): never {
  let code = present ? PF_P : 0;
  if (rsvd) code |= PF_RSVD;
  if (acc & ACC_WRITE) code |= PF_W;
  if (acc & ACC_USER) code |= PF_U;
  // I/D is reported only where NX exists: PAE or 4-level paging with EFER.NXE (SDM 4.7).
  if ((acc & ACC_FETCH) && (c.efer & EFER_NXE) && (c.cr4 & CR4_PAE)) code |= PF_I;
  c.cr2 = lin;
  return c.fault(EX_PF, code);
}

/**
 * Translate `lin` for an access of kind `acc`, install a TLB entry for its 4 KiB page and
 * return the physical address. Throws (via c.fault) #PF when the access is not allowed.
 */
export function translate(c: Cpu, lin: number, acc: number): number {
  const po = lin & 0xfff;
  const vpn = (lin - po) / 4096;
  if (!(c.cr0 & CR0_PG)) {
    const phys = (lin >>> 0) - po; // without paging a linear address is 32 bits
    c.tlbFill(vpn, phys, T_RS | T_WS | T_RU | T_WU | T_XS | T_XU);
    return phys + po;
  }
  const user = (acc & ACC_USER) !== 0;
  const write = (acc & ACC_WRITE) !== 0;
  const fetch = (acc & ACC_FETCH) !== 0;
  const wp = (c.cr0 & CR0_WP) !== 0;
  let allW = true;
  let allU = true;
  let nx = false;
  let global = false;
  let pageBase: number; // physical base of the page frame (4 KiB granular within large pages)
  let entAddr: number; // physical address of the final entry (to set D)
  let entLo: number;
  let large = false;
  let largeSpan = 0;

  if (!(c.cr4 & CR4_PAE)) {
    // Classic 32-bit paging: 10 + 10 + 12.
    const l32 = lin >>> 0;
    const pdeAddr = (c.cr3 & 0xfffff000) >>> 0;
    const pdeA = pdeAddr + ((l32 >>> 22) << 2);
    const pde = readPhys32(c, pdeA);
    if (!(pde & 1)) pageFault(c, lin, acc, false);
    if (!(pde & 2)) allW = false;
    if (!(pde & 4)) allU = false;
    if ((pde & 0x80) && (c.cr4 & CR4_PSE)) {
      if (pde & RSVD_LO_4M) pageFault(c, lin, acc, true, true);
      large = true;
      largeSpan = 1024;
      entAddr = pdeA;
      entLo = pde;
      // PSE-36: bits 13-20 give physical address bits 32-39.
      pageBase = ((pde & 0xffc00000) >>> 0) + ((pde >>> 13) & 0xff) * TWO32 + (l32 & 0x3ff000);
    } else {
      if (!(pde & 0x20)) writePhys32(c, pdeA, pde | 0x20);
      const pteA = ((pde & 0xfffff000) >>> 0) + (((l32 >>> 12) & 0x3ff) << 2);
      const pte = readPhys32(c, pteA);
      if (!(pte & 1)) pageFault(c, lin, acc, false);
      if (!(pte & 2)) allW = false;
      if (!(pte & 4)) allU = false;
      entAddr = pteA;
      entLo = pte;
      pageBase = (pte & 0xfffff000) >>> 0;
    }
  } else {
    const nxe = (c.efer & EFER_NXE) !== 0;
    const rsvdHi = (c.efer & EFER_LMA) ? RSVD_HI_4LEVEL : RSVD_HI_PAE;
    let tableBase: number;
    let level: number;
    if (c.efer & EFER_LMA) {
      tableBase = c.cr3 - (c.cr3 % 4096);
      level = 4;
    } else {
      // PAE: the PDPTE registers loaded at MOV CR3 (or when PAE paging was enabled), not
      // the table in memory.
      if (pdptesPending.has(c)) readPdptesRaw(c);
      const regs = pdpteRegs(c);
      const i = ((lin >>> 0) >>> 30) << 1;
      const lo = regs[i]!;
      const hi = regs[i + 1]!;
      if (!(lo & 1)) pageFault(c, lin, acc, false);
      tableBase = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
      level = 2;
    }
    entAddr = 0;
    entLo = 0;
    pageBase = 0;
    for (; level >= 1; level--) {
      // Index bits: level 4 -> 39..47, 3 -> 30..38, 2 -> 21..29, 1 -> 12..20.
      const shift = 12 + 9 * (level - 1);
      const idx = Math.floor(lin / Math.pow(2, shift)) & 0x1ff;
      const ea = tableBase + idx * 8;
      const lo = readPhys32(c, ea);
      const hi = readPhys32(c, ea + 4);
      if (!(lo & 1)) pageFault(c, lin, acc, false);
      if ((hi & rsvdHi) || (hi < 0 && !nxe) || (level === 4 && (lo & 0x80)) ||
        ((lo & 0x80) && ((level === 2 && (lo & RSVD_LO_2M)) || (level === 3 && (lo & RSVD_LO_1G))))) {
        pageFault(c, lin, acc, true, true);
      }
      if (!(lo & 2)) allW = false;
      if (!(lo & 4)) allU = false;
      if (nxe && hi < 0) nx = true;
      const frame = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
      if (level === 1 || ((lo & 0x80) && level <= 3)) {
        entAddr = ea;
        entLo = lo;
        if (level === 1) pageBase = frame;
        else {
          large = true;
          const size = Math.pow(2, shift);
          largeSpan = size / 4096;
          const base = frame - (frame % size); // clears the PAT bit (bit 12) and reserved low bits
          pageBase = base + (((lin % size) + size) % size) - po;
        }
        break;
      }
      if (!(lo & 0x20)) writePhys32(c, ea, lo | 0x20);
      tableBase = frame;
    }
  }
  if (c.cr4 & CR4_PGE && entLo & 0x100) global = true;
  // Permission check.
  if (user && !allU) pageFault(c, lin, acc, true);
  if (write && !allW && (user || wp)) pageFault(c, lin, acc, true);
  if (fetch && nx) pageFault(c, lin, acc, true);
  let dirty = (entLo & 0x40) !== 0;
  const want = entLo | 0x20 | (write ? 0x40 : 0);
  if (want !== entLo) writePhys32(c, entAddr, want);
  if (write) dirty = true;
  let perm = T_RS;
  if (dirty && (allW || !wp)) perm |= T_WS;
  if (allU) {
    perm |= T_RU;
    if (dirty && allW) perm |= T_WU;
  }
  if (!nx) {
    perm |= T_XS;
    if (allU) perm |= T_XU;
  }
  if (global) perm |= T_GLOBAL;
  if (large) {
    perm |= T_LARGE;
    c.tlbHasLarge = true;
    // Pages per large page (INVLPG drops every cached piece of it): 4 MiB, 2 MiB or 1 GiB.
    if (largeSpan > c.tlbLargeSpan) c.tlbLargeSpan = largeSpan;
  }
  c.tlbFill(vpn, pageBase, perm);
  return pageBase + po;
}
