// x87 FPU state. Values are held as JavaScript doubles (53-bit significand), not 80-bit
// extended: results that depend on the extra 11 bits of precision differ from hardware (see
// the report). Loads and stores of the 80-bit memory format convert exactly where the value
// fits a double.
import type { DeviceState } from '../device.ts';
import type { Cpu } from './cpu.ts';

export class Fpu {
  readonly st = new Float64Array(8); // physical registers
  /** Tag per physical register: 0 valid, 1 zero, 2 special, 3 empty. */
  readonly tag = new Uint8Array(8).fill(3);
  top = 0;
  cw = 0x37f;
  sw = 0;
  fip = 0;
  fdp = 0;
  fop = 0;
  /** MMX: the 64-bit integer view of each register (lo, hi), kept in parallel. */
  readonly mmx = new Int32Array(16);

  reset(): void {
    this.st.fill(0);
    this.tag.fill(3);
    this.top = 0;
    this.cw = 0x37f;
    this.sw = 0;
    this.fip = 0;
    this.fdp = 0;
    this.fop = 0;
    this.mmx.fill(0);
  }

  /** Pending unmasked exception check for FWAIT (exceptions are not generated: masked default). */
  checkPending(c: Cpu): void {
    void c;
  }

  get(i: number): number {
    return this.st[(this.top + i) & 7]!;
  }

  isEmpty(i: number): boolean {
    return this.tag[(this.top + i) & 7] === 3;
  }

  set(i: number, v: number): void {
    const p = (this.top + i) & 7;
    this.st[p] = v;
    this.tag[p] = v === 0 ? 1 : Number.isFinite(v) ? 0 : 2;
  }

  push(v: number): void {
    this.top = (this.top - 1) & 7;
    if (this.tag[this.top] !== 3) this.sw |= 0x41 | 0x200; // stack overflow: IE + SF + C1
    this.set(0, v);
  }

  pop(): void {
    this.tag[this.top] = 3;
    this.top = (this.top + 1) & 7;
  }

  statusWord(): number {
    return (this.sw & ~0x3800) | (this.top << 11);
  }

  tagWord(): number {
    let t = 0;
    for (let i = 0; i < 8; i++) t |= this.tag[i]! << (i * 2);
    return t;
  }

  setTagWord(t: number): void {
    for (let i = 0; i < 8; i++) this.tag[i] = (t >> (i * 2)) & 3;
  }

  save(): DeviceState {
    return { st: this.st.slice(), tag: this.tag.slice(), top: this.top, cw: this.cw, sw: this.sw, mmx: this.mmx.slice() };
  }

  load(s: DeviceState): void {
    if (!s || !(s.st instanceof Float64Array) || !(s.tag instanceof Uint8Array)) throw new Error('CPU state: FPU state is missing');
    this.st.set(s.st);
    this.tag.set(s.tag);
    this.top = Number(s.top) & 7;
    this.cw = Number(s.cw);
    this.sw = Number(s.sw);
    if (s.mmx instanceof Int32Array) this.mmx.set(s.mmx);
  }
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** Double -> 80-bit extended: [mantissa lo, mantissa hi, sign|exponent]. */
export function toExtended(v: number): [number, number, number] {
  F64[0] = v;
  const lo = U32[0]!;
  const hi = U32[1]!;
  const sign = hi >>> 31;
  const exp = (hi >>> 20) & 0x7ff;
  let mhi = ((hi & 0xfffff) << 11) | (lo >>> 21);
  let mlo = (lo << 11) >>> 0;
  let e: number;
  if (exp === 0) {
    if ((mhi | mlo) === 0) return [0, 0, sign << 15];
    // Denormal double: normalise into the extended format.
    e = 1 - 1023 + 16383;
    while (!(mhi & 0x80000000)) {
      mhi = ((mhi << 1) | (mlo >>> 31)) >>> 0;
      mlo = (mlo << 1) >>> 0;
      e--;
    }
    return [mlo, mhi >>> 0, (sign << 15) | e];
  }
  if (exp === 0x7ff) return [mlo, (mhi | 0x80000000) >>> 0, (sign << 15) | 0x7fff];
  e = exp - 1023 + 16383;
  return [mlo, (mhi | 0x80000000) >>> 0, (sign << 15) | e];
}

/** 80-bit extended -> double (rounded to nearest). */
export function fromExtended(mlo: number, mhi: number, se: number): number {
  const sign = se & 0x8000 ? -1 : 1;
  const e = se & 0x7fff;
  if (e === 0x7fff) return (mhi & 0x7fffffff) === 0 && mlo === 0 ? sign * Infinity : NaN;
  const m = (mhi >>> 0) * 4294967296 + (mlo >>> 0); // rounds to 53 bits
  if (m === 0) return sign * 0;
  return sign * m * Math.pow(2, e - 16383 - 63);
}
