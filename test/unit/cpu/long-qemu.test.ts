// Cross-check against QEMU: long-qemu.s (accessed/dirty bits on all four paging levels and in
// 1 GiB and 2 MiB pages, NX in a PML4 entry, U/S in a PDPTE, LAR/LSL on IA-32e system
// descriptors, SYSCALL from compatibility mode through CSTAR and SYSRET back, reserved bits)
// runs under qemu-system-x86_64 (TCG, qemu64 with 1 GiB pages) and under Hangar's CPU from
// the same bytes; both write their observations to port 0xE9 and the streams must agree,
// except four (see below). Skipped only when binutils or QEMU is not installed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_QEMU32, build, runHangar, runQemu } from './helpers/qemu-kernel.ts';

const SRC = join(import.meta.dirname, 'long-qemu.s');
/** Observations 24-25: LAR of a 16-bit TSS descriptor in 64-bit mode (EAX, ZF). */
const LAR16 = [24, 25];
/** Observations 41 and 47: error codes of reserved-bit page faults. */
const RSVD = [41, 47];

describe.skipIf(!HAVE_QEMU32)('long-mode paging, LAR/LSL and SYSCALL/SYSRET agree with QEMU', () => {
  it('produces the same 53 observations', () => {
    const k = build(SRC, 64);
    try {
      const hangar = runHangar(k);
      expect(hangar.finished).toBe(true);
      const qemu = runQemu(k, 'qemu64,+pdpe1gb');
      const h = hangar.out;
      expect(h.length).toBe(53);
      expect(h[52]).toBe(0xc7c7c7c7);
      const skip = [...LAR16, ...RSVD];
      const hex = (a: number[]): string[] => a.map((v, i) => (skip.includes(i) ? '-' : v.toString(16)));
      expect(hex(h)).toEqual(hex(qemu));
      // QEMU's LAR accepts the legacy system types in IA-32e mode too; the SDM (LAR, table
      // "Segment and Gate Types") marks a 16-bit TSS reserved there, so ZF = 0 and EAX stays.
      expect([h[24], h[25]]).toEqual([0xdeadbeef, 0]);
      // QEMU (7.2) reports a reserved-bit fault without P; hardware sets P with RSVD (the
      // entry is present: SDM 4.7), which is what Linux prints as error_code(0x0009).
      expect([h[40], h[41], h[46], h[47]]).toEqual([14, 9, 14, 0xb]); // bit 40 in a PTE (read); PS in a PML4E (write)
      expect([qemu[41], qemu[47]]).toEqual([8, 0xa]);
      // A few observations, named.
      expect(h.slice(0, 4)).toEqual([0x27, 0x27, 0x27, 0x27]); // A on PML4E, PDPTE, PDE, PTE after a read
      expect(h[4]).toBe(0x67); // D on the PTE after a write
      expect([h[7], h[8]]).toEqual([0xe7, 0xa7]); // 1 GiB page written (A D), 2 MiB page read (A)
      expect([h[10], h[11]]).toEqual([14, 0x11]); // NX in the PML4E: fetch fault with I/D
      expect([h[17], h[18]]).toEqual([14, 5]); // U/S clear in the PDPTE: user read fault
      expect(h[31]).toBe(0x402); // R11 = the compatibility-mode RFLAGS (DF set)
      expect(h[34] & 0x400).toBe(0); // FMASK cleared DF in the kernel
      expect([h[36], h[39]]).toEqual([0x23, 0x2b]); // SYSRET: CS = STAR[63:48], SS = + 8
    } finally {
      k.dispose();
    }
  });
});
