// Model-specific registers a kernel touches. Every MSR this CPU does not implement raises #GP,
// as on hardware: Linux probes optional ones with rdmsr_safe/wrmsr_safe and takes the #GP as
// "absent". In particular there are no performance counters: the K7 counter MSRs
// (0xC0010000-7) and the family 15h ones (0xC0010200-B) fault, so the kernel's PMU probe
// (check_hw_exists) fails and it uses software events only, instead of arming an NMI-watchdog
// counter that RDPMC (also #GP here) could never read.
import type { Cpu } from '../cpu.ts';
import { EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, EX_GP, FS, GS, TWO32, CR0_PG } from '../constants.ts';

const CANON = 140737488355328;

function canonical(c: Cpu, lo: number, hi: number): number {
  const v = (hi | 0) * TWO32 + (lo >>> 0);
  if (v < -CANON || v >= CANON) c.fault(EX_GP, 0);
  return v;
}

function split(v: number): [number, number] {
  return [v % TWO32 | 0, Math.floor(v / TWO32) | 0];
}

/** IA32_TSC_ADJUST (CPUID 7.0:EBX[1]): kept in msrStore, so reset clears it and snapshots carry it. */
export const MSR_TSC_ADJUST = 0x3b;

/**
 * Plain-storage MSRs (read back as written; nothing in the CPU acts on them): the AMD patch
 * level (0x8B, reads 0: no microcode) and HWCR (0xC0010015). MTRRs are absent (CPUID has no
 * MTRR bit), and the Intel-only ones (platform ID, feature control, microcode trigger) fault
 * on this AMD-branded CPU.
 */
function isStored(m: number): boolean {
  return m === 0x8b || m === 0xc0010015;
}

/**
 * IA32_PAT holds eight one-byte memory types; only UC (0), WC (1), WT (4), WP (5), WB (6) and
 * UC- (7) exist, and writing any other value to an entry is #GP (SDM 11.12.2, APM 7.8.1).
 */
function validPat(lo: number, hi: number): boolean {
  for (const w of [lo, hi]) {
    for (let i = 0; i < 32; i += 8) {
      const t = (w >>> i) & 0xff;
      if (t === 2 || t === 3 || t > 7) return false;
    }
  }
  return true;
}

function tscAdjust(c: Cpu): number {
  const v = c.msrStore.get(MSR_TSC_ADJUST);
  return v ? (v[1] | 0) * TWO32 + (v[0] >>> 0) : 0;
}

function setTscAdjust(c: Cpu, v: number): void {
  c.msrStore.set(MSR_TSC_ADJUST, split(v));
}

export function readMsr(c: Cpu, m: number): [number, number] {
  m >>>= 0;
  switch (m) {
    case 0x10: return split(c.tscSource() + c.tscOffset);
    case MSR_TSC_ADJUST: return split(tscAdjust(c));
    case 0x1b: return split(c.apicBase);
    case 0x174: return [c.sysenterCs, 0];
    case 0x175: return [c.sysenterEsp | 0, 0];
    case 0x176: return [c.sysenterEip | 0, 0];
    case 0x1a0: return [c.miscEnable, 0];
    case 0x277: return [c.patLo, c.patHi];
    case 0xc0000080: return [c.efer, 0];
    case 0xc0000081: return [c.star, c.starHi];
    case 0xc0000082: return split(c.lstar);
    case 0xc0000083: return split(c.cstar);
    case 0xc0000084: return [c.fmask, 0];
    case 0xc0000100: return split(c.sBase[FS]!);
    case 0xc0000101: return split(c.sBase[GS]!);
    case 0xc0000102: return split(c.kernelGsBase);
    case 0xc0000103: return [c.tscAux, 0];
    default:
      if (isStored(m)) return c.msrStore.get(m) ?? [0, 0];
      return c.fault(EX_GP, 0);
  }
}

export function writeMsr(c: Cpu, m: number, lo: number, hi: number): void {
  m >>>= 0;
  switch (m) {
    case 0x10: {
      // Writing the TSC moves TSC_ADJUST by the same amount (SDM 17.17.3).
      const src = c.tscSource();
      const v = (hi | 0) * TWO32 + (lo >>> 0);
      setTscAdjust(c, tscAdjust(c) + v - (src + c.tscOffset));
      c.tscOffset = v - src;
      return;
    }
    case MSR_TSC_ADJUST: {
      // Writing TSC_ADJUST adds the difference to the TSC.
      const v = (hi | 0) * TWO32 + (lo >>> 0);
      c.tscOffset += v - tscAdjust(c);
      setTscAdjust(c, v);
      return;
    }
    case 0x1b:
      // Writable: BSP (8), AE (11) and the base, bits 39:12 (MAXPHYADDR 40; SDM 10.4.4,
      // APM 16.3.1). Every other bit is reserved and #GP rather than masked: 7:0, 9, 10
      // (x2APIC enable: x2APIC is not advertised) and 63:40.
      if ((lo & 0x6ff) || (hi & ~0xff)) c.fault(EX_GP, 0);
      c.apicBase = (hi & 0xff) * TWO32 + (lo >>> 0);
      return;
    case 0x174: c.sysenterCs = lo & 0xffff; return;
    // AMD keeps 32 bits of SYSENTER_ESP/EIP (SYSENTER is legacy-mode only there): the high
    // half of a write is dropped, not checked, and reads back as 0.
    case 0x175: c.sysenterEsp = lo >>> 0; return;
    case 0x176: c.sysenterEip = lo >>> 0; return;
    case 0x1a0: c.miscEnable = lo; return;
    case 0x277:
      if (!validPat(lo, hi)) c.fault(EX_GP, 0);
      c.patLo = lo; c.patHi = hi;
      return;
    case 0xc0000080: {
      const allowed = EFER_SCE | EFER_LME | EFER_NXE;
      if (lo & ~(allowed | EFER_LMA) || hi) c.fault(EX_GP, 0);
      // LME cannot change while paging is on.
      if ((c.cr0 & CR0_PG) && ((lo ^ c.efer) & EFER_LME)) c.fault(EX_GP, 0);
      c.efer = (lo & allowed) | (c.efer & EFER_LMA);
      c.tlbFlushAll();
      return;
    }
    case 0xc0000081: c.star = lo; c.starHi = hi; return;
    case 0xc0000082: c.lstar = canonical(c, lo, hi); return;
    case 0xc0000083: c.cstar = canonical(c, lo, hi); return;
    case 0xc0000084: c.fmask = lo; return;
    case 0xc0000100: c.sBase[FS] = canonical(c, lo, hi); return;
    case 0xc0000101: c.sBase[GS] = canonical(c, lo, hi); return;
    case 0xc0000102: c.kernelGsBase = canonical(c, lo, hi); return;
    case 0xc0000103: c.tscAux = lo; return;
    default:
      if (isStored(m)) { c.msrStore.set(m, [lo, hi]); return; }
      c.fault(EX_GP, 0);
  }
}
