// Model-specific registers a kernel touches. Unknown MSRs raise #GP, as on hardware, which
// Linux's rdmsr_safe/wrmsr_safe paths expect.
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

/** Plain-storage MSRs (readable back as written): MTRRs, MISC, microcode, perf selectors... */
function isStored(m: number): boolean {
  return (m >= 0x200 && m <= 0x21f) || (m >= 0x250 && m <= 0x26f) || m === 0x2ff || m === 0xfe || m === 0x8b ||
    m === 0x79 || (m >= 0xc0010000 && m <= 0xc0010007) || m === 0xc0010015 || m === 0xc001001f || m === 0x17 || m === 0x3a;
}

export function readMsr(c: Cpu, m: number): [number, number] {
  m >>>= 0;
  switch (m) {
    case 0x10: return split(c.tscSource() + c.tscOffset);
    case 0x1b: return [c.apicBase | 0, 0];
    case 0x174: return [c.sysenterCs, 0];
    case 0x175: return split(c.sysenterEsp);
    case 0x176: return split(c.sysenterEip);
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
    case 0xfe: return [0, 0]; // MTRRcap: no variable ranges, no fixed ranges
    default:
      if (isStored(m)) return c.msrStore.get(m) ?? [0, 0];
      return c.fault(EX_GP, 0);
  }
}

export function writeMsr(c: Cpu, m: number, lo: number, hi: number): void {
  m >>>= 0;
  switch (m) {
    case 0x10: c.tscOffset = (hi | 0) * TWO32 + (lo >>> 0) - c.tscSource(); return;
    case 0x1b: c.apicBase = (lo & 0xfffff900) | 0; return;
    case 0x174: c.sysenterCs = lo & 0xffff; return;
    case 0x175: c.sysenterEsp = canonical(c, lo, hi); return;
    case 0x176: c.sysenterEip = canonical(c, lo, hi); return;
    case 0x1a0: c.miscEnable = lo; return;
    case 0x277: c.patLo = lo; c.patHi = hi; return;
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
