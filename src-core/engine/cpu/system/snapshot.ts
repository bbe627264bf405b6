// Whole-CPU state as a structured-cloneable value (typed arrays copied, numbers as is).
import type { Cpu } from '../cpu.ts';
import type { DeviceState } from '../../device.ts';
import { pdpteRegs, pdptesFromMemoryLater } from '../paging.ts';

const SCALARS = [
  'rip', 'flags', 'flOp', 'flSize', 'flRes', 'flResH', 'flA', 'flAH', 'flB', 'flBH', 'flCf',
  'gdtBase', 'gdtLimit', 'idtBase', 'idtLimit', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'xcr0',
  'star', 'starHi', 'lstar', 'cstar', 'fmask', 'kernelGsBase', 'sysenterCs', 'sysenterEsp', 'sysenterEip',
  'patLo', 'patHi', 'apicBase', 'miscEnable', 'tscAux', 'tscOffset', 'mxcsr', 'halted', 'nmiPending',
  'nmiBlocked', 'inhibit', 'instructionCount',
] as const;
const ARRAYS = ['rl', 'rh', 'sSel', 'sBase', 'sLimit', 'sAttr', 'dr', 'xmm'] as const;

/*
 * Version 2 adds `pdptes` (the PAE PDPTE registers, lo/hi pairs: paging.ts). A version 1
 * state has none: they are read from the table at CR3 when PAE paging is on, which is what
 * that version's walks used.
 */
export function saveCpuState(c: Cpu): DeviceState {
  const st: DeviceState = { version: 2 };
  const rec = c as unknown as Record<string, unknown>;
  for (const k of SCALARS) st[k] = rec[k];
  for (const k of ARRAYS) st[k] = (rec[k] as Int32Array | Float64Array).slice();
  st.msrs = [...c.msrStore.entries()].map(([m, [lo, hi]]) => [m, lo, hi]);
  st.fpu = c.fpu.save();
  st.pdptes = pdpteRegs(c).slice();
  return st;
}

export function loadCpuState(c: Cpu, st: DeviceState): void {
  if (st.version !== 1 && st.version !== 2) throw new Error(`CPU state: unsupported version ${String(st.version)}`);
  const pd = st.pdptes;
  if (st.version === 2 && !(pd instanceof Int32Array && pd.length === 8)) {
    throw new Error('CPU state: array pdptes is missing or has the wrong length');
  }
  const rec = c as unknown as Record<string, unknown>;
  for (const k of SCALARS) {
    const v = st[k];
    if (typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`CPU state: field ${k} is missing or not a number`);
    rec[k] = v;
  }
  for (const k of ARRAYS) {
    const src = st[k];
    const dst = rec[k] as Int32Array | Float64Array;
    if (!(src instanceof Int32Array || src instanceof Float64Array) || src.length !== dst.length) {
      throw new Error(`CPU state: array ${k} is missing or has the wrong length`);
    }
    dst.set(src);
  }
  c.msrStore.clear();
  for (const e of (st.msrs as [number, number, number][] | undefined) ?? []) c.msrStore.set(e[0], [e[1], e[2]]);
  c.fpu.load(st.fpu as DeviceState);
  if (pd instanceof Int32Array) pdpteRegs(c).set(pd);
  else { pdpteRegs(c).fill(0); pdptesFromMemoryLater(c); }
  c.intCheck = true;
  c.tlbFlushAll();
  c.icache.fill(undefined);
  c.updateMode();
}
