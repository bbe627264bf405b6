// The PAE PDPTE registers (SDM 4.4.1): the four PDPTEs are read when MOV CR3 runs under PAE
// paging and when a MOV to CR0/CR4 turns PAE paging on, and walks use those copies (a later
// write to the table has no effect until CR3 is loaded again). A present PDPTE with a reserved
// bit (2:1, 8:5, 63:40) makes that MOV #GP(0) with nothing changed. The registers go through
// a CPU snapshot; a version 1 snapshot (none saved) reads them from the table at CR3.
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine32 } from './helpers/machine32.ts';
import { CR4_PAE, P, PAE_PD, PAE_PD1, PDPT, PS, RELOAD_CR3, W, load, movEax, pagingOn, store, tablesPae } from './helpers/paging32.ts';
import { loadCpuState, saveCpuState } from '../../../src-core/engine/cpu/system/snapshot.ts';
import { pdpteRegs } from '../../../src-core/engine/cpu/paging.ts';

const HLT = [0xf4];
const MOV_EBX_EAX = [0x89, 0xc3];
const HIGH = 0x40000000; // linear 1 GiB: PDPTE 1
const PAGING = pagingOn(PDPT, CR4_PAE);

/** PDPTE 1 -> PAE_PD1, whose PDE 0 maps a 2 MiB page at physical 0 (not written yet). */
function highTables(m: Machine32): void {
  tablesPae(m);
  m.bus.write32(PAE_PD1, PS | P | W);
  m.bus.write32(DATA + 0x30, 0x7e57da7a);
}

describe('PAE PDPTE registers', () => {
  it('a PDPTE written after MOV CR3 is not used until CR3 is reloaded', () => {
    const stale = new Machine32();
    highTables(stale);
    stale.load(KCODE, [...PAGING, ...store(PDPT + 8, PAE_PD1 | P), ...load(HIGH + DATA + 0x30), ...HLT]);
    stale.runToHalt();
    expect(stale.stoppedVector()).toBe(14); // the loaded PDPTE 1 is still not present
    expect(stale.frame(0)).toBe(0); // error code: not present, read, supervisor
    expect(stale.cpu.cr2).toBe(HIGH + DATA + 0x30);

    const reloaded = new Machine32();
    highTables(reloaded);
    reloaded.load(KCODE, [...PAGING, ...store(PDPT + 8, PAE_PD1 | P), ...RELOAD_CR3, ...load(HIGH + DATA + 0x30), ...MOV_EBX_EAX, ...HLT]);
    reloaded.runToHalt();
    expect(reloaded.stoppedVector()).toBe(-1);
    expect(reloaded.reg(3)).toBe(0x7e57da7a);
  });

  it('clearing a PDPTE in memory leaves its mapping in use (the copy is present)', () => {
    const m = new Machine32();
    highTables(m);
    m.bus.write32(PDPT + 8, PAE_PD1 | P);
    m.load(KCODE, [...PAGING, ...store(PDPT + 8, 0), ...load(HIGH + DATA + 0x30), ...MOV_EBX_EAX, ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(0x7e57da7a);
  });

  it.each([
    ['bit 1 (R/W)', 2, 0], ['bit 2 (U/S)', 4, 0], ['bit 5', 0x20, 0], ['bit 8', 0x100, 0],
    ['bit 40', 0, 0x100], ['bit 63 (no NX at this level)', 0, 0x80000000],
  ])('a present PDPTE with reserved %s makes MOV CR3 #GP(0), CR3 unchanged', (_name, lo, hi) => {
    const m = new Machine32();
    highTables(m);
    m.bus.write32(PDPT + 0x20, PAE_PD | P); // a second table: PDPTE 0 valid, PDPTE 1 as given
    m.bus.write32(PDPT + 0x28, PAE_PD1 | P | lo);
    m.bus.write32(PDPT + 0x2c, hi);
    const code = [...PAGING, ...movEax(PDPT + 0x20), 0x0f, 0x22, 0xd8, ...HLT];
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + PAGING.length + 5);
    expect(m.cpu.cr3).toBe(PDPT);
  });

  it('reserved bits in a PDPTE that is not present are ignored', () => {
    const m = new Machine32();
    highTables(m);
    m.bus.write32(PDPT + 0x10, 0x1e6); // PDPTE 2: not present, every low reserved bit set
    m.bus.write32(PDPT + 0x14, 0xffffffff);
    m.load(KCODE, [...PAGING, ...RELOAD_CR3, ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
  });

  it('MOV CR0 setting PG with PAE on checks the PDPTEs: #GP(0) and paging stays off', () => {
    const m = new Machine32();
    highTables(m);
    m.bus.write32(PDPT + 8, PAE_PD1 | P | W);
    m.load(KCODE, [...PAGING, ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + PAGING.length - 3); // the MOV CR0
    expect(m.cpu.cr0 & 0x80000000).toBe(0);
  });

  it('a MOV CR4 changing PGE under PAE paging reloads them from CR3', () => {
    const m = new Machine32();
    highTables(m);
    const pge = [...movEax(CR4_PAE | 0x80), 0x0f, 0x22, 0xe0]; // mov cr4, PAE|PGE
    m.load(KCODE, [...PAGING, ...store(PDPT + 8, PAE_PD1 | P), ...pge, ...load(HIGH + DATA + 0x30), ...MOV_EBX_EAX, ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(0x7e57da7a);
  });
});

describe('PAE PDPTE registers in CPU snapshots', () => {
  /** Paging on with PDPTE 1 absent, then PDPTE 1 written in memory (not loaded). */
  function staleMachine(): Machine32 {
    const m = new Machine32();
    highTables(m);
    m.load(KCODE, [...PAGING, ...store(PDPT + 8, PAE_PD1 | P), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    return m;
  }

  it('version 2 carries the loaded copies: the restored CPU still sees PDPTE 1 absent', () => {
    const m = staleMachine();
    const st = structuredClone(saveCpuState(m.cpu));
    expect(st.version).toBe(2);
    const n = new Machine32();
    n.bus.write32(PDPT, 0); // the restored CPU must not read the table again
    n.bus.write32(PDPT + 8, 0);
    loadCpuState(n.cpu, st);
    expect([...pdpteRegs(n.cpu)]).toEqual([PAE_PD | P, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a version 1 state (no PDPTEs) reads them from the table at CR3 on the next walk', () => {
    const m = staleMachine();
    const st = structuredClone(saveCpuState(m.cpu));
    st.version = 1;
    delete st.pdptes;
    loadCpuState(m.cpu, st);
    m.cpu.halted = false;
    m.load(m.cpu.rip, [...load(HIGH + DATA + 0x30), ...MOV_EBX_EAX, ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(0x7e57da7a);
  });

  it('a version 2 state without a valid pdptes array is refused with a clear error', () => {
    const m = staleMachine();
    const st = structuredClone(saveCpuState(m.cpu));
    st.pdptes = new Int32Array(3);
    expect(() => loadCpuState(new Machine32().cpu, st)).toThrow(/pdptes/);
  });
});
