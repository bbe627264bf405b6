// x87 FPU state. Registers hold the full 80-bit extended format: the 64-bit significand of
// physical register p is mmx[2p] (low) and mmx[2p+1] (high), which is also the MMX register
// p (the architectural aliasing), and se[p] holds sign and exponent. Arithmetic is in
// float80/ (a soft-float with BigInt significands).
//
// The last non-control instruction's pointers (FIP/FCS, FDP/FDS) and opcode (FOP) are kept
// as hardware does (fpu-pointers.ts records them, fpu-env.ts and fxsave.ts store and load them).
// With CR0.NE clear, a pending unmasked exception is reported the PC way: FERR# to the board
// (devices/fpu-error.ts), which raises IRQ 13 and may answer with IGNNE#.
import type { DeviceState } from '../device.ts';
import type { Cpu } from './cpu.ts';
import type { F80 } from './float80/core.ts';
import { Cls, DBL, Flags, classify } from './float80/core.ts';
import { fromIeee } from './float80/convert.ts';
import { EX_MF, CR0_NE } from './constants.ts';

/**
 * Pseudo-vector for c.fault(): the instruction does not run and nothing is delivered; RIP
 * stays at it (system/interrupts.ts deliverPending). An x87 instruction frozen by a pending
 * exception with CR0.NE clear uses it, having marked the CPU halted until an interrupt.
 * (Defined here, not in interrupts.ts: this module must not import the interrupt code, which
 * imports the x87 files that need this one's constants while it loads.)
 */
export const EV_FREEZE = -2;

/** The board's side of the x87 error pins (devices/fpu-error.ts implements it). */
export interface FerrPins {
  /** FERR# driven active (true) or inactive. */
  ferr(active: boolean): void;
  /** IGNNE#: while asserted, a pending exception does not stop waiting x87 instructions. */
  readonly ignne: boolean;
}

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
  /** Last non-control instruction: offset (a canonical number in 64-bit mode) and CS selector. */
  fip = 0;
  fcs = 0;
  /** Its memory operand's offset and segment selector (unchanged by register-only forms). */
  fdp = 0;
  fds = 0;
  /** Its opcode: low 3 bits of the first byte, then the ModR/M byte (11 bits). */
  fop = 0;
  /** FERR# pins of the board, when one wires them (the BSP on a PC); null: nothing wired. */
  pins: FerrPins | null = null;
  /** The level last driven on FERR#. */
  ferr = false;

  /** RESET: FNINIT's state with the data registers cleared (MMX registers read as zero). */
  reset(): void {
    this.mmx.fill(0);
    this.se.fill(0);
    this.init();
    this.ferr = false; // the board's pins reset with the machine
  }

  /** FNINIT/FSAVE: control, status and tags only; the register contents stay. */
  init(): void {
    this.tag.fill(3);
    this.top = 0;
    this.cw = 0x37f;
    this.sw = 0;
    this.fip = 0;
    this.fcs = 0;
    this.fdp = 0;
    this.fds = 0;
    this.fop = 0;
  }

  /**
   * A pending unmasked exception (FSW.ES) at a waiting x87 (or MMX) instruction: #MF with
   * CR0.NE set. With NE clear (MS-DOS compatibility) the processor asserts FERR# and freezes
   * before the instruction until an interrupt arrives (the board turns FERR# into IRQ 13, so
   * the handler's IRET comes back to this instruction), unless the board asserts IGNNE#: then
   * the instruction runs and the exception stays pending. Without a board nothing would ever
   * wake a frozen CPU, so the exception is ignored as with IGNNE#.
   */
  checkPending(c: Cpu): void {
    if ((this.sw & SW_ES) === 0) return;
    if (c.cr0 & CR0_NE) c.fault(EX_MF);
    const p = this.pins;
    if (p === null) return;
    this.updateFerr(c);
    if (p.ignne) return;
    c.halted = true;
    c.fault(EV_FREEZE);
  }

  /**
   * FERR# follows ES while CR0.NE is clear. As on the P6 family, it is asserted as soon as an
   * instruction leaves an unmasked exception pending (not deferred to the next x87 instruction
   * as on the 486/Pentium), and released when ES clears (FNCLEX, FNINIT, FLDENV, ...).
   */
  updateFerr(c: Cpu): void {
    const level = (this.sw & SW_ES) !== 0 && (c.cr0 & CR0_NE) === 0;
    if (level === this.ferr) return;
    this.ferr = level;
    this.pins?.ferr(level);
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
      version: 3, sig: this.mmx.slice(), se: this.se.slice(), tag: this.tag.slice(), top: this.top, cw: this.cw, sw: this.sw,
      fip: this.fip, fcs: this.fcs, fdp: this.fdp, fds: this.fds, fop: this.fop, ferr: this.ferr,
    };
  }

  load(s: DeviceState): void {
    if (!s || typeof s !== 'object') throw new Error('CPU state: FPU state is missing');
    if (s.version === undefined && s.st instanceof Float64Array && s.st.length === 8) s = upgradeV1(s);
    // Version 2 had no selectors or FERR# level: they load as zero / inactive.
    if (s.version !== 2 && s.version !== 3) throw new Error(`CPU state: unsupported FPU state version ${String(s.version)}`);
    if (!(s.sig instanceof Int32Array) || s.sig.length !== 16) throw new Error('CPU state: FPU significands are missing or have the wrong length');
    if (!(s.se instanceof Uint16Array) || s.se.length !== 8) throw new Error('CPU state: FPU sign/exponent words are missing or have the wrong length');
    if (!(s.tag instanceof Uint8Array) || s.tag.length !== 8) throw new Error('CPU state: FPU tags are missing or have the wrong length');
    this.mmx.set(s.sig);
    this.se.set(s.se);
    this.tag.set(s.tag);
    this.top = Number(s.top) & 7;
    this.cw = Number(s.cw) & 0xffff;
    this.sw = Number(s.sw) & 0xffff;
    this.fip = pointer(s.fip, 'FIP');
    this.fcs = Number(s.fcs ?? 0) & 0xffff;
    this.fdp = pointer(s.fdp, 'FDP');
    this.fds = Number(s.fds ?? 0) & 0xffff;
    this.fop = Number(s.fop) & 0x7ff;
    this.ferr = s.ferr === true;
  }
}

/** An instruction or operand offset from a snapshot: an integer (64-bit ones are canonical). */
function pointer(v: unknown, what: string): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n)) throw new Error(`CPU state: FPU ${what} is not an integer (${String(v)})`);
  return n;
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
