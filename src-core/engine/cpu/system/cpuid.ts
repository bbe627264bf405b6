// CPUID: advertises exactly what this interpreter implements (and nothing more). The vendor
// is AuthenticAMD, family 6 model 6 (like QEMU's qemu64 model), so a Linux kernel takes its
// well-trodden generic paths and does not enable Meltdown page-table isolation.
import type { Cpu } from '../cpu.ts';

/** Leaf 1 EDX: FPU PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2. */
export const CPUID1_EDX =
  (1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 11) |
  (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
/** Leaf 1 ECX: CX16, POPCNT. */
export const CPUID1_ECX = (1 << 13) | (1 << 23);
/** 0x80000001 EDX: SYSCALL NX PDPE1GB RDTSCP LM. */
export const CPUIDX1_EDX = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29);
/** 0x80000001 ECX: LAHF/SAHF in 64-bit mode. No PerfCtrExtCore: there are no counters. */
export const CPUIDX1_ECX = 1 << 0;
/** Leaf 7 subleaf 0 EBX: TSC_ADJUST (MSR 0x3B, see msr.ts). */
export const CPUID7_EBX = 1 << 1;
/**
 * 0x80000007 EDX: invariant TSC. True here: the TSC follows the machine's virtual clock at a
 * fixed rate and keeps counting while halted. With TSC_ADJUST it lets Linux trust the TSC
 * without its clocksource watchdog, which would otherwise compare it against jiffies early
 * in boot, and jiffies lag whenever the host deschedules the emulator.
 */
export const CPUIDX7_EDX = 1 << 8;

function str4(s: string, i: number): number {
  return (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)) | 0;
}

const VENDOR = 'AuthenticAMD';
const BRAND = 'Hangar Virtual CPU (interpreter)'.padEnd(48, '\0');

/** Returns [eax, ebx, ecx, edx] for leaf/subleaf. */
export function cpuid(c: Cpu, leaf: number, sub: number): [number, number, number, number] {
  leaf >>>= 0;
  switch (leaf) {
    case 0: return [7, str4(VENDOR, 0), str4(VENDOR, 8), str4(VENDOR, 4)];
    case 1: return [0x00000663, (8 << 8) | (1 << 16), CPUID1_ECX, CPUID1_EDX];
    case 7: return (sub >>> 0) === 0 ? [0, CPUID7_EBX, 0, 0] : [0, 0, 0, 0];
    case 0x80000000: return [0x80000008 | 0, str4(VENDOR, 0), str4(VENDOR, 8), str4(VENDOR, 4)];
    case 0x80000001: return [0x00000663, 0, CPUIDX1_ECX, CPUIDX1_EDX];
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const o = (leaf - 0x80000002) * 16;
      return [str4(BRAND, o), str4(BRAND, o + 4), str4(BRAND, o + 8), str4(BRAND, o + 12)];
    }
    case 0x80000005: case 0x80000006: return [0, 0, 0, 0];
    case 0x80000007: return [0, 0, 0, CPUIDX7_EDX];
    case 0x80000008: return [0x3028, 0, 0, 0]; // 40 physical, 48 linear address bits
    default:
      // Leaves 2-6 (no leaf 0xA: no architectural perfmon) and unknown ones: nothing advertised.
      void c;
      return [0, 0, 0, 0];
  }
}
