// Comparison of native and emulated results: registers, RIP, defined flags, XMM, MXCSR
// control bits and the data window. Returns human-readable differences.
import type { DiffCase, DiffResult } from './types.ts';
import { SIGBUS, SIGSEGV } from './types.ts';

const REGS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const ARITH = 0xcd5n;

function sigClass(s: number): number {
  return s === SIGBUS ? SIGSEGV : s;
}

export function compareResults(k: DiffCase, nat: DiffResult, emu: DiffResult): string[] {
  const d: string[] = [];
  if (sigClass(nat.signal) !== sigClass(emu.signal)) d.push(`signal native ${nat.signal} emulated ${emu.signal}`);
  if (nat.rip !== emu.rip) d.push(`rip native ${nat.rip.toString(16)} emulated ${emu.rip.toString(16)}`);
  for (let i = 0; i < 16; i++) {
    if (nat.gpr[i] !== emu.gpr[i]) d.push(`${REGS[i]} native ${nat.gpr[i]!.toString(16)} emulated ${emu.gpr[i]!.toString(16)}`);
  }
  const mask = ARITH & ~BigInt(k.undefinedFlags);
  if ((nat.rflags & mask) !== (emu.rflags & mask)) {
    d.push(`flags native ${(nat.rflags & ARITH).toString(16)} emulated ${(emu.rflags & ARITH).toString(16)} (compared ${mask.toString(16)})`);
  }
  if ((nat.mxcsr & ~0x3f) !== (emu.mxcsr & ~0x3f)) d.push(`mxcsr native ${nat.mxcsr.toString(16)} emulated ${emu.mxcsr.toString(16)}`);
  for (let i = 0; i < 256; i++) {
    if (nat.xmm[i] !== emu.xmm[i]) {
      const r = i >> 4;
      const hex = (b: Uint8Array): string => [...b.subarray(r * 16, r * 16 + 16)].reverse().map((x) => x.toString(16).padStart(2, '0')).join('');
      d.push(`xmm${r} native ${hex(nat.xmm)} emulated ${hex(emu.xmm)}`);
      i = r * 16 + 15;
    }
  }
  for (let i = 0; i < nat.window.length; i++) {
    if (nat.window[i] !== emu.window[i]) {
      d.push(`memory at window+0x${i.toString(16)}: native ${nat.window[i]!.toString(16)} emulated ${emu.window[i]!.toString(16)}`);
      break;
    }
  }
  return d;
}
