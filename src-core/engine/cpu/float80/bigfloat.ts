// A small arbitrary-precision binary float (BigInt significand, integer exponent) used to
// evaluate the x87 transcendentals with about 200 bits before the single final rounding to
// the 64-bit register significand, plus the constants (pi, ln 2) they need.
import { bitLength } from './core.ts';

export const P = 200;

/** value = m * 2^e, m signed. */
export interface BF {
  m: bigint;
  e: number;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

export function bf(m: bigint, e = 0): BF {
  const n = bitLength(abs(m));
  if (n > P) {
    const sh = n - P;
    return { m: m >> BigInt(sh), e: e + sh };
  }
  return { m, e };
}

/** Exponent of the leading bit (or -Infinity for zero). */
export const magnitude = (a: BF): number => (a.m === 0n ? -Infinity : a.e + bitLength(abs(a.m)) - 1);

/** a plus something far below its precision with the sign of `s`: a sticky nudge. */
function nudge(a: BF, s: bigint): BF {
  const sh = P - bitLength(abs(a.m));
  const m = sh > 0 ? a.m << BigInt(sh) : a.m;
  return { m: m + (s < 0n ? -1n : 1n), e: a.e - (sh > 0 ? sh : 0) };
}

export function add(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  // Far apart: the smaller one only decides the direction of the last bit.
  if (magnitude(a) - magnitude(b) > P + 8) return nudge(a, b.m);
  if (magnitude(b) - magnitude(a) > P + 8) return nudge(b, a.m);
  const e = Math.min(a.e, b.e);
  return bf((a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e);
}

export const neg = (a: BF): BF => ({ m: -a.m, e: a.e });
export const sub = (a: BF, b: BF): BF => add(a, neg(b));
export const mul = (a: BF, b: BF): BF => bf(a.m * b.m, a.e + b.e);

export function div(a: BF, b: BF): BF {
  if (a.m === 0n) return a;
  const sh = P + 4 + bitLength(abs(b.m)) - bitLength(abs(a.m));
  return bf((a.m << BigInt(sh)) / b.m, a.e - b.e - sh);
}

export function divInt(a: BF, k: number): BF {
  return div(a, { m: BigInt(k), e: 0 });
}

export function sqrt(a: BF): BF {
  let m = a.m, e = a.e;
  let sh = 2 * P + 8 - bitLength(m);
  if (sh < 0) sh = 0;
  if ((e - sh) & 1) sh++;
  m <<= BigInt(sh);
  e -= sh;
  let x = 1n << BigInt((bitLength(m) >> 1) + 1);
  for (;;) {
    const y = (x + m / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  return bf(x, e / 2);
}

export const ONE: BF = { m: 1n, e: 0 };

/** Sum a series whose terms shrink: stop once a term is below the working precision. */
function small(term: BF, sum: BF): boolean {
  return term.m === 0n || magnitude(term) < magnitude(sum) - P - 4;
}

/** sin r for |r| <= pi/4 (Taylor series). */
export function sinSeries(r: BF): BF {
  const r2 = mul(r, r);
  let term = r, sum = r;
  for (let k = 1; k < 200; k++) {
    term = neg(divInt(mul(term, r2), 2 * k * (2 * k + 1)));
    sum = add(sum, term);
    if (small(term, sum)) break;
  }
  return sum;
}

/** cos r for |r| <= pi/4. */
export function cosSeries(r: BF): BF {
  const r2 = mul(r, r);
  let term: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 200; k++) {
    term = neg(divInt(mul(term, r2), (2 * k - 1) * (2 * k)));
    sum = add(sum, term);
    if (small(term, sum)) break;
  }
  return sum;
}

/** atan t for 0 <= t <= 1: two argument halvings, then the Taylor series. */
export function atan(t: BF): BF {
  let x = t;
  for (let i = 0; i < 2; i++) x = div(x, add(ONE, sqrt(add(ONE, mul(x, x)))));
  const x2 = mul(x, x);
  let pow = x, sum = x;
  for (let k = 1; k < 400; k++) {
    pow = neg(mul(pow, x2));
    const term = divInt(pow, 2 * k + 1);
    sum = add(sum, term);
    if (small(term, sum)) break;
  }
  return { m: sum.m, e: sum.e + 2 };
}

/** e^z - 1 for |z| <= 1. */
export function expm1(z: BF): BF {
  let term = z, sum = z;
  for (let k = 2; k < 200; k++) {
    term = divInt(mul(term, z), k);
    sum = add(sum, term);
    if (small(term, sum)) break;
  }
  return sum;
}

/** 2 * atanh(s) = ln((1 + s) / (1 - s)) for |s| < 1/2. */
export function atanh2(s: BF): BF {
  const s2 = mul(s, s);
  let pow = s, sum = s;
  for (let k = 1; k < 400; k++) {
    pow = mul(pow, s2);
    const term = divInt(pow, 2 * k + 1);
    sum = add(sum, term);
    if (small(term, sum)) break;
  }
  return { m: sum.m, e: sum.e + 1 };
}

// ---- constants, computed once in fixed point with 260 fraction bits ----

const FB = 260n;
function atanInv(n: bigint): bigint {
  // atan(1/n) * 2^FB
  let pow = (1n << FB) / n;
  let sum = pow;
  const n2 = n * n;
  for (let k = 1n; pow !== 0n; k++) {
    pow /= n2;
    const t = pow / (2n * k + 1n);
    sum += k & 1n ? -t : t;
  }
  return sum;
}

export const PI: BF = bf(16n * atanInv(5n) - 4n * atanInv(239n), -Number(FB));
export const LN2: BF = (() => {
  // ln 2 = sum 1 / (k 2^k)
  let sum = 0n;
  for (let k = 1n; k < FB + 8n; k++) sum += (1n << FB) / (k << k);
  return bf(sum, -Number(FB));
})();

/** pi rounded to 66 bits: the x87 reduces FSIN/FCOS/FPTAN arguments with this value. */
export const PI66: BF = (() => {
  // PI = m * 2^e: keep 66 significant bits, rounded to nearest.
  const drop = bitLength(PI.m) - 66;
  const m = (PI.m + (1n << BigInt(drop - 1))) >> BigInt(drop);
  return { m, e: PI.e + drop };
})();
