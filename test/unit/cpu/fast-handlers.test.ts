// Edge cases of the interpreter's specialised 64-bit handlers (exec-pick.ts, exec-fast-*.ts)
// that the host-differential suite cannot reach because they fault or need page tables:
// effective addresses whose 64-bit register parts cancel (summed as doubles they would round),
// non-canonical addresses, and a read-modify-write whose store faults (the flags must stay
// as they were, since the instruction did not complete; the general switch's read-modify-
// writes are held to the same rule).
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

const movRax = (v: bigint): number[] => [0x48, 0xb8, ...le(v, 8)];
const movRbx = (v: bigint): number[] => [0x48, 0xbb, ...le(v, 8)];
const CF = 1n, PF = 4n, AF = 0x10n, ZF = 0x40n, SF = 0x80n, OF = 0x800n;

function interpreted(): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = 0; // these cases are about the interpreter's handlers
  return m;
}

describe('64-bit effective addresses', () => {
  it('are exact when a huge base and a negative index cancel (loads, stores, LEA)', () => {
    const m = interpreted();
    m.load(DATA, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    // rax = 2^62 + DATA + 1 is not a double; rbx = -2^62. [rax + rbx] is DATA + 1.
    m.load(KCODE, [
      ...movRax(0x4000000000000000n + BigInt(DATA + 1)), ...movRbx(-0x4000000000000000n),
      0x8b, 0x0c, 0x18, // mov ecx, [rax + rbx]
      0x48, 0x8d, 0x14, 0x18, // lea rdx, [rax + rbx]
      0x48, 0x8b, 0x74, 0x18, 0x01, // mov rsi, [rax + rbx + 1]
      0xc6, 0x44, 0x18, 0x08, 0xab, // mov byte [rax + rbx + 8], 0xab
      0xf4,
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(1)).toBe(0x55443322n);
    expect(m.reg(2)).toBe(BigInt(DATA + 1));
    expect(m.reg(6)).toBe(0x0099887766554433n); // DATA + 2 .. DATA + 9 (the byte store comes after)
    expect(m.bus.read8(DATA + 9)).toBe(0xab);
  });

  it('LEA wraps modulo 2^64 without faulting; a load from the same non-canonical address is #GP(0)', () => {
    const m = interpreted();
    m.load(KCODE, [
      ...movRax(0x7fffffffffff0000n), ...movRbx(0x20000n),
      0x48, 0x8d, 0x14, 0x18, // lea rdx, [rax + rbx]: 0x8000000000010000, no fault
      0x48, 0x8d, 0x4c, 0x18, 0x00, // lea rcx, [rax + rbx + 0]
      0x8b, 0x34, 0x18, // mov esi, [rax + rbx]: not canonical
      0xf4,
    ]);
    m.runToHalt();
    expect(m.reg(2)).toBe(0x8000000000010000n);
    expect(m.reg(1)).toBe(0x8000000000010000n);
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE + 10 + 10 + 4 + 5)); // the MOV
  });

  it('raises #SS(0) for a non-canonical RSP-based operand', () => {
    const m = interpreted();
    m.load(KCODE, [...movRax(0x0000800000000000n), 0x8b, 0x0c, 0x04, 0xf4]); // mov ecx, [rsp + rax]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(1)).toBe(BigInt(KCODE + 10));
  });
});

// Also run with every block compiled on first use: the block compiler is held to the same rule.
function compiled(): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = 1;
  m.cpu.jitMinInlined = 1;
  return m;
}

for (const [engine, make] of [['interpreted', interpreted], ['compiled', compiled]] as const) {
  describe(`read-modify-write with a faulting store (${engine})`, () => {
    // mov edx, -1; add edx, 1 sets CF ZF PF AF; the faulting ADD would have set SF and OF.
    const setFlags = [0xba, ...le(0xffffffff, 4), 0x83, 0xc2, 0x01];
    const before = CF | ZF | PF | AF;
    const cases: [string, number[]][] = [
      ['add [rax], ecx', [0x01, 0x08]],
      ['add [rax], rcx', [0x48, 0x01, 0x08]],
      ['add dword [rax], 1', [0x83, 0x00, 0x01]],
      ['sub qword [rax], -1', [0x48, 0x83, 0x28, 0xff]],
      // Forms the interpreter's general switch runs (it checks the store right after the read).
      ['add byte [rax], 1', [0x80, 0x00, 0x01]],
      ['add word [rax], cx', [0x66, 0x01, 0x08]],
      ['shl dword [rax], 1', [0xd1, 0x20]],
      ['sar dword [rax], cl', [0xd3, 0x38]],
      ['inc dword [rax]', [0xff, 0x00]],
      ['neg qword [rax]', [0x48, 0xf7, 0x18]],
      ['xadd [rax], ecx', [0x0f, 0xc1, 0x08]],
      ['add [rax + 4093], ecx (page-crossing)', [0x01, 0x88, ...le(4093, 4)]],
    ];
    for (const [name, bytes] of cases) {
      it(`${name} on a read-only page: #PF, memory and flags unchanged`, () => {
        const m = make();
        const page = 0x51000;
        m.setPte(page, page, { ro: true }); // CR0.WP is set: supervisor writes fault too
        m.bus.write32(page, 0x7fffffff);
        m.bus.write32(page + 4, 0x7fffffff);
        const code = [...movRax(BigInt(page)), 0xb9, ...le(1, 4), ...setFlags];
        const at = code.length;
        m.load(KCODE, [...code, ...bytes, 0xf4]);
        m.runToHalt();
        expect(m.stoppedVector()).toBe(14);
        expect(m.frame(0)).toBe(3n); // present, write
        expect(m.frame(1)).toBe(BigInt(KCODE + at));
        expect(m.frame(3) & (CF | PF | AF | ZF | SF | OF)).toBe(before);
        expect(m.bus.read32(page)).toBe(0x7fffffff);
      });
    }
  });
}

describe('FS/GS-relative operands', () => {
  // wrmsr FS_BASE (0xc0000100) / GS_BASE (0xc0000101) from edx:eax.
  const wrmsr = (msr: number, v: bigint): number[] => [
    0xb9, ...le(msr, 4), 0xb8, ...le(Number(v & 0xffffffffn), 4), 0xba, ...le(Number(v >> 32n), 4), 0x0f, 0x30,
  ];

  it('add the segment base to loads, stores, read-modify-writes and byte compares', () => {
    const m = interpreted();
    m.bus.write32(DATA + 0x104, 0x01020304);
    m.bus.write32(DATA + 0x200, 10);
    m.load(KCODE, [
      ...wrmsr(0xc0000100, BigInt(DATA)), ...wrmsr(0xc0000101, BigInt(DATA + 0x100)),
      0xbb, ...le(0x100, 4), // mov ebx, 0x100
      0x64, 0x8b, 0x73, 0x04, // mov esi, fs:[rbx + 4]
      0x64, 0x48, 0x89, 0x73, 0x20, // mov fs:[rbx + 0x20], rsi
      0xb9, ...le(5, 4), 0x65, 0x01, 0x4b, 0x00, // mov ecx, 5; add gs:[rbx], ecx  (DATA + 0x200)
      0x65, 0x80, 0x3c, 0x25, ...le(4, 4), 0x04, // cmp byte gs:[4], 4  (DATA + 0x104: 0x04)
      0x0f, 0x94, 0xc2, // sete dl
      0xf4,
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(6)).toBe(0x01020304n);
    expect(m.bus.read32(DATA + 0x120)).toBe(0x01020304);
    expect(m.bus.read32(DATA + 0x124)).toBe(0);
    expect(m.bus.read32(DATA + 0x200)).toBe(15);
    expect(m.reg(2) & 0xffn).toBe(1n);
  });

  it('raise #GP(0) when base plus offset is not canonical', () => {
    const m = interpreted();
    m.load(KCODE, [
      ...wrmsr(0xc0000100, 0x00007ffffffff000n),
      0x64, 0x8b, 0x04, 0x25, ...le(0x2000, 4), // mov eax, fs:[0x2000]
      0xf4,
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE + 17)); // the MOV after the WRMSR
  });
});
