// Cross-check against QEMU: legacy-qemu.s (32-bit paging with 4 KiB and 4 MiB pages, PAE
// paging in protected mode with NX, virtual-8086 mode, SYSENTER/SYSEXIT) is assembled into a
// multiboot kernel and run by qemu-system-x86_64 (TCG, CPU model qemu64) and by Hangar's CPU
// from the same bytes at the same address; both write what they observe to port 0xE9 and the
// streams must agree dword for dword, except one (see below). Skipped only when binutils or
// QEMU is not installed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_QEMU32, build, runHangar, runQemu } from './helpers/qemu-kernel.ts';

const SRC = join(import.meta.dirname, 'legacy-qemu.s');
const END = 0xc7c7c7c7;
/** Observation 42: the PAE PDPTE of the NX 2 MiB page after it was used. */
const PDPTE = 42;

describe.skipIf(!HAVE_QEMU32)('legacy paging, virtual-8086 mode and SYSENTER agree with QEMU', () => {
  it('produces the same 149 observations', () => {
    const k = build(SRC);
    try {
      const hangar = runHangar(k);
      expect(hangar.finished).toBe(true);
      const qemu = runQemu(k);
      const h = hangar.out;
      expect(h.length).toBe(149);
      expect(h[148]).toBe(END);
      const hex = (a: number[]): string[] => a.map((v, i) => (i === PDPTE ? '-' : v.toString(16)));
      expect(hex(h)).toEqual(hex(qemu));
      // QEMU's TCG sets bit 5 in a legacy PAE PDPTE; on Intel hardware bits 8:5 of those
      // entries are reserved and the processor sets no accessed flag there (SDM table 4-8).
      expect(h[PDPTE]).toBe(1);
      // A few of the observations, named: #PF error codes in order.
      expect([h[5], h[6]]).toEqual([14, 3]); // WP write to a read-only page
      expect(h[21]).toBe(0); // fetch from an absent page, 32-bit paging with NXE: no I/D
      expect([h[27], h[33]]).toEqual([5, 7]); // user read under a supervisor PDE; user write under a read-only PDE
      expect([h[46], h[52]]).toEqual([0x11, 0x10]); // PAE: NX fetch; absent fetch
      expect([h[57], h[58]]).toEqual([13, 0]); // CLI in v86 at IOPL 0
    } finally {
      k.dispose();
    }
  });
});
