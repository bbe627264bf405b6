// x87 differential test against the host CPU: every x87 form the interpreter implements,
// from random x87 states (precision/rounding control, masks, TOP, tags, special values), and
// hand-picked cases, comparing FCW, FSW, tags, all eight 80-bit registers, EFLAGS and memory.
// Transcendentals may differ from the host by 1 ulp (and C1): the x87 documents < 1 ulp error.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildRunner, hostIsX86_64, runNative } from './harness/native.ts';
import { runX87Diff } from './harness/run-diff.ts';
import { X87_FORMS, X87_MEM, generateX87 } from './harness/gen-x87.ts';
import { Rng } from './harness/gen.ts';
import { EmuEnv } from './harness/emulated.ts';
import { compareResults } from './harness/compare.ts';
import type { DiffCase } from './harness/types.ts';

const canRun = hostIsX86_64() && spawnSync('cc', ['--version']).status === 0;

/** 80-bit value from 'seee:mmmmmmmmmmmmmmmm' hex. */
function r80(s: string): Uint8Array {
  const [se, m] = s.split(':') as [string, string];
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt('0x' + m), true);
  dv.setUint16(8, parseInt(se, 16), true);
  return b;
}

const ONE = '3fff:8000000000000000', TWO = '4000:8000000000000000', THREE = '4000:c000000000000000', TEN = '4002:a000000000000000';

describe.skipIf(!canRun)('x87 differential: host CPU vs soft-float', () => {
  it('agrees on a seeded run over every x87 form', () => {
    const r = runX87Diff(20261126, 12);
    const lines = r.failures.slice(0, 20).map((f) => `${f.name}: ${f.diffs.join('; ')}`);
    expect(lines).toEqual([]);
    expect(r.perForm.size).toBe(X87_FORMS.length);
    // Most transcendental results are bit-exact; only a few may sit 1 ulp from the host's.
    expect(r.approx).toBeLessThan(r.cases / 100);
  }, 120_000);

  it('agrees with every block compiled (JIT threshold 1)', () => {
    const r = runX87Diff(7, 4, undefined, 1);
    expect(r.failures.slice(0, 20).map((f) => `${f.name}: ${f.diffs.join('; ')}`)).toEqual([]);
  }, 120_000);

  it('agrees on hand-picked values, controls and stack faults', () => {
    const rng = new Rng(3);
    const cases: DiffCase[] = [];
    const form = (n: string) => X87_FORMS.find((f) => f.name === n)!;
    /** st: ST(0..) values (the rest empty); mem: bytes at [rbx]. */
    const mk = (name: string, code: number[], st: string[], o: { fcw?: number; fsw?: number; mem?: number[]; full?: boolean } = {}): void => {
      const k = generateX87(rng, form('fnop'));
      k.name = name;
      k.code = new Uint8Array(code);
      const top = 3;
      k.x87.fcw = o.fcw ?? 0x37f;
      k.x87.fsw = (o.fsw ?? 0) | (top << 11);
      k.x87.st.fill(0);
      k.x87.ftw = o.full ? 0xff : 0;
      st.forEach((v, i) => { k.x87.st.set(r80(v), i * 10); k.x87.ftw |= 1 << ((top + i) & 7); });
      if (o.mem) k.window.set(o.mem, X87_MEM);
      k.x87Approx = /^(fsin|fcos|fptan|fpatan|f2xm1|fyl2x)/.test(name);
      cases.push(k);
    };
    // 1/3 under each precision and rounding control: only PC=64 keeps all 64 bits.
    for (const pc of [0, 2, 3]) for (let rc = 0; rc < 4; rc++) mk(`fdiv 1/3 pc${pc} rc${rc}`, [0xd8, 0xf1], [ONE, THREE], { fcw: 0x7f | (pc << 8) | (rc << 10) });
    // 2/3 + tiny: rounding ties and sticky bits.
    mk('fadd tie', [0xd8, 0xc1], ['3fff:8000000000000001', '3fbf:8000000000000000']);
    mk('fadd cancel', [0xd8, 0xe1], ['3fff:8000000000000001', '3fff:8000000000000000']);
    mk('fsqrt 2', [0xd9, 0xfa], [TWO]);
    mk('fsqrt -1', [0xd9, 0xfa], ['bfff:8000000000000000']);
    mk('fdiv by zero', [0xd8, 0xf1], [ONE, '0000:0000000000000000']);
    mk('fmul overflow', [0xd8, 0xc9], ['7ffe:ffffffffffffffff', TWO]);
    mk('fmul overflow rz', [0xd8, 0xc9], ['7ffe:ffffffffffffffff', TWO], { fcw: 0xf7f });
    mk('fmul underflow', [0xd8, 0xc9], ['0001:8000000000000001', '3ffe:8000000000000000']);
    mk('fmul underflow unmasked', [0xd8, 0xc9], ['0001:8000000000000001', '3ff0:8000000000000000'], { fcw: 0x36f });
    mk('fmul overflow unmasked', [0xd8, 0xc9], ['7ffe:ffffffffffffffff', '7000:8000000000000000'], { fcw: 0x377 });
    mk('fadd pseudo-denormal', [0xd8, 0xc1], ['0000:8000000000000001', ONE]);
    mk('fadd unnormal', [0xd8, 0xc1], ['4000:4000000000000000', ONE]);
    mk('fadd snan', [0xd8, 0xc1], ['7fff:8000000000000001', ONE]);
    mk('fadd two nans', [0xd8, 0xc1], ['ffff:c000000000000001', '7fff:c000000000000002']);
    mk('fadd inf-inf', [0xd8, 0xe1], ['7fff:8000000000000000', '7fff:8000000000000000']);
    mk('fadd empty (underflow)', [0xd8, 0xc1], [ONE]);
    mk('fld1 full (overflow)', [0xd9, 0xe8], [ONE, ONE, ONE, ONE, ONE, ONE, ONE, ONE], { full: true });
    mk('fld1 full unmasked', [0xd9, 0xe8], [ONE, ONE, ONE, ONE, ONE, ONE, ONE, ONE], { full: true, fcw: 0x37e });
    for (let rc = 0; rc < 4; rc++) mk(`fldpi rc${rc}`, [0xd9, 0xeb], [], { fcw: 0x37f | (rc << 10) });
    mk('fldl2t', [0xd9, 0xe9], []); mk('fldl2e', [0xd9, 0xea], []); mk('fldlg2', [0xd9, 0xec], []); mk('fldln2', [0xd9, 0xed], []);
    // Memory formats: an 80-bit round trip keeps every bit; FST m64 rounds.
    mk('fstp m80 bits', [0xdb, 0x3b], ['c123:fedcba9876543211']);
    mk('fld m80 snan', [0xdb, 0x2b], [], { mem: [1, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f] });
    mk('fst m64 rounds', [0xdd, 0x13], ['3fff:fffffffffffffc00']);
    mk('fst m32 denormal', [0xd9, 0x13], ['3f70:c000000000000000']);
    mk('fld m32 snan', [0xd9, 0x03], [], { mem: [1, 0, 0x80, 0x7f] });
    mk('fld m64 denormal', [0xdd, 0x03], [], { mem: [1, 0, 0, 0, 0, 0, 0, 0] });
    mk('fistp m16 2.5', [0xdf, 0x1b], ['4000:a000000000000000']);
    mk('fistp m32 -3.5', [0xdb, 0x1b], ['c000:e000000000000000']);
    mk('fistp m64 overflow', [0xdf, 0x3b], ['403f:8000000000000000']);
    mk('fisttp m16 -2.9', [0xdf, 0x0b], ['c000:b99999999999999a']);
    mk('fbstp', [0xdf, 0x33], ['4039:db4da5f7ef412b38']);
    mk('fbstp too big', [0xdf, 0x33], ['403f:8000000000000000']);
    mk('fbld', [0xdf, 0x23], [], { mem: [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80] });
    // Compares and classification.
    mk('fcomi nan', [0xdb, 0xf1], [ONE, 'ffff:c000000000000000']);
    mk('fucomi qnan', [0xdb, 0xe9], [ONE, 'ffff:c000000000000000']);
    mk('fcom -0 +0', [0xd8, 0xd1], ['8000:0000000000000000', '0000:0000000000000000']);
    mk('ftst denormal', [0xd9, 0xe4], ['0000:0000000000000001']);
    for (const v of ['0000:0000000000000001', '0000:8000000000000000', '4000:4000000000000000', '7fff:8000000000000000', 'ffff:c000000000000000']) mk(`fxam ${v}`, [0xd9, 0xe5], [v]);
    mk('fxam empty', [0xd9, 0xe5], []);
    // Remainders, scaling, rounding to integer.
    mk('fprem', [0xd9, 0xf8], ['4005:c800000000000000', '4000:c000000000000000']);
    mk('fprem1', [0xd9, 0xf5], ['4005:c800000000000000', '4000:c000000000000000']);
    mk('fprem partial', [0xd9, 0xf8], ['40ff:c90fdaa22168c235', '3fff:c90fdaa22168c235']);
    mk('fscale', [0xd9, 0xfd], [THREE, 'c002:a000000000000000']);
    // Beyond the reach of the 24576 bias adjustment (OE/UE unmasked): infinity, zero.
    mk('fscale overflow past the bias, round down', [0xd9, 0xfd], [THREE, '400f:8000000000000000'], { fcw: 0x777 });
    mk('fscale overflow within the bias', [0xd9, 0xfd], [THREE, '400d:c000000000000000'], { fcw: 0x377 });
    mk('fscale underflow past the bias, round up', [0xd9, 0xfd], [THREE, 'c00f:8000000000000000'], { fcw: 0xb6f });
    mk('fscale underflow within the bias', [0xd9, 0xfd], [THREE, 'c00d:c000000000000000'], { fcw: 0x36f });
    // Reserved aliases: FSTP1 (D9 D8+i) with ST(0) empty pops without underflow on the AMD host.
    mk('fstp1 st0 empty', [0xd9, 0xda], []);
    mk('fstp1', [0xd9, 0xda], [ONE, TWO, THREE]);
    mk('fstp8 st0 empty', [0xdf, 0xd2], []);
    mk('fxch4', [0xdd, 0xc9], [ONE, TWO]);
    mk('fxch7 st1 empty', [0xdf, 0xca], [ONE, TWO]);
    mk('fxtract', [0xd9, 0xf4], ['c00a:b000000000000000']);
    mk('fxtract zero', [0xd9, 0xf4], ['0000:0000000000000000']);
    for (let rc = 0; rc < 4; rc++) mk(`frndint -2.5 rc${rc}`, [0xd9, 0xfc], ['c000:a000000000000000'], { fcw: 0x37f | (rc << 10) });
    // Transcendentals on ordinary arguments.
    mk('fsin 1', [0xd9, 0xfe], [ONE]);
    mk('fcos 1', [0xd9, 0xff], [ONE]);
    mk('fsincos 0.5', [0xd9, 0xfb], ['3ffe:8000000000000000']);
    mk('fptan 0.5', [0xd9, 0xf2], ['3ffe:8000000000000000']);
    mk('fsin 2^63 (out of range)', [0xd9, 0xfe], ['403e:8000000000000000']);
    mk('fpatan 1,1', [0xd9, 0xf3], [ONE, ONE]);
    mk('fpatan -0,-1', [0xd9, 0xf3], ['bfff:8000000000000000', '8000:0000000000000000']);
    mk('f2xm1 0.5', [0xd9, 0xf0], ['3ffe:8000000000000000']);
    mk('f2xm1 -1', [0xd9, 0xf0], ['bfff:8000000000000000']);
    mk('f2xm1 1', [0xd9, 0xf0], [ONE]);
    mk('fyl2x 3*log2(10)', [0xd9, 0xf1], [TEN, THREE]);
    mk('fyl2x x=1', [0xd9, 0xf1], [ONE, THREE]);
    mk('fyl2x x=0', [0xd9, 0xf1], ['0000:0000000000000000', THREE]);
    mk('fyl2xp1 0.25', [0xd9, 0xf9], ['3ffd:8000000000000000', TWO]);
    // Control: FLDCW unmasking a sticky flag makes it pending; FWAIT then raises #MF.
    mk('fldcw unmasks pending', [0xd9, 0x2b], [], { fsw: 0x20, mem: [0x5f, 0x03] });
    mk('fwait pending', [0x9b], [], { fsw: 0x8081, fcw: 0x37e });
    mk('fninit with pending', [0xdb, 0xe3], [ONE], { fsw: 0x8081, fcw: 0x37e });
    mk('fnclex', [0xdb, 0xe2], [ONE], { fsw: 0x80ff });
    mk('fincstp', [0xd9, 0xf7], [ONE]);
    mk('ffree', [0xdd, 0xc0], [ONE]);
    const nat = runNative(buildRunner(), cases);
    const env = new EmuEnv();
    const bad: string[] = [];
    cases.forEach((k, i) => {
      const d = compareResults(k, nat[i]!, env.run(k));
      if (d.length) bad.push(`${k.name}: ${d.join('; ')}`);
    });
    expect(bad).toEqual([]);
  }, 60_000);
});
