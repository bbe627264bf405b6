// RCPPS/RCPSS/RSQRTPS/RSQRTSS: Hangar's 12-bit table estimates. Checked two ways: against the
// true value over every mantissa (the architectural bound, 1.5 * 2^-12 relative, and the exact
// special cases), and against the host CPU, where a lane agrees when bit-equal or when both
// results are within the bound (Intel, AMD and Hangar each approximate differently).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { rcp12, rsqrt12 } from '../../../src-core/engine/cpu/sse-approx.ts';
import { APPROX_REL, approxLane, withinBound } from './harness/approx.ts';
import { hostIsX86_64 } from './harness/native.ts';
import { runDiff } from './harness/run-diff.ts';

const canRun = hostIsX86_64() && spawnSync('cc', ['--version']).status === 0;

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const f32 = (b: number): number => { U32[0] = b >>> 0; return F32[0]!; };
const hex = (b: number): string => (b >>> 0).toString(16).padStart(8, '0');

describe('RCP/RSQRT estimates against the true value', () => {
  it('every mantissa of [1, 2) and [2, 4) is within 1.5 * 2^-12, and the error is not zero-width', () => {
    let worstRcp = 0, worstRsq = 0;
    const bad: string[] = [];
    for (const e of [127, 128]) {
      for (let f = 0; f < 1 << 23; f++) {
        const b = (e << 23) | f;
        const x = f32(b);
        const r = f32(rcp12(b)), q = f32(rsqrt12(b));
        const er = Math.abs(r * x - 1), eq = Math.abs(q * Math.sqrt(x) - 1);
        if (er > worstRcp) worstRcp = er;
        if (eq > worstRsq) worstRsq = eq;
        if ((er > APPROX_REL || eq > APPROX_REL) && bad.length < 5) bad.push(hex(b));
      }
    }
    expect(bad).toEqual([]);
    expect(worstRcp).toBeLessThanOrEqual(2 ** -12);
    expect(worstRsq).toBeLessThanOrEqual(2 ** -12);
    // An estimate, not the exact value rounded: 12 bits after the leading one.
    expect(worstRcp).toBeGreaterThan(2 ** -15);
    expect(rcp12(0x3fc00000) & 0x7ff).toBe(0);
  });

  it('scales with the exponent and keeps the special cases exact', () => {
    for (const e of [1, 20, 100, 200, 252]) {
      for (const f of [0, 1, 0x400000, 0x7fffff, 0x123456]) {
        const b = (e << 23) | f;
        expect(withinBound('rcp', b, rcp12(b))).toBe(true);
        expect(withinBound('rsqrt', b, rsqrt12(b))).toBe(true);
        expect(rcp12(b | 0x80000000) >>> 0).toBe((rcp12(b) | 0x80000000) >>> 0);
      }
    }
    const cases: [number, number, number][] = [
      // [input, rcp, rsqrt]
      [0x00000000, 0x7f800000, 0x7f800000],
      [0x80000000, 0xff800000, 0xff800000],
      [0x00000001, 0x7f800000, 0x7f800000], // denormals count as zero
      [0x807fffff, 0xff800000, 0xff800000],
      [0x7f800000, 0x00000000, 0x00000000],
      [0xff800000, 0x80000000, 0xffc00000], // RSQRT(-inf): indefinite
      [0xbf800000, 0xbf7ff000 /* checked by bound below */, 0xffc00000],
      [0x7fa00000, 0x7fe00000, 0x7fe00000], // SNaN quietened
      [0xffc00001, 0xffc00001, 0xffc00001],
      [0x7f000000, 0x00000000, 0x1fb50000 /* by bound */], // 1/2^127 is tiny: flushed
      [0xff7fffff, 0x80000000, 0xffc00000],
    ];
    for (const [x, r, q] of cases) {
      if (x === 0xbf800000) expect(withinBound('rcp', x, rcp12(x))).toBe(true);
      else expect(hex(rcp12(x))).toBe(hex(r));
      if (x === 0x7f000000) expect(withinBound('rsqrt', x, rsqrt12(x))).toBe(true);
      else expect(hex(rsqrt12(x))).toBe(hex(q));
    }
  });

  it('the comparison accepts only the bound: bit-equal specials, close normals', () => {
    expect(approxLane('rcp', 0x3f800000, 0x3f7ff000, 0x3f7ff000)).toBe('same');
    expect(approxLane('rcp', 0x3f800000, 0x3f7ff000, 0x3f800000)).toBe('close');
    // 1 - 2^-10 is four times the bound away from 1/1.
    expect(approxLane('rcp', 0x3f800000, 0x3f7ff000, 0x3f7fc000)).toMatch(/emulated outside/);
    expect(approxLane('rsqrt', 0xbf800000, 0xffc00000, 0x7fc00000)).toMatch(/special case/);
    expect(approxLane('rcp', 0x00000001, 0x7f800000, 0x7f7ff000)).toMatch(/special case/);
    // The manual's implementation-defined flush range for RCP.
    expect(approxLane('rcp', 0x7e800000, 0x00000000, 0x00800000)).toBe('close');
    expect(approxLane('rcp', 0x7e900000, 0x00000000, 0x00700000)).toMatch(/outside/);
  });
});

describe.skipIf(!canRun)('RCP/RSQRT: host CPU vs Hangar within the architectural bound', () => {
  for (const jit of [0, 1]) {
    it(`agrees on every lane, flags and untouched lanes (jit threshold ${jit})`, () => {
      const r = runDiff(4242 + jit, 1600, 400, (n) => n === 'rcp' || n === 'rsqrt', jit);
      expect(r.failures.slice(0, 10).map((f) => `${f.name}: ${f.diffs.join('; ')}`)).toEqual([]);
      expect(r.coverage.size).toBe(4);
      expect(r.approxLanes).toBeGreaterThan(2000);
      // Hangar's tables are not the host's: many normal lanes differ in their low bits (the
      // count is printed for the record; specials never do, or the case above would fail).
      console.log(`rcp/rsqrt: ${r.approxLanes} lanes compared (${r.approxNormalLanes} ordinary numbers), ${r.approxDiffering} differ bit-wise (within the bound)`);
      expect(r.approxNormalLanes).toBeGreaterThan(1000);
      expect(r.approxDiffering).toBeLessThanOrEqual(r.approxNormalLanes);
    }, 60_000);
  }
});
