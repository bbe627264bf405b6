// Shapes shared by the native and emulated sides of the differential tests.
import type { ApproxSpec } from './approx.ts';

export const CODE_ADDR = 0x20000000;
export const CODE_OFFSET = 0x100;
export const WIN_ADDR = 0x10000000;
export const WIN_SIZE = 8192;

export const SIGTRAP = 5;
export const SIGILL = 4;
export const SIGFPE = 8;
export const SIGSEGV = 11;
export const SIGBUS = 7;

/** x87 state in the FXSAVE layout: FCW, FSW (TOP included), abridged tag byte, ST(0..7). */
export interface X87State {
  fcw: number;
  fsw: number;
  ftw: number; // bit i set: physical register i is not empty
  st: Uint8Array; // 80 bytes: ST(i) at i * 10, significand (8 bytes LE) then sign|exponent
}

/** FNINIT's state (what every non-x87 case starts from). */
export function initX87(): X87State {
  return { fcw: 0x37f, fsw: 0, ftw: 0, st: new Uint8Array(80) };
}

export interface DiffCase {
  /** Name for reports: the instruction's bytes and mnemonic hint. */
  name: string;
  gpr: bigint[]; // 16, in encoding order
  rflags: bigint;
  mxcsr: number;
  xmm: Uint8Array; // 256 bytes
  x87: X87State;
  code: Uint8Array; // <= 64 bytes, run at CODE_ADDR + CODE_OFFSET
  window: Uint8Array; // WIN_SIZE bytes at WIN_ADDR
  /** Flags the instruction leaves undefined (not compared). */
  undefinedFlags: number;
  /** FSW bits the instruction leaves undefined (C0-C3 after most arithmetic). */
  fswUndefined?: number;
  /** Window byte ranges [start, end) not compared (host-specific fields an instruction writes). */
  windowIgnore?: [number, number][];
  /** x87 transcendental: accept a 1-ulp difference in results and a different C1. */
  x87Approx?: boolean;
  /** Compare MXCSR exception flags (bits 0-5), not only its control bits. */
  mxcsrFlags?: boolean;
  /** Run in 32-bit compatibility mode (CS 0x23 natively): only EAX-EDI's low halves compared. */
  compat?: boolean;
  /** RCP/RSQRT estimate: these lanes agree within the architectural bound (approx.ts). */
  approx?: ApproxSpec;
}

export interface DiffResult {
  signal: number;
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  mxcsr: number;
  xmm: Uint8Array;
  x87: X87State;
  window: Uint8Array;
}
