// Page tables for the 32-bit test machine (helpers/machine32.ts), for the legacy paging
// modes: classic 32-bit paging (CR4.PAE = 0) and PAE paging in 32-bit protected mode. Both
// identity-map the machine's first 2 MiB with 4 KiB pages that are present, writable and
// user at every level, so the kernel code, stubs, stacks and tables keep working once paging
// is on; tests then edit single entries. The tables live above everything the machine uses.
import { le } from './machine32.ts';
import type { Machine32 } from './machine32.ts';
import type { MmioHandler } from '../../../../src-core/engine/bus-memory.ts';

/** 32-bit paging: the page directory and the page table for linear 0-4 MiB. */
export const PD = 0x100000;
export const PT0 = 0x101000;
/** A spare table for tests (linear 4-8 MiB when PDE 1 names it). */
export const PT1 = 0x105000;
/** PAE: the four-entry PDPT, the page directory for 0-1 GiB and the page table for 0-2 MiB. */
export const PDPT = 0x102000;
export const PAE_PD = 0x103000;
export const PAE_PT = 0x104000;
/** A second PAE page directory (linear 1-2 GiB when PDPTE 1 names it). */
export const PAE_PD1 = 0x106000;

export const P = 1;
export const W = 2;
export const U = 4;
export const A = 0x20;
export const D = 0x40;
export const PS = 0x80;
export const G = 0x100;

export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_PGE = 0x80;

/** Classic 32-bit tables: PDE 0 -> PT0, identity 4 KiB pages over 0-4 MiB. */
export function tables32(m: Machine32): void {
  m.bus.write32(PD, PT0 | P | W | U);
  for (let p = 0; p < 1024; p++) m.bus.write32(PT0 + p * 4, (p * 4096) | P | W | U);
}

/** PAE tables: PDPTE 0 -> PAE_PD, PDE 0 -> PAE_PT, identity 4 KiB pages over 0-2 MiB. */
export function tablesPae(m: Machine32): void {
  m.bus.write32(PDPT, PAE_PD | P); // PDPTEs have no R/W or U/S bits
  m.bus.write32(PAE_PD, PAE_PT | P | W | U);
  for (let p = 0; p < 512; p++) m.bus.write32(PAE_PT + p * 8, (p * 4096) | P | W | U);
}

/** Address of the 32-bit PTE or PDE for `lin` (PDE `lin >>> 22` must name `table`). */
export const pte32 = (table: number, lin: number): number => table + ((lin >>> 12) & 0x3ff) * 4;
export const pde32 = (lin: number): number => PD + (lin >>> 22) * 4;
/** Address of the PAE PTE for `lin` in the 0-2 MiB table, and of the PDE in PAE_PD. */
export const ptePae = (lin: number): number => PAE_PT + ((lin >>> 12) & 0x1ff) * 8;
export const pdePae = (lin: number): number => PAE_PD + ((lin >>> 21) & 0x1ff) * 8;

/** mov eax, imm32 */
export const movEax = (v: number): number[] => [0xb8, ...le(v, 4)];

/**
 * Kernel code that turns paging on the way an OS does: CR3, then CR4 (PSE/PAE/PGE), then
 * CR0.PG (with CR0.WP when `wp`).
 */
export function pagingOn(cr3: number, cr4: number, wp = true): number[] {
  return [
    ...movEax(cr3), 0x0f, 0x22, 0xd8, // mov cr3, eax
    ...movEax(cr4), 0x0f, 0x22, 0xe0, // mov cr4, eax
    0x0f, 0x20, 0xc0, 0x0d, ...le(wp ? 0x80010000 : 0x80000000, 4), 0x0f, 0x22, 0xc0, // cr0 |= PG (| WP)
  ];
}

/** wrmsr EFER.NXE (32-bit code): mov ecx, 0xC0000080; rdmsr; or eax, 0x800; wrmsr. */
export const NXE_ON = [0xb9, ...le(0xc0000080, 4), 0x0f, 0x32, 0x0d, ...le(0x800, 4), 0x0f, 0x30];

/** mov eax, lin; mov eax, [eax] -- the loaded dword ends up in EAX. */
export const load = (lin: number): number[] => [...movEax(lin), 0x8b, 0x00];
/** mov eax, lin; mov dword [eax], v */
export const store = (lin: number, v: number): number[] => [...movEax(lin), 0xc7, 0x00, ...le(v, 4)];
/** mov eax, cr3; mov cr3, eax (a CR3 reload with the same tables) */
export const RELOAD_CR3 = [0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8];
/** invlpg [eax] */
export const INVLPG_EAX = [0x0f, 0x01, 0x38];

/** Physical memory the machine's 2 MiB of RAM cannot give: an MMIO page that reads as
 * 0xA5000000 + offset and records writes (for frames at 4 MiB and above 4 GiB). */
export function patternPage(m: Machine32, phys: number, writes: number[] = []): void {
  const h: MmioHandler = {
    read: (off) => (0xa5000000 + off) >>> 0,
    write: (off, _size, v) => { writes.push(off, v >>> 0); },
  };
  m.bus.addMmio(phys, 0x1000, h, `pattern@${phys.toString(16)}`);
}

/** Kernel code that drops to ring 3 at UCODE with ESP = USTACK via IRETD (flags 0x202). */
export function toUser32(ucode: number, ustack: number, selCode: number, selData: number): number[] {
  return [0x6a, selData, 0x68, ...le(ustack, 4), 0x68, ...le(0x202, 4), 0x6a, selCode, 0x68, ...le(ucode, 4), 0xcf];
}
