// Comparison of native and emulated results: registers, RIP, defined flags, XMM, MXCSR
// (all of it when the case asks for exception flags), the x87 state (FCW, FSW less the
// bits the instruction leaves undefined, abridged tags, the eight 80-bit registers) and the
// data window. Returns human-readable differences.
import type { DiffCase, DiffResult } from './types.ts';
import { SIGBUS, SIGSEGV } from './types.ts';
import { approxLane } from './approx.ts';

const REGS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const ARITH = 0xcd5n;

function sigClass(s: number): number {
  return s === SIGBUS ? SIGSEGV : s;
}

export function compareResults(k: DiffCase, nat: DiffResult, emu: DiffResult): string[] {
  const d: string[] = [];
  if (sigClass(nat.signal) !== sigClass(emu.signal)) d.push(`signal native ${nat.signal} emulated ${emu.signal}`);
  // Compatibility mode sees EAX-EDI only; the upper halves are undefined after a mode switch.
  const m = k.compat ? 0xffffffffn : 0xffffffffffffffffn;
  if ((nat.rip & m) !== (emu.rip & m)) d.push(`rip native ${nat.rip.toString(16)} emulated ${emu.rip.toString(16)}`);
  for (let i = 0; i < (k.compat ? 8 : 16); i++) {
    if ((nat.gpr[i]! & m) !== (emu.gpr[i]! & m)) d.push(`${REGS[i]} native ${nat.gpr[i]!.toString(16)} emulated ${emu.gpr[i]!.toString(16)}`);
  }
  const mask = ARITH & ~BigInt(k.undefinedFlags);
  if ((nat.rflags & mask) !== (emu.rflags & mask)) {
    d.push(`flags native ${(nat.rflags & ARITH).toString(16)} emulated ${(emu.rflags & ARITH).toString(16)} (compared ${mask.toString(16)})`);
  }
  const mxMask = k.mxcsrFlags ? ~0 : ~0x3f;
  if ((nat.mxcsr & mxMask) !== (emu.mxcsr & mxMask)) d.push(`mxcsr native ${nat.mxcsr.toString(16)} emulated ${emu.mxcsr.toString(16)}`);
  const ap = k.approx;
  for (let i = 0; i < 256; i++) {
    if (ap && ap.src && i >> 4 === ap.dst && (i & 15) < ap.lanes * 4) {
      // An estimate lane: compared within the architectural bound (bit-equal when special).
      if ((i & 3) === 0) {
        const l = (i & 15) >> 2;
        const rd = (x: Uint8Array): number => new DataView(x.buffer, x.byteOffset).getUint32(i, true);
        const v = approxLane(ap.kind, ap.src[l]!, rd(nat.xmm), rd(emu.xmm));
        if (v !== 'same' && v !== 'close') d.push(`xmm${ap.dst} lane ${l}: ${v}`);
      }
      continue;
    }
    if (nat.xmm[i] !== emu.xmm[i]) {
      const r = i >> 4;
      const hex = (b: Uint8Array): string => [...b.subarray(r * 16, r * 16 + 16)].reverse().map((x) => x.toString(16).padStart(2, '0')).join('');
      d.push(`xmm${r} native ${hex(nat.xmm)} emulated ${hex(emu.xmm)}`);
      i = r * 16 + 15;
    }
  }
  d.push(...compareX87(k, nat, emu));
  for (let i = 0; i < nat.window.length; i++) {
    if (nat.window[i] !== emu.window[i] && !k.windowIgnore?.some(([a, b]) => i >= a && i < b)) {
      d.push(`memory at window+0x${i.toString(16)}: native ${nat.window[i]!.toString(16)} emulated ${emu.window[i]!.toString(16)}`);
      break;
    }
  }
  return d;
}

const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');

/** One 80-bit register as sign|exponent:significand hex. */
export function reg80(st: Uint8Array, i: number): string {
  const b = st.subarray(i * 10, i * 10 + 10);
  let sig = '';
  for (let j = 7; j >= 0; j--) sig += hex(b[j]!, 2);
  return `${hex(b[8]! | (b[9]! << 8), 4)}:${sig}`;
}

function compareX87(k: DiffCase, nat: DiffResult, emu: DiffResult): string[] {
  const d: string[] = [];
  const a = nat.x87, b = emu.x87;
  if (a.fcw !== b.fcw) d.push(`fcw native ${hex(a.fcw, 4)} emulated ${hex(b.fcw, 4)}`);
  const m = 0xffff & ~(k.fswUndefined ?? 0) & ~(k.x87Approx ? 0x200 : 0);
  if ((a.fsw & m) !== (b.fsw & m)) d.push(`fsw native ${hex(a.fsw, 4)} emulated ${hex(b.fsw, 4)}`);
  if (a.ftw !== b.ftw) d.push(`ftw native ${hex(a.ftw, 2)} emulated ${hex(b.ftw, 2)}`);
  for (let i = 0; i < 8; i++) {
    const x = reg80(a.st, i), y = reg80(b.st, i);
    if (x !== y && !(k.x87Approx && ulpApart(a.st, b.st, i))) d.push(`st${i} native ${x} emulated ${y}`);
  }
  return d;
}

/** Same sign and adjacent as 80-bit magnitudes (the transcendentals' documented error). */
export function ulpApart(a: Uint8Array, b: Uint8Array, i: number): boolean {
  const v = (s: Uint8Array): bigint => {
    let r = 0n;
    for (let j = 9; j >= 0; j--) r = (r << 8n) | BigInt(s[i * 10 + j]!);
    return r;
  };
  const x = v(a), y = v(b);
  const sign = 1n << 79n;
  if ((x & sign) !== (y & sign)) return false;
  const mx = x & (sign - 1n), my = y & (sign - 1n);
  if ((mx >> 64n) === 0x7fffn || (my >> 64n) === 0x7fffn) return false;
  // Across an exponent boundary the integer bit stays set: compare as value-ordered keys.
  const key = (m: bigint): bigint => ((m >> 64n) << 63n) | (m & ((1n << 63n) - 1n));
  const d = key(mx) - key(my);
  return d === 1n || d === -1n;
}

/** Estimate lanes that agree only within the bound (not bit-for-bit) in an agreeing case. */
export function approxBitDiffs(k: DiffCase, nat: DiffResult, emu: DiffResult): number {
  const ap = k.approx;
  if (!ap || !ap.src) return 0;
  let n = 0;
  const a = new DataView(nat.xmm.buffer, nat.xmm.byteOffset), b = new DataView(emu.xmm.buffer, emu.xmm.byteOffset);
  for (let l = 0; l < ap.lanes; l++) if (a.getUint32(ap.dst * 16 + l * 4, true) !== b.getUint32(ap.dst * 16 + l * 4, true)) n++;
  return n;
}
