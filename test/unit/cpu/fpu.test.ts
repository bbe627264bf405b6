// x87, MMX and FXSAVE behaviour on hand-written sequences (the differential harness covers
// SSE/SSE2; x87 results are checked against JavaScript's double arithmetic, which is what
// the interpreter's x87 uses: see the report for the 80-bit precision gap).
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

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
