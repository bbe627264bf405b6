// SSE exception-flag precedence against the host CPU, on hand-picked operands the long fuzz
// (scripts/cpu-fuzz.ts) found disagreeing: a denormal dividend over zero reports ZE alone;
// an unmasked overflow/underflow traps with PE only when the result rounded to precision
// (unbounded exponent) is inexact; MAX/MIN with a NaN return the second operand as read
// (a denormal under DAZ as zero). Each case checks the emulated MXCSR/result/signal against
// the expected rule and against the host.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildRunner, hostIsX86_64, runNative } from './harness/native.ts';
import { Rng, TEMPLATES, generate } from './harness/gen.ts';
import { EmuEnv } from './harness/emulated.ts';
import { compareResults } from './harness/compare.ts';
import type { DiffCase } from './harness/types.ts';

const canRun = hostIsX86_64() && spawnSync('cc', ['--version']).status === 0;

const DEN = 0x86, ZERO = 0, ONE = 0x3f800000, THREE = 0x40400000, TINY = 0x00800000, BIG = 0x7f000000;
const FMAX = 0x7f7fffff, QNAN = 0x7fc00000, INF = 0x7f800000;
const SIGFPE = 8;

interface Expect { name: string; mxcsr: number; signal?: number; lane0?: number }

/** xmm0 = op(xmm0, xmm1) with single lanes a[i], b[i] (or 64-bit lanes when `dbl`). */
function build(rng: Rng, code: number[], mxcsr: number, a: bigint[], b: bigint[], dbl = false): DiffCase {
  const tp = TEMPLATES.find((t) => t.sse === true);
  if (!tp) throw new Error('no SSE template in the generator');
  const k = generate(rng, tp);
  k.code = new Uint8Array(code);
  k.mxcsr = mxcsr;
  k.mxcsrFlags = true;
  const dv = new DataView(k.xmm.buffer, k.xmm.byteOffset, 256);
  const w = dbl ? 8 : 4;
  for (let i = 0; i < 16 / w; i++) {
    const av = a[i] ?? a[0]!, bv = b[i] ?? b[0]!;
    if (dbl) { dv.setBigUint64(i * 8, av, true); dv.setBigUint64(16 + i * 8, bv, true); }
    else { dv.setUint32(i * 4, Number(av), true); dv.setUint32(16 + i * 4, Number(bv), true); }
  }
  return k;
}

describe.skipIf(!canRun)('SSE MXCSR exception precedence: host CPU vs soft-float', () => {
  it('agrees on denormal/zero, unmasked overflow/underflow and NaN-with-DAZ cases', () => {
    const rng = new Rng(5);
    const cases: DiffCase[] = [];
    const want: Expect[] = [];
    const add = (e: Expect, code: number[], mxcsr: number, a: number[] | bigint[], b: number[] | bigint[], dbl = false): void => {
      cases.push(build(rng, code, mxcsr, a.map(BigInt), b.map(BigInt), dbl));
      cases[cases.length - 1]!.name = e.name;
      want.push(e);
    };
    const DIVSS = [0xf3, 0x0f, 0x5e, 0xc1], DIVPS = [0x0f, 0x5e, 0xc1], MULSS = [0xf3, 0x0f, 0x59, 0xc1];
    // Divide-by-zero outranks the denormal operand: ZE alone, so an unmasked DE does not trap.
    add({ name: 'divss den/0', mxcsr: 0x1f84, lane0: INF }, DIVSS, 0x1f80, [DEN], [ZERO]);
    add({ name: 'divss den/0 DE unmasked', mxcsr: 0x1e84, lane0: INF }, DIVSS, 0x1e80, [DEN], [ZERO]);
    add({ name: 'divss den/0 FTZ', mxcsr: 0x9f84, lane0: INF }, DIVSS, 0x9f80, [DEN], [ZERO]);
    add({ name: 'divps den/0 | 1/3, DE+UE unmasked', mxcsr: 0x16a4, lane0: INF }, DIVPS, 0x1680, [DEN, ONE, ONE, ONE], [ZERO, THREE, ONE, ONE]);
    add({ name: 'divsd den/0', mxcsr: 0x1f84 }, [0xf2, 0x0f, 0x5e, 0xc1], 0x1f80, [5n], [0n], true);
    // Unmasked overflow: exact 2^254 traps with OE alone; FMAX*3 and 1/den are inexact: OE|PE.
    add({ name: 'mulss big*big OE unmasked', mxcsr: 0x1b88, signal: SIGFPE }, MULSS, 0x1b80, [BIG], [BIG]);
    add({ name: 'mulss fmax*3 OE unmasked', mxcsr: 0x1ba8, signal: SIGFPE }, MULSS, 0x1b80, [FMAX], [THREE]);
    add({ name: 'divss 1/den OE unmasked', mxcsr: 0x1baa, signal: SIGFPE }, DIVSS, 0x1b80, [ONE], [DEN]);
    add({ name: 'divss big/tiny all unmasked', mxcsr: 0x0008, signal: SIGFPE }, DIVSS, 0x0000, [BIG], [TINY]);
    // Unmasked underflow: exact tiny results trap with UE alone; another lane's PE still shows.
    add({ name: 'mulss tiny*tiny UE unmasked', mxcsr: 0x1790, signal: SIGFPE }, MULSS, 0x1780, [TINY], [TINY]);
    add({ name: 'mulss den*den UE unmasked', mxcsr: 0x1792, signal: SIGFPE }, MULSS, 0x1780, [DEN], [DEN]);
    add({ name: 'divps tiny/big | 1/3 UE unmasked', mxcsr: 0x17b0, signal: SIGFPE }, DIVPS, 0x1780, [TINY, ONE, ONE, ONE], [BIG, THREE, ONE, ONE]);
    add({ name: 'divps tiny/big | big/tiny OE+UE unmasked', mxcsr: 0x1398, signal: SIGFPE }, DIVPS, 0x1380, [TINY, BIG, ONE, ONE], [BIG, TINY, ONE, ONE]);
    add({ name: 'mulss 0x00800001*0.75 UE unmasked (inexact)', mxcsr: 0x17b0, signal: SIGFPE }, MULSS, 0x1780, [0x00800001], [0x3f400000]);
    add({ name: 'mulss den 0x00400001*0.75 UE unmasked (fits)', mxcsr: 0x1792, signal: SIGFPE }, MULSS, 0x1780, [0x00400001], [0x3f400000]);
    // CVTSD2SS of a double denormal with UE/OE unmasked: PE only when the bits do not fit.
    const CVTSD2SS = [0xf2, 0x0f, 0x5a, 0xc1];
    add({ name: 'cvtsd2ss den(5) UE unmasked', mxcsr: 0x1392, signal: SIGFPE }, CVTSD2SS, 0x1380, [0n], [5n], true);
    add({ name: 'cvtsd2ss den(fffff..) UE unmasked', mxcsr: 0x13b2, signal: SIGFPE }, CVTSD2SS, 0x1380, [0n], [0x000fffffffffffffn], true);
    // MAX/MIN with a NaN return the second operand as read: under DAZ a denormal is +-0.
    add({ name: 'maxss nan,den DAZ', mxcsr: 0x1fc1, lane0: 0 }, [0xf3, 0x0f, 0x5f, 0xc1], 0x1fc0, [QNAN], [0x75]);
    add({ name: 'minss nan,-den DAZ', mxcsr: 0x1fc1, lane0: 0x80000000 }, [0xf3, 0x0f, 0x5d, 0xc1], 0x1fc0, [QNAN], [0x80000075]);
    add({ name: 'maxss nan,den no DAZ (NaN hides DE)', mxcsr: 0x1f81, lane0: 0x75 }, [0xf3, 0x0f, 0x5f, 0xc1], 0x1f80, [QNAN], [0x75]);

    const nat = runNative(buildRunner(), cases);
    for (const jit of [0, 1]) {
      const env = new EmuEnv(jit);
      const bad: string[] = [];
      cases.forEach((k, i) => {
        const e = env.run(k);
        const w = want[i]!;
        const lane0 = new DataView(e.xmm.buffer, e.xmm.byteOffset).getUint32(0, true);
        if (e.mxcsr !== w.mxcsr) bad.push(`${w.name}: mxcsr ${e.mxcsr.toString(16)}, want ${w.mxcsr.toString(16)}`);
        if (e.signal !== (w.signal ?? 5)) bad.push(`${w.name}: signal ${e.signal}, want ${w.signal ?? 5}`);
        if (w.lane0 !== undefined && lane0 !== w.lane0) bad.push(`${w.name}: lane0 ${lane0.toString(16)}, want ${w.lane0.toString(16)}`);
        for (const d of compareResults(k, nat[i]!, e)) bad.push(`${w.name} (jit ${jit}) vs host: ${d}`);
      });
      expect(bad).toEqual([]);
    }
  });
});
