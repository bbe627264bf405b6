// x87 FPU state. Registers hold the full 80-bit extended format: the 64-bit significand of
// physical register p is mmx[2p] (low) and mmx[2p+1] (high), which is also the MMX register
// p (the architectural aliasing), and se[p] holds sign and exponent. Arithmetic is in
// float80/ (a soft-float with BigInt significands).
import type { DeviceState } from '../device.ts';
import type { Cpu } from './cpu.ts';
import type { F80 } from './float80/core.ts';
import { Cls, DBL, Flags, classify } from './float80/core.ts';
import { fromIeee } from './float80/convert.ts';
import { EX_MF, CR0_NE } from './constants.ts';

/** FSW bits. */
export const SW_SF = 0x40, SW_ES = 0x80, SW_C0 = 0x100, SW_C1 = 0x200, SW_C2 = 0x400, SW_C3 = 0x4000, SW_B = 0x8000;

export class Fpu {
  /** Significands (lo, hi int32 pairs per physical register) = the MMX registers. */
  readonly mmx = new Int32Array(16);
  /** Sign and exponent per physical register. */
  readonly se = new Uint16Array(8);
  /** Tag per physical register: 0 valid, 1 zero, 2 special, 3 empty. */
  readonly tag = new Uint8Array(8).fill(3);
  top = 0;
  cw = 0x37f;
  sw = 0;
  fip = 0;
  fdp = 0;
  fop = 0;

  /** RESET: FNINIT's state with the data registers cleared (MMX registers read as zero). */
  reset(): void {
    this.mmx.fill(0);
    this.se.fill(0);
    this.init();
  }

  /** FNINIT/FSAVE: control, status and tags only; the register contents stay. */
  init(): void {
    this.tag.fill(3);
    this.top = 0;
    this.cw = 0x37f;
    this.sw = 0;
    this.fip = 0;
    this.fdp = 0;
    this.fop = 0;
  }

  /** A pending unmasked exception (FSW.ES) faults the next waiting x87 instruction. */
  checkPending(c: Cpu): void {
    if (this.sw & SW_ES) {
      // Without CR0.NE the legacy FERR#/IRQ 13 path would apply; no board wires it, so the
      // exception is left pending (as with IGNNE# asserted).
      if (c.cr0 & CR0_NE) c.fault(EX_MF);
    }
  }

  phys(i: number): number {
    return (this.top + i) & 7;
  }

  /** ST(i) as an 80-bit value. */
  get(i: number): F80 {
    return this.getPhys((this.top + i) & 7);
  }

  getPhys(p: number): F80 {
    const m = (BigInt(this.mmx[p * 2 + 1]! >>> 0) << 32n) | BigInt(this.mmx[p * 2]! >>> 0);
    return { se: this.se[p]!, m };
  }

  isEmpty(i: number): boolean {
    return this.tag[(this.top + i) & 7] === 3;
  }

  set(i: number, v: F80): void {
    this.setPhys((this.top + i) & 7, v);
  }

  setPhys(p: number, v: F80): void {
    this.mmx[p * 2] = Number(v.m & 0xffffffffn) | 0;
    this.mmx[p * 2 + 1] = Number(v.m >> 32n) | 0;
    this.se[p] = v.se;
    this.tag[p] = tagOf(v);
  }

  /** Push without checks (the caller handled stack overflow). */
  push(v: F80): void {
    this.top = (this.top - 1) & 7;
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

  /** FXRSTOR's abridged tag: bit set = not empty; the full tag comes from the contents. */
  setAbridgedTag(t: number): void {
    for (let p = 0; p < 8; p++) this.tag[p] = t & (1 << p) ? tagOf(this.getPhys(p)) : 3;
  }

  abridgedTag(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) if (this.tag[p] !== 3) t |= 1 << p;
    return t;
  }

  save(): DeviceState {
    return {
      version: 2, sig: this.mmx.slice(), se: this.se.slice(), tag: this.tag.slice(), top: this.top, cw: this.cw, sw: this.sw,
      fip: this.fip, fdp: this.fdp, fop: this.fop,
    };
  }

  load(s: DeviceState): void {
    if (!s || typeof s !== 'object') throw new Error('CPU state: FPU state is missing');
    if (s.version === undefined && s.st instanceof Float64Array && s.st.length === 8) s = upgradeV1(s);
    if (s.version !== 2) throw new Error(`CPU state: unsupported FPU state version ${String(s.version)}`);
    if (!(s.sig instanceof Int32Array) || s.sig.length !== 16) throw new Error('CPU state: FPU significands are missing or have the wrong length');
    if (!(s.se instanceof Uint16Array) || s.se.length !== 8) throw new Error('CPU state: FPU sign/exponent words are missing or have the wrong length');
    if (!(s.tag instanceof Uint8Array) || s.tag.length !== 8) throw new Error('CPU state: FPU tags are missing or have the wrong length');
    this.mmx.set(s.sig);
    this.se.set(s.se);
    this.tag.set(s.tag);
    this.top = Number(s.top) & 7;
    this.cw = Number(s.cw) & 0xffff;
    this.sw = Number(s.sw) & 0xffff;
    this.fip = Number(s.fip) >>> 0;
    this.fdp = Number(s.fdp) >>> 0;
    this.fop = Number(s.fop) & 0x7ff;
  }
}

/** Snapshots from before 80-bit registers held doubles: widen them exactly. */
function upgradeV1(s: DeviceState): DeviceState {
  const st = s.st as Float64Array;
  const sig = new Int32Array(16);
  const se = new Uint16Array(8);
  const dv = new DataView(new ArrayBuffer(8));
  for (let p = 0; p < 8; p++) {
    dv.setFloat64(0, st[p]!, true);
    const v = fromIeee(dv.getBigUint64(0, true), DBL, new Flags(), true);
    [sig[p * 2], sig[p * 2 + 1], se[p]] = regWords(v);
  }
  // MMX contents were kept separately; as the old FXSAVE did, they stand for empty registers.
  const tag = s.tag instanceof Uint8Array ? s.tag : new Uint8Array(8).fill(3);
  if (s.mmx instanceof Int32Array && s.mmx.length === 16) {
    for (let p = 0; p < 8; p++) if (tag[p] === 3 && (s.mmx[p * 2] !== 0 || s.mmx[p * 2 + 1] !== 0)) { sig[p * 2] = s.mmx[p * 2]!; sig[p * 2 + 1] = s.mmx[p * 2 + 1]!; se[p] = 0xffff; }
  }
  return { version: 2, sig, se, tag, top: s.top, cw: s.cw, sw: s.sw, fip: 0, fdp: 0, fop: 0 };
}

/** The full tag of a register value (FXRSTOR and loads recompute it like this). */
export function tagOf(v: F80): number {
  switch (classify(v)) {
    case Cls.Zero: return 1;
    case Cls.Normal: return 0;
    default: return 2;
  }
}

/** Memory image of a register: [significand lo, hi, sign|exponent]. */
export function regWords(v: F80): [number, number, number] {
  return [Number(v.m & 0xffffffffn) | 0, Number(v.m >> 32n) | 0, v.se];
}

export function fromWords(lo: number, hi: number, se: number): F80 {
  return { se: se & 0xffff, m: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) };
}
