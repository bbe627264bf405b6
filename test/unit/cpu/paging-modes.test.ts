// The legacy paging modes and the parts of paging every mode shares: classic 32-bit paging
// with 4 KiB and 4 MiB pages (CR4.PSE, PSE-36), PAE paging in 32-bit protected mode (2 MiB
// pages, frames above 4 GiB, NX with EFER.NXE), accessed and dirty bits on every level (and
// no dirty bit for a write that faults), U/S, R/W and CR0.WP combined across levels, the
// I/D bit of the error code, and global pages (CR4.PGE) against CR3 reloads, CR4 writes and
// INVLPG. Facts: Intel SDM vol. 3A ch. 4 (4.3, 4.4, 4.6, 4.7, 4.8, 4.10.4).
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine32, SEL_UCODE, SEL_UDATA, UCODE, USTACK, le, loadSeg } from './helpers/machine32.ts';
import { DATA as DATA64, KCODE as KCODE64, Machine64, PT as PT64 } from './helpers/machine64.ts';
import {
  A, CR4_PAE, CR4_PGE, CR4_PSE, D, G, INVLPG_EAX, NXE_ON, P, PAE_PD, PAE_PD1, PD, PDPT, PS, PT0, PT1,
  RELOAD_CR3, U, W, load, movEax, pagingOn, patternPage, pde32, pdePae, pte32, ptePae, store, tables32, tablesPae,
  toUser32,
} from './helpers/paging32.ts';

const MOV_EBX_EAX = [0x89, 0xc3];
const MOV_ECX_EAX = [0x89, 0xc1];
const MOV_ESI_EAX = [0x89, 0xc6];
const MOV_EDI_EAX = [0x89, 0xc7];
const JMP_EAX = [0xff, 0xe0];
const HLT = [0xf4];
const TO_USER = toUser32(UCODE, USTACK, SEL_UCODE, SEL_UDATA);
/** Ring-3 code starts with this: the IRET to ring 3 nulled DS (it held a DPL 0 selector). */
const USER_DS = loadSeg(3, SEL_UDATA);

describe('32-bit paging (CR4.PAE = 0)', () => {
  it('translates through a directory and a table once MOV CR0 sets PG; an absent PTE is #PF with CR2', () => {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0x400000), PT1 | P | W | U);
    m.bus.write32(pte32(PT1, 0x400000), DATA | P | W | U);
    m.bus.write32(DATA + 0x10, 0xcafe1234);
    const on = pagingOn(PD, 0);
    const first = load(0x400010);
    const second = [...movEax(0x401004), 0x8b, 0x00];
    m.load(KCODE, [...on, ...first, ...MOV_EBX_EAX, ...second, ...HLT]);
    m.runToHalt();
    expect(m.cpu.cr0 >>> 31).toBe(1);
    expect(m.reg(3)).toBe(0xcafe1234);
    expect(m.stoppedVector()).toBe(14);
    expect(m.cpu.cr2).toBe(0x401004);
    expect(m.frame(0)).toBe(0); // not present, read, supervisor
    expect(m.frame(1)).toBe(KCODE + on.length + first.length + MOV_EBX_EAX.length + 5); // the MOV, not the next one
  });

  it('maps 4 MiB pages with CR4.PSE and sets A and D in the PDE itself', () => {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0x800000), PS | P | W | U); // linear 8-12 MiB -> physical 0-4 MiB
    m.bus.write32(DATA + 0x20, 0x600dd00d);
    m.load(KCODE, [...pagingOn(PD, CR4_PSE), ...load(0x800000 + DATA + 0x20), ...MOV_EBX_EAX,
      ...store(0x800000 + DATA + 0x24, 7), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(0x600dd00d);
    expect(m.bus.read32(DATA + 0x24)).toBe(7);
    expect(m.bus.read32(pde32(0x800000))).toBe(PS | P | W | U | A | D);
  });

  it('INVLPG of any address in a 4 MiB page drops every cached piece of it', () => {
    // Linear 8 MiB: a 4 MiB page at physical 0, then (mid-run, without a flush) at physical
    // 4 MiB, where pattern pages stand in for RAM.
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0x800000), PS | P | W);
    m.bus.write32(DATA, 0x0a0a0a0a);
    m.bus.write32(DATA + 0x1000, 0x0b0b0b0b);
    patternPage(m, 0x400000 + DATA);
    patternPage(m, 0x400000 + DATA + 0x1000);
    const a = 0x800000 + DATA, b = a + 0x1000;
    m.load(KCODE, [...pagingOn(PD, CR4_PSE), ...load(a), ...MOV_EBX_EAX, ...load(b), ...MOV_ECX_EAX, ...HLT,
      ...load(a), ...MOV_ESI_EAX, ...movEax(b), ...INVLPG_EAX, ...load(a), ...MOV_EDI_EAX, ...HLT]);
    m.runToHalt();
    expect([m.reg(3), m.reg(1)]).toEqual([0x0a0a0a0a, 0x0b0b0b0b]);
    m.bus.write32(pde32(0x800000), 0x400000 | PS | P | W);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(6)).toBe(0x0a0a0a0a); // still cached
    expect(m.reg(7)).toBe(0xa5000000); // INVLPG of the other 4 KiB piece dropped this one too
  });

  it('setting CR0.WP takes effect at once for a read-only page the kernel already wrote', () => {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0x400000), PT1 | P | W);
    m.bus.write32(pte32(PT1, 0x400000), DATA | P);
    const wpOn = [0x0f, 0x20, 0xc0, 0x0d, ...le(0x10000, 4), 0x0f, 0x22, 0xc0]; // mov eax, cr0; or eax, WP; mov cr0, eax
    const code = [...pagingOn(PD, 0, false), ...store(0x400000, 1), ...wpOn, ...store(0x400004, 2), ...HLT];
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.bus.read32(DATA)).toBe(1);
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(3);
    expect(m.frame(1)).toBe(KCODE + code.length - 1 - 6);
    expect(m.bus.read32(DATA + 4)).toBe(0);
  });

  it('ignores the PS bit without CR4.PSE: the PDE then names a page table', () => {
    // PDE 2 = frame 0 with PS. As a table, physical 0 holds PTE 0x10 for linear 0x810000.
    const build = (cr4: number): Machine32 => {
      const m = new Machine32();
      tables32(m);
      m.bus.write32(pde32(0x800000), PS | P | W | U);
      m.bus.write32(0x10 * 4, (DATA + 0x1000) | P | W | U);
      m.bus.write32(DATA + 0x1000, 0x11112222);
      m.load(KCODE, [...pagingOn(PD, cr4), ...load(0x810000), ...HLT]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(-1);
      return m;
    };
    const small = build(0);
    expect(small.reg(0)).toBe(0x11112222);
    expect(small.bus.read32(0x10 * 4)).toBe((DATA + 0x1000) | P | W | U | A);
    const large = build(CR4_PSE);
    expect(large.reg(0)).toBe(large.bus.read32(0x10000)); // linear 0x810000 -> physical 0x10000
  });

  it('takes physical address bits 32-39 of a 4 MiB page from PDE bits 13-20 (PSE-36)', () => {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0xc00000), (1 << 13) | PS | P | W); // 4 MiB page at 4 GiB
    patternPage(m, 2 ** 32 + 0x3000);
    m.load(KCODE, [...pagingOn(PD, CR4_PSE), ...load(0xc03010), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(0)).toBe(0xa5000010);
  });
});

/** One test page at linear 0x400000 (physical DATA) under its own directory entry, for both
 * legacy modes: `pde` and `pte` are the flag bits of the two entries. */
interface Mode {
  name: string;
  cr3: number;
  cr4: number;
  map(m: Machine32, pde: number, pte: number, hi?: number): void;
  pde(m: Machine32): number;
  pte(m: Machine32): number;
}
const TEST = 0x400000;
const MODES: Mode[] = [
  {
    name: '32-bit',
    cr3: PD,
    cr4: 0,
    map(m, pde, pte) {
      tables32(m);
      m.bus.write32(pde32(TEST), PT1 | pde);
      m.bus.write32(pte32(PT1, TEST), DATA | pte);
    },
    pde: (m) => m.bus.read32(pde32(TEST)),
    pte: (m) => m.bus.read32(pte32(PT1, TEST)),
  },
  {
    name: 'PAE',
    cr3: PDPT,
    cr4: CR4_PAE,
    map(m, pde, pte, hi = 0) {
      tablesPae(m);
      m.bus.write32(pdePae(TEST), PT1 | pde);
      m.bus.write32(PT1, DATA | pte);
      m.bus.write32(PT1 + 4, hi);
    },
    pde: (m) => m.bus.read32(pdePae(TEST)),
    pte: (m) => m.bus.read32(PT1),
  },
];

describe.each(MODES)('$name paging: permissions and accessed/dirty bits', (mode) => {
  it('a read sets A in the PDE and PTE but not D; a later write sets D in the PTE only', () => {
    const m = new Machine32();
    mode.map(m, P | W | U, P | W | U);
    m.load(KCODE, [...pagingOn(mode.cr3, mode.cr4), ...load(TEST + 8), ...HLT, ...store(TEST + 12, 0x99), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(mode.pde(m)).toBe(PT1 | P | W | U | A);
    expect(mode.pte(m)).toBe(DATA | P | W | U | A);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.bus.read32(DATA + 12)).toBe(0x99);
    expect(mode.pte(m)).toBe(DATA | P | W | U | A | D);
    expect(mode.pde(m)).toBe(PT1 | P | W | U | A); // a directory entry for a table has no dirty bit
  });

  it('a user access needs U/S at both levels: a supervisor directory over a user PTE is #PF(P|U)', () => {
    const m = new Machine32();
    mode.map(m, P | W, P | W | U);
    m.load(KCODE, [...pagingOn(mode.cr3, mode.cr4), ...TO_USER]);
    m.load(UCODE, [...USER_DS, ...load(TEST + 4)]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(5);
    expect(m.cpu.cr2).toBe(TEST + 4);
    expect(m.frame(1)).toBe(UCODE + USER_DS.length + 5);
  });

  it('a user write needs R/W at both levels, and the faulting write leaves D clear', () => {
    const m = new Machine32();
    mode.map(m, P | U, P | W | U); // read-only directory entry
    m.load(KCODE, [...pagingOn(mode.cr3, mode.cr4), ...TO_USER]);
    m.load(UCODE, [...USER_DS, ...load(TEST), ...store(TEST, 1)]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(7); // present, write, user
    expect(m.frame(1)).toBe(UCODE + USER_DS.length + 7 + 5);
    expect(mode.pte(m) & D).toBe(0);
    expect(mode.pte(m) & A).toBe(A); // the read before it did set A
    expect(m.bus.read32(DATA)).toBe(0);
  });

  it('a supervisor write to a read-only page succeeds without CR0.WP and is #PF(P|W) with it', () => {
    const off = new Machine32();
    mode.map(off, P | W | U, P | U);
    off.load(KCODE, [...pagingOn(mode.cr3, mode.cr4, false), ...store(TEST, 0x5a), ...HLT]);
    off.runToHalt();
    expect(off.stoppedVector()).toBe(-1);
    expect(off.bus.read32(DATA)).toBe(0x5a);
    expect(mode.pte(off)).toBe(DATA | P | U | A | D);

    const on = new Machine32();
    mode.map(on, P | W | U, P | U);
    const code = [...pagingOn(mode.cr3, mode.cr4, true), ...store(TEST, 0x5a), ...HLT];
    on.load(KCODE, code);
    on.runToHalt();
    expect(on.stoppedVector()).toBe(14);
    expect(on.frame(0)).toBe(3);
    expect(on.frame(1)).toBe(KCODE + code.length - 1 - 6);
    expect(mode.pte(on) & D).toBe(0);
    expect(on.bus.read32(DATA)).toBe(0);
  });
});

describe('PAE paging in 32-bit protected mode', () => {
  it('maps 2 MiB pages (A and D in the PDE) and leaves the PDPTEs alone', () => {
    const m = new Machine32();
    tablesPae(m);
    m.bus.write32(PDPT + 8, PAE_PD1 | P); // linear 1-2 GiB
    m.bus.write32(PAE_PD1, PS | P | W | U); // linear 1 GiB -> physical 0, 2 MiB
    m.bus.write32(DATA + 0x30, 0x7e57da7a);
    m.load(KCODE, [...pagingOn(PDPT, CR4_PAE), ...load(0x40000000 + DATA + 0x30), ...MOV_EBX_EAX,
      ...store(0x40000000 + DATA + 0x34, 0x44), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(0x7e57da7a);
    expect(m.bus.read32(DATA + 0x34)).toBe(0x44);
    expect(m.bus.read32(PAE_PD1)).toBe(PS | P | W | U | A | D);
    expect(m.bus.read32(PDPT)).toBe(PAE_PD | P);
    expect(m.bus.read32(PDPT + 8)).toBe(PAE_PD1 | P);
  });

  it('reaches frames above 4 GiB through the high dword of a PTE', () => {
    const m = new Machine32();
    tablesPae(m);
    m.bus.write32(ptePae(0x1f0000), 0x5000 | P | W);
    m.bus.write32(ptePae(0x1f0000) + 4, 1); // physical 4 GiB + 0x5000
    patternPage(m, 2 ** 32 + 0x5000);
    m.load(KCODE, [...pagingOn(PDPT, CR4_PAE), ...load(0x1f0008), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(0)).toBe(0xa5000008);
  });

  /** PDPTE 1 -> PAE_PD1; PDE 0 of it a 2 MiB page at physical 0; PDE 1 a table with one PTE
   * for linear 0x40200000 -> physical 0x50000. `nx2m` / `nxPde` set bit 63 on those PDEs. */
  function nxMachine(o: { nx2m?: boolean; nxPde?: boolean; nxe?: boolean }): Machine32 {
    const m = new Machine32();
    tablesPae(m);
    const table = 0x107000;
    m.bus.write32(PDPT + 8, PAE_PD1 | P);
    m.bus.write32(PAE_PD1, PS | P | W);
    m.bus.write32(PAE_PD1 + 4, o.nx2m ? 0x80000000 : 0);
    m.bus.write32(PAE_PD1 + 8, table | P | W);
    m.bus.write32(PAE_PD1 + 12, o.nxPde ? 0x80000000 : 0);
    m.bus.write32(table, 0x50000 | P | W);
    m.load(0x50000, [...movEax(0x77), ...HLT]);
    return m;
  }

  it('with EFER.NXE, fetches from an NX 2 MiB page are #PF(P|I/D); reads from it are not', () => {
    const code = [...NXE_ON, ...pagingOn(PDPT, CR4_PAE), ...load(0x40050000), ...MOV_EBX_EAX, ...movEax(0x40050000), ...JMP_EAX];
    const nx = nxMachine({ nx2m: true });
    nx.load(KCODE, code);
    nx.runToHalt();
    expect(nx.cpu.efer & 0x800).toBe(0x800);
    expect(nx.reg(3)).toBe(nx.bus.read32(0x50000)); // the read went through
    expect(nx.stoppedVector()).toBe(14);
    expect(nx.frame(0)).toBe(0x11);
    expect(nx.cpu.cr2).toBe(0x40050000);
    expect(nx.frame(1)).toBe(0x40050000);

    const x = nxMachine({});
    x.load(KCODE, code);
    x.runToHalt();
    expect(x.stoppedVector()).toBe(-1);
    expect(x.reg(0)).toBe(0x77); // executed there
  });

  it('NX in a directory entry forbids fetches from the 4 KiB pages below it', () => {
    const code = [...NXE_ON, ...pagingOn(PDPT, CR4_PAE), ...movEax(0x40200000), ...JMP_EAX];
    const m = nxMachine({ nxPde: true });
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(0x11);
    expect(m.cpu.cr2).toBe(0x40200000);
  });

  it('reports I/D for a fetch from an absent page only with PAE and EFER.NXE', () => {
    // SDM 4.7: I/D is set for instruction fetches when CR4.PAE = 1 and EFER.NXE = 1 (or SMEP);
    // with 32-bit paging it is 0 even when NXE is set.
    const pae = new Machine32();
    tablesPae(pae);
    pae.bus.write32(ptePae(0x60000), 0);
    pae.load(KCODE, [...NXE_ON, ...pagingOn(PDPT, CR4_PAE), ...movEax(0x60000), ...JMP_EAX]);
    pae.runToHalt();
    expect(pae.stoppedVector()).toBe(14);
    expect(pae.frame(0)).toBe(0x10);

    const flat = new Machine32();
    tables32(flat);
    flat.bus.write32(pte32(PT0, 0x60000), 0);
    flat.load(KCODE, [...NXE_ON, ...pagingOn(PD, 0), ...movEax(0x60000), ...JMP_EAX]);
    flat.runToHalt();
    expect(flat.stoppedVector()).toBe(14);
    expect(flat.cpu.cr2).toBe(0x60000);
    expect(flat.frame(0)).toBe(0);
  });
});

describe('4-level paging: accessed and dirty bits on every level', () => {
  const PML4 = 0x1000, PDPT4 = 0x2000, PD4 = 0x3000;
  const MOV_RAX = (v: number): number[] => [0x48, 0xb8, ...le(v, 8)];

  it('a read sets A in the PML4E, PDPTE, PDE and PTE; a write adds D to the PTE alone', () => {
    const m = new Machine64();
    m.load(KCODE64, [...MOV_RAX(DATA64 + 0x40), 0x8b, 0x18, 0xf4, 0xc7, 0x00, ...le(1, 4), 0xf4]); // mov ebx,[rax]; hlt; mov dword [rax],1
    m.runToHalt();
    const e = (a: number): number => m.bus.read32(a) & 0xfff;
    expect(e(PML4)).toBe(P | W | U | A);
    expect(e(PDPT4)).toBe(P | W | U | A);
    expect(e(PD4)).toBe(P | W | U | A);
    expect(e(PT64 + (DATA64 >>> 12) * 8)).toBe(P | W | A);
    m.cpu.halted = false;
    m.runToHalt();
    expect(e(PT64 + (DATA64 >>> 12) * 8)).toBe(P | W | A | D);
    expect(e(PD4)).toBe(P | W | U | A);
    expect(e(PDPT4)).toBe(P | W | U | A);
    expect(e(PML4)).toBe(P | W | U | A);
  });

  it('sets A and D in the PDPTE of a 1 GiB page and the PDE of a 2 MiB page', () => {
    const m = new Machine64();
    m.w64(PDPT4 + 8, BigInt(PS | P | W)); // linear 1 GiB -> physical 0
    m.w64(PD4 + 8, BigInt(0x200000 | PS | P | W)); // linear 2 MiB -> physical 2 MiB
    m.load(KCODE64, [
      ...MOV_RAX(0x40000000 + DATA64 + 0x50), 0xc7, 0x00, ...le(0x1234, 4), // mov dword [rax], imm
      ...MOV_RAX(0x200100), 0x8b, 0x18, 0xf4, // mov ebx, [rax]
    ]);
    m.bus.write32(0x200100, 0xabcdef01);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.bus.read32(DATA64 + 0x50)).toBe(0x1234);
    expect(m.reg(3)).toBe(0xabcdef01n);
    expect(m.bus.read32(PDPT4 + 8)).toBe(PS | P | W | A | D);
    expect(m.bus.read32(PD4 + 8)).toBe(0x200000 | PS | P | W | A);
  });
});

describe('4-level paging: permissions from the upper levels', () => {
  // A second chain under PML4 entry 1: linear 512 GiB -> PDPT 0x300000 -> PD 0x301000 ->
  // PT 0x302000 -> physical 0x50000. `flags` gives each level's flag bits, `nx` its bit 63.
  const HIGH = 0x8000000000;
  const MOV_RAX = (v: number): number[] => [0x48, 0xb8, ...le(v, 8)];
  function chain(m: Machine64, flags: [number, number, number, number], nx: [boolean, boolean, boolean, boolean]): void {
    const at = [0x1000 + 8, 0x300000, 0x301000, 0x302000];
    const next = [0x300000, 0x301000, 0x302000, 0x50000];
    for (let i = 0; i < 4; i++) m.w64(at[i]!, BigInt(next[i]! | flags[i]!) | (nx[i] ? 1n << 63n : 0n));
    m.load(0x50000, [0xb8, ...le(0x77, 4), 0xf4]); // mov eax, 0x77; hlt
  }
  const LTR_USER = [
    0x66, 0xb8, ...le(0x30, 2), 0x0f, 0x00, 0xd8, // ltr
    0x6a, 0x23, 0x68, ...le(0x90000, 4), 0x68, ...le(0x202, 4), 0x6a, 0x2b, 0x68, ...le(0x20000, 4), 0x48, 0xcf, // iretq to ring 3
  ];

  it('NX in the PML4 entry forbids fetches from every page below it; reads still work', () => {
    const all = P | W | U;
    const nx = new Machine64();
    chain(nx, [all, all, all, all], [true, false, false, false]);
    nx.load(KCODE64, [...MOV_RAX(HIGH), 0x8b, 0x18, 0xff, 0xe0]); // mov ebx, [rax]; jmp rax
    nx.runToHalt();
    expect(nx.reg(3)).toBe(0x77b8n); // the read went through
    expect(nx.stoppedVector()).toBe(14);
    expect(nx.frame(0)).toBe(0x11n);
    expect(nx.cpu.cr2).toBe(HIGH);

    const x = new Machine64();
    chain(x, [all, all, all, all], [false, false, false, false]);
    x.load(KCODE64, [...MOV_RAX(HIGH), 0xff, 0xe0]);
    x.runToHalt();
    expect(x.stoppedVector()).toBe(-1);
    expect(x.reg(0)).toBe(0x77n);
  });

  it('U/S clear in the PDPTE makes the pages below supervisor-only; R/W clear in the PDE read-only', () => {
    const user = new Machine64();
    chain(user, [P | W | U, P | W, P | W | U, P | W | U], [false, false, false, false]);
    user.load(KCODE64, LTR_USER);
    user.load(0x20000, [...MOV_RAX(HIGH + 8), 0x8b, 0x18]); // user read
    user.runToHalt();
    expect(user.stoppedVector()).toBe(14);
    expect(user.frame(0)).toBe(5n);
    expect(user.cpu.cr2).toBe(HIGH + 8);

    const ro = new Machine64();
    chain(ro, [P | W | U, P | W | U, P | U, P | W | U], [false, false, false, false]);
    ro.load(KCODE64, LTR_USER);
    ro.load(0x20000, [...MOV_RAX(HIGH + 8), 0x8b, 0x18, 0x89, 0x18]); // user read, then write
    ro.runToHalt();
    expect(ro.reg(3)).toBe(BigInt(ro.bus.read32(0x50008)));
    expect(ro.stoppedVector()).toBe(14);
    expect(ro.frame(0)).toBe(7n);
    expect(ro.frame(1)).toBe(BigInt(0x20000 + 12));
    expect(ro.r64(0x302000) & BigInt(D)).toBe(0n);

    const sup = new Machine64(); // CR0.WP is set in this machine
    chain(sup, [P | W | U, P | W | U, P | U, P | W | U], [false, false, false, false]);
    sup.load(KCODE64, [...MOV_RAX(HIGH + 8), 0x89, 0x18, 0xf4]);
    sup.runToHalt();
    expect(sup.stoppedVector()).toBe(14);
    expect(sup.frame(0)).toBe(3n);
  });
});

describe('reserved bits: #PF with P and RSVD', () => {
  // Linear 512 GiB through PML4E 1 -> 0x300000 -> 0x301000 -> 0x302000 -> physical 0x50000;
  // `edit` changes one level's entry (0 = PML4E ... 3 = PTE) before the access.
  const HIGH = 0x8000000000;
  const AT = [0x1000 + 8, 0x300000, 0x301000, 0x302000];
  const NEXT = [0x300000, 0x301000, 0x302000, 0x50000];
  const MOV_RAX = (v: number): number[] => [0x48, 0xb8, ...le(v, 8)];
  function access(edit: (e: bigint[]) => void, code: number[], setup?: (m: Machine64) => void): Machine64 {
    const m = new Machine64();
    const e = NEXT.map((n) => BigInt(n | P | W | U));
    edit(e);
    e.forEach((v, i) => m.w64(AT[i]!, v));
    setup?.(m);
    m.load(KCODE64, [...MOV_RAX(HIGH + 0x10), ...code, 0xf4]);
    m.runToHalt();
    return m;
  }
  const READ = [0x8b, 0x18]; // mov ebx, [rax]
  const WRITE = [0x89, 0x18]; // mov [rax], ebx
  const JMP = [0xff, 0xe0]; // jmp rax

  it.each([
    ['a physical address bit above MAXPHYADDR (40) in the PTE', 3, 1n << 40n],
    ['bit 51 in the PDE', 2, 1n << 51n],
    ['PS in the PML4E', 0, 0x80n],
    ['bit 13 in a 2 MiB PDE', 2, 0x80n | 0x2000n],
    ['bit 29 in a 1 GiB PDPTE', 1, 0x80n | 0x20000000n],
  ] as const)('4-level: %s', (_name, level, bits) => {
    const m = access((e) => { e[level] = e[level]! | bits; }, READ);
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(9n); // P | RSVD, supervisor read
    expect(m.cpu.cr2).toBe(HIGH + 0x10);
  });

  it('4-level: the error code adds W, U and I/D as for any fault; bit 63 is reserved without EFER.NXE', () => {
    const w = access((e) => { e[3] = e[3]! | (1n << 45n); }, WRITE);
    expect(w.frame(0)).toBe(0xbn);
    const x = access((e) => { e[3] = e[3]! | (1n << 45n); }, JMP);
    expect(x.frame(0)).toBe(0x19n);
    const nx = access((e) => { e[3] = e[3]! | (1n << 63n); }, READ, (m) => { m.cpu.efer &= ~0x800; });
    expect(nx.stoppedVector()).toBe(14);
    expect(nx.frame(0)).toBe(9n);
  });

  it('4-level: bits 62:52 are ignored, PAT (bit 12) is allowed in a 2 MiB page, and A is not set on a reserved entry', () => {
    const ok = access((e) => { e[3] = e[3]! | (0x7ffn << 52n); }, READ);
    expect(ok.stoppedVector()).toBe(-1);
    expect(ok.reg(3)).toBe(BigInt(ok.bus.read32(0x50010)));
    const pat = access((e) => { e[2] = BigInt(0x200000 | 0x1000 | 0x80 | P | W | U); }, READ);
    expect(pat.stoppedVector()).toBe(-1);
    expect(pat.reg(3)).toBe(BigInt(pat.bus.read32(0x200010)));
    const bad = access((e) => { e[3] = e[3]! | (1n << 40n); }, READ);
    expect(bad.r64(AT[3]!) & BigInt(A)).toBe(0n);
    expect(bad.r64(AT[2]!) & BigInt(A)).toBe(BigInt(A)); // the levels above were used
  });

  it('PAE: bit 52 of a PTE is reserved (unlike 4-level paging)', () => {
    const m = new Machine32();
    tablesPae(m);
    m.bus.write32(ptePae(0x60000) + 4, 1 << 20);
    m.load(KCODE, [...pagingOn(PDPT, CR4_PAE), ...load(0x60004), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(9);
    expect(m.cpu.cr2).toBe(0x60004);
  });

  it('32-bit paging: bit 21 of a 4 MiB PDE is reserved (bits 20:13 are PSE-36 address bits)', () => {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(0x800000), 0x200000 | PS | P | W);
    m.load(KCODE, [...pagingOn(PD, CR4_PSE), ...store(0x800010, 1), ...HLT]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(0xb);
    expect(m.cpu.cr2).toBe(0x800010);
  });
});

describe('global pages (CR4.PGE)', () => {
  // Linear 0x400000 -> 0x41000 is global, 0x401000 -> 0x43000 is not. Mid-run the test points
  // them at 0x42000 and 0x44000, which hold other values.
  const X = 0x400000, Y = 0x401000;
  function globalMachine(cr4: number): Machine32 {
    const m = new Machine32();
    tables32(m);
    m.bus.write32(pde32(X), PT1 | P | W);
    m.bus.write32(pte32(PT1, X), 0x41000 | P | W | G);
    m.bus.write32(pte32(PT1, Y), 0x43000 | P | W);
    for (const [a, v] of [[0x41000, 0x1111], [0x42000, 0x2222], [0x43000, 0x3333], [0x44000, 0x4444]] as const) m.bus.write32(a, v);
    m.load(KCODE, [...pagingOn(PD, cr4), ...load(X), ...MOV_EBX_EAX, ...load(Y), ...MOV_ECX_EAX, ...HLT,
      ...RELOAD_CR3, ...load(X), ...MOV_ESI_EAX, ...load(Y), ...MOV_EDI_EAX, ...HLT]);
    m.runToHalt();
    expect([m.reg(3), m.reg(1)]).toEqual([0x1111, 0x3333]);
    m.bus.write32(pte32(PT1, X), 0x42000 | P | W | G);
    m.bus.write32(pte32(PT1, Y), 0x44000 | P | W);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    return m;
  }

  it('a CR3 reload keeps global translations and drops the others', () => {
    const m = globalMachine(CR4_PGE);
    expect(m.reg(6)).toBe(0x1111); // still the old global translation
    expect(m.reg(7)).toBe(0x4444);
  });

  it('without CR4.PGE the G bit means nothing: a CR3 reload drops every translation', () => {
    const m = globalMachine(0);
    expect(m.reg(6)).toBe(0x2222);
    expect(m.reg(7)).toBe(0x4444);
  });

  it('INVLPG drops a global translation', () => {
    const m = globalMachine(CR4_PGE);
    m.load(m.cpu.rip, [...movEax(X), ...INVLPG_EAX, ...load(X), ...HLT]);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.reg(0)).toBe(0x2222);
  });

  it('clearing and setting CR4.PGE drops global translations', () => {
    const m = globalMachine(CR4_PGE);
    m.load(m.cpu.rip, [
      0x0f, 0x20, 0xe0, 0x25, ...le(~CR4_PGE, 4), 0x0f, 0x22, 0xe0, // mov eax, cr4; and eax, ~PGE; mov cr4, eax
      0x0d, ...le(CR4_PGE, 4), 0x0f, 0x22, 0xe0, // or eax, PGE; mov cr4, eax
      ...load(X), ...HLT,
    ]);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.cpu.cr4 & CR4_PGE).toBe(CR4_PGE);
    expect(m.reg(0)).toBe(0x2222);
  });

  it('4-level paging: a CR3 reload keeps a global PTE, INVLPG drops it', () => {
    const m = new Machine64(); // its CR4 has PGE
    const Xl = 0x60000, Yl = 0x61000;
    m.w64(PT64 + (Xl >>> 12) * 8, BigInt(0x41000 | P | W | G));
    m.w64(PT64 + (Yl >>> 12) * 8, BigInt(0x43000 | P | W));
    for (const [a, v] of [[0x41000, 0x1111], [0x42000, 0x2222], [0x43000, 0x3333], [0x44000, 0x4444]] as const) m.bus.write32(a, v);
    // The 32-bit encodings mean the same in 64-bit mode (mov eax, imm zero-extends RAX).
    m.load(KCODE64, [...load(Xl), ...MOV_EBX_EAX, ...load(Yl), ...MOV_ECX_EAX, ...HLT,
      ...RELOAD_CR3, ...load(Xl), ...MOV_ESI_EAX, ...load(Yl), ...MOV_EDI_EAX, ...HLT,
      ...movEax(Xl), ...INVLPG_EAX, ...load(Xl), ...HLT]);
    m.runToHalt();
    m.w64(PT64 + (Xl >>> 12) * 8, BigInt(0x42000 | P | W | G));
    m.w64(PT64 + (Yl >>> 12) * 8, BigInt(0x44000 | P | W));
    m.cpu.halted = false;
    m.runToHalt();
    expect([m.reg(6), m.reg(7)]).toEqual([0x1111n, 0x4444n]);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(0)).toBe(0x2222n);
  });
});

describe('paging mode checks', () => {
  it('MOV CR0 setting PG with EFER.LME but without CR4.PAE is #GP(0)', () => {
    const m = new Machine32();
    tables32(m);
    const lme = [0xb9, ...le(0xc0000080, 4), 0x0f, 0x32, 0x0d, ...le(0x100, 4), 0x0f, 0x30];
    const code = [...lme, ...pagingOn(PD, 0), ...HLT];
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0);
    expect(m.frame(1)).toBe(KCODE + code.length - 1 - 3); // the MOV CR0
    expect(m.cpu.cr0 >>> 31).toBe(0);
    expect(m.cpu.efer & 0x400).toBe(0); // LMA stays clear
  });

  it('MOV CR4 clearing PAE in long mode is #GP(0)', () => {
    const m = new Machine64();
    const code = [0x0f, 0x20, 0xe0, 0x83, 0xe0, 0xdf, 0x0f, 0x22, 0xe0, 0xf4]; // mov rax, cr4; and eax, ~0x20; mov cr4, rax
    m.load(KCODE64, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 6));
    expect(m.cpu.cr4 & CR4_PAE).toBe(CR4_PAE);
  });
});
