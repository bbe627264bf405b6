// x87, MMX, SSE exception and FXSAVE behaviour on hand-written sequences that do not need
// the host CPU: 80-bit precision under each precision control, exact register round trips
// through memory and CPU snapshots, #MF for pending x87 exceptions and #XM for unmasked SSE
// ones. fpu-diff.test.ts compares the same machinery against the host.
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, STUBS, le } from './helpers/machine64.ts';
import { saveCpuState, loadCpuState } from '../../../src-core/engine/cpu/system/snapshot.ts';

function f64At(m: Machine64, a: number): number {
  const b = new Uint8Array(m.bus.readBytes(a, 8));
  return new DataView(b.buffer).getFloat64(0, true);
}

describe('x87', () => {
  it('loads constants, adds, multiplies, converts and stores', () => {
    const m = new Machine64();
    m.bus.writeBytes(DATA, new Uint8Array(new Float64Array([2.5]).buffer));
    m.bus.write32(DATA + 8, 7);
    m.load(KCODE, [
      0xb8, ...le(DATA, 4), // mov eax, DATA
      0xdb, 0xe3, // fninit
      0xd9, 0xe8, // fld1
      0xd9, 0xeb, // fldpi
      0xde, 0xc1, // faddp  -> 1 + pi
      0xdc, 0x08, // fmul qword [rax] -> (1 + pi) * 2.5
      0xdd, 0x58, 0x10, // fstp qword [rax+16]
      0xdb, 0x40, 0x08, // fild dword [rax+8] -> 7
      0xd9, 0xfa, // fsqrt
      0xdb, 0x58, 0x18, // fistp dword [rax+24] (round to nearest: 3)
      0xdf, 0xe0, // fnstsw ax
      0xf4,
    ]);
    m.runToHalt();
    expect(f64At(m, DATA + 16)).toBe((1 + Math.PI) * 2.5);
    expect(m.bus.read32(DATA + 24)).toBe(3);
    expect(m.cpu.fpu.top).toBe(0); // balanced stack
    expect(m.cpu.rl[0]! & 0x3800).toBe(0);
  });

  it('compares with FCOMI into EFLAGS and with FCOM into the status word', () => {
    const m = new Machine64();
    m.load(KCODE, [
      0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, // fninit; fld1; fldz  (st0 = 0, st1 = 1)
      0xdb, 0xf1, // fcomi st0, st1 -> CF (0 < 1)
      0x0f, 0x92, 0xc3, // setb bl
      0xd8, 0xd1, // fcom st1
      0xdf, 0xe0, // fnstsw ax
      0xf4,
    ]);
    m.runToHalt();
    expect(m.cpu.rl[3]! & 0xff).toBe(1);
    expect(m.cpu.rl[0]! & 0x4500).toBe(0x100); // C0 set: st0 < st1
  });

  it('round-trips 80-bit memory values exactly when they fit a double', () => {
    const m = new Machine64();
    m.bus.writeBytes(DATA, new Uint8Array(new Float64Array([-1234.5e-300]).buffer));
    m.load(KCODE, [0xb8, ...le(DATA, 4), 0xdd, 0x00, 0xdb, 0x78, 0x10, 0xdb, 0x68, 0x10, 0xdd, 0x58, 0x20, 0xf4]); // fld m64; fstp m80; fld m80; fstp m64
    m.runToHalt();
    expect(f64At(m, DATA + 0x20)).toBe(-1234.5e-300);
  });
});

/** The 80-bit value stored at `a` as 'seee:significand' hex. */
function m80(m: Machine64, a: number): string {
  const b = m.bus.readBytes(a, 10);
  let sig = '';
  for (let i = 7; i >= 0; i--) sig += b[i]!.toString(16).padStart(2, '0');
  return `${(b[8]! | (b[9]! << 8)).toString(16).padStart(4, '0')}:${sig}`;
}

describe('x87 80-bit extended precision', () => {
  it('divides 1 by 3 to 64, 53 and 24 significand bits per precision control', () => {
    const m = new Machine64();
    const code: number[] = [0xb8, ...le(DATA, 4), 0xdb, 0xe3];
    [0x37f, 0x27f, 0x07f].forEach((cw, i) => {
      m.bus.write16(DATA + 0x100 + i * 2, cw);
      code.push(0xd9, 0xa8, ...le(0x100 + i * 2, 4)); // fldcw [rax+0x100+2i]
      code.push(0xd9, 0xe8, 0xd9, 0xe8, 0xd8, 0xc0, 0xd8, 0xc1); // fld1; fld1; fadd st0,st0; fadd st0,st1 -> 3
      code.push(0xde, 0xf9); // fdivp st1, st0 -> 1/3
      code.push(0xdb, 0xb8, ...le(i * 16, 4)); // fstp tword [rax+16i]
    });
    m.load(KCODE, [...code, 0xf4]);
    m.runToHalt();
    expect(m80(m, DATA)).toBe('3ffd:aaaaaaaaaaaaaaab');
    expect(m80(m, DATA + 16)).toBe('3ffd:aaaaaaaaaaaaa800');
    expect(m80(m, DATA + 32)).toBe('3ffd:aaaaab0000000000');
    expect(m.cpu.fpu.statusWord() & 0x20).toBe(0x20); // PE: 1/3 is inexact
  });

  it('keeps every bit of 80-bit values through FLD/FSTP m80 and FXSAVE/FXRSTOR', () => {
    const m = new Machine64();
    const vals = ['c123:fedcba9876543211', '7fff:8000000000000001', '0000:8000000000000001', '4000:4000000000000000'];
    vals.forEach((v, i) => {
      const [se, sig] = v.split(':') as [string, string];
      const b = new Uint8Array(10);
      new DataView(b.buffer).setBigUint64(0, BigInt('0x' + sig), true);
      new DataView(b.buffer).setUint16(8, parseInt(se, 16), true);
      m.bus.writeBytes(DATA + i * 16, b);
    });
    m.load(KCODE, [
      0xb8, ...le(DATA, 4), 0xdb, 0xe3,
      0xdb, 0x28, 0xdb, 0x68, 0x10, 0xdb, 0x68, 0x20, 0xdb, 0x68, 0x30, // fld tword x4 (raw, no exceptions)
      0x0f, 0xae, 0x80, ...le(0x200, 4), // fxsave [rax+0x200]
      0xdb, 0xe3, 0x0f, 0xae, 0x88, ...le(0x200, 4), // fninit; fxrstor
      0xdb, 0xb8, ...le(0x70, 4), 0xdb, 0xb8, ...le(0x60, 4), 0xdb, 0xb8, ...le(0x50, 4), 0xdb, 0xb8, ...le(0x40, 4), // fstp x4
      0xf4,
    ]);
    m.runToHalt();
    vals.forEach((v, i) => expect(m80(m, DATA + 0x40 + i * 16)).toBe(v));
    expect(m.cpu.fpu.statusWord() & 0x3f).toBe(0); // loads and stores of m80 raise nothing
  });

  it('raises #MF at the next waiting x87 instruction after an unmasked exception', () => {
    const m = new Machine64();
    m.load(KCODE, [
      0xdb, 0xe3, 0xb8, ...le(DATA, 4),
      0x66, 0xc7, 0x00, 0x7b, 0x03, // mov word [rax], 0x37b (ZE unmasked)
      0xd9, 0x28, // fldcw [rax]
      0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, // fld1; fldz; fdivp -> division by zero, pending
      0xdd, 0x78, 0x10, // fnstsw [rax+16] (no wait: does not fault)
      0x9b, // fwait -> #MF
      0xf4,
    ]);
    m.runToHalt();
    expect(m.cpu.rip).toBe(STUBS + 16 * 16 + 1); // halted in vector 16's stub
    expect(m.bus.read16(DATA + 16) & 0x80bf).toBe(0x8084); // B, ES, ZE
    expect(m.cpu.fpu.top).toBe(6); // the faulting FDIVP left the stack alone
  });
});

describe('SSE MXCSR', () => {
  it('sets exception flags when masked and raises #XM when unmasked, leaving the destination', () => {
    const m = new Machine64();
    m.bus.write32(DATA, 0x1f80 & ~0x200); // ZE unmasked
    m.load(KCODE, [
      0xb8, ...le(DATA, 4),
      0xb9, ...le(0x3f800000, 4), 0x66, 0x0f, 0x6e, 0xc1, // movd xmm0, ecx (1.0f)
      0x0f, 0x57, 0xc9, // xorps xmm1, xmm1
      0xf3, 0x0f, 0x5e, 0xc1, // divss xmm0, xmm1 (masked: +inf, ZE)
      0x0f, 0xae, 0x58, 0x10, // stmxcsr [rax+16]
      0x66, 0x0f, 0x7e, 0xc3, // movd ebx, xmm0
      0x0f, 0xae, 0x10, // ldmxcsr [rax] (ZE unmasked)
      0x66, 0x0f, 0x6e, 0xc1, // movd xmm0, ecx (1.0f again)
      0xf3, 0x0f, 0x5e, 0xc1, // divss -> #XM
      0xf4,
    ]);
    m.runToHalt();
    expect(m.bus.read32(DATA + 16)).toBe(0x1f84);
    expect(m.cpu.rl[3]! >>> 0).toBe(0x7f800000);
    expect(m.cpu.rip).toBe(STUBS + 19 * 16 + 1); // vector 19
    expect(m.cpu.mxcsr & 0x3f).toBe(0x04);
    expect(m.cpu.xmm[0]! >>> 0).toBe(0x3f800000); // unchanged by the faulting divide
  });
});

describe('CPU snapshot of the FPU', () => {
  it('round-trips 80-bit registers, tags, TOP and control exactly through save/load', () => {
    const m = new Machine64();
    const f = m.cpu.fpu;
    const vals = [
      { se: 0xc123, m: 0xfedcba9876543211n }, { se: 0x7fff, m: 0x8000000000000001n }, { se: 0, m: 1n },
      { se: 0x3fff, m: 0xaaaaaaaaaaaaaaabn }, { se: 0xffff, m: 0xc000000000000000n },
    ];
    f.top = 5;
    vals.forEach((v, i) => f.set(i, v));
    f.cw = 0x0e7f; f.sw = 0x4321 & ~0x3800;
    const bytes = serialize(saveCpuState(m.cpu));
    const m2 = new Machine64();
    loadCpuState(m2.cpu, deserialize(bytes));
    const g = m2.cpu.fpu;
    expect(g.top).toBe(5);
    expect(g.cw).toBe(0x0e7f);
    expect(g.statusWord()).toBe(f.statusWord());
    expect([...g.tag]).toEqual([...f.tag]);
    vals.forEach((v, i) => expect(g.get(i)).toEqual(v));
    expect([...g.mmx]).toEqual([...f.mmx]);
  });

  it('loads an FPU state saved before registers were 80-bit (doubles widened exactly)', () => {
    const m = new Machine64();
    const st = saveCpuState(m.cpu);
    st.fpu = { st: new Float64Array([Math.PI, 0, 0, 0, 0, 0, 0, -0.5]), tag: new Uint8Array([0, 3, 3, 3, 3, 3, 3, 0]), top: 7, cw: 0x37f, sw: 0, mmx: new Int32Array(16) };
    loadCpuState(m.cpu, st);
    expect(m.cpu.fpu.get(0)).toEqual({ se: 0xbffe, m: 0x8000000000000000n }); // ST0 = physical 7
    expect(m.cpu.fpu.get(1)).toEqual({ se: 0x4000, m: 0xc90fdaa22168c000n }); // the double's pi
    expect(() => loadCpuState(m.cpu, { ...st, fpu: { version: 9 } })).toThrow(/FPU state version 9/);
  });
});

describe('MMX and FXSAVE', () => {
  it('runs MMX integer ops and EMMS empties the tags', () => {
    const m = new Machine64();
    m.bus.write32(DATA, 0x01020304);
    m.bus.write32(DATA + 4, 0x7f7f7f7f);
    m.bus.write32(DATA + 8, 0x01010101);
    m.bus.write32(DATA + 12, 0x01010101);
    m.load(KCODE, [
      0xb8, ...le(DATA, 4),
      0x0f, 0x6f, 0x00, // movq mm0, [rax]
      0x0f, 0xec, 0x40, 0x08, // paddsb mm0, [rax+8] (signed saturation)
      0x0f, 0x7f, 0x40, 0x10, // movq [rax+16], mm0
      0x0f, 0x77, // emms
      0xf4,
    ]);
    m.runToHalt();
    expect(m.bus.read32(DATA + 16) >>> 0).toBe(0x02030405);
    expect(m.bus.read32(DATA + 20) >>> 0).toBe(0x7f7f7f7f); // saturated
    expect([...m.cpu.fpu.tag]).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });

  it('saves and restores x87 and SSE state with FXSAVE/FXRSTOR', () => {
    const m = new Machine64();
    m.load(KCODE, [
      0xb8, ...le(DATA, 4),
      0xdb, 0xe3, 0xd9, 0xeb, // fninit; fldpi
      0x66, 0x0f, 0x76, 0xc0, // pcmpeqd xmm0, xmm0 (all ones)
      0x0f, 0xae, 0x00, // fxsave [rax]
      0xdb, 0xe3, 0x66, 0x0f, 0xef, 0xc0, // fninit; pxor xmm0, xmm0
      0x0f, 0xae, 0x08, // fxrstor [rax]
      0xdd, 0x98, ...le(0x300, 4), // fstp qword [rax+0x300]
      0xf4,
    ]);
    m.runToHalt();
    expect(m.bus.read16(DATA)).toBe(0x37f); // FCW in the image
    expect(m.bus.read32(DATA + 24)).toBe(0x1f80); // MXCSR in the image
    expect(f64At(m, DATA + 0x300)).toBe(Math.PI);
    expect([...m.cpu.xmm.subarray(0, 4)]).toEqual([-1, -1, -1, -1]);
  });
});
