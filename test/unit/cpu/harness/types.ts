// Shapes shared by the native and emulated sides of the differential tests.
export const CODE_ADDR = 0x20000000;
export const CODE_OFFSET = 0x100;
export const WIN_ADDR = 0x10000000;
export const WIN_SIZE = 8192;

export const SIGTRAP = 5;
export const SIGILL = 4;
export const SIGFPE = 8;
export const SIGSEGV = 11;
export const SIGBUS = 7;

export interface DiffCase {
  /** Name for reports: the instruction's bytes and mnemonic hint. */
  name: string;
  gpr: bigint[]; // 16, in encoding order
  rflags: bigint;
  mxcsr: number;
  xmm: Uint8Array; // 256 bytes
  code: Uint8Array; // <= 64 bytes, run at CODE_ADDR + CODE_OFFSET
  window: Uint8Array; // WIN_SIZE bytes at WIN_ADDR
  /** Flags the instruction leaves undefined (not compared). */
  undefinedFlags: number;
}

export interface DiffResult {
  signal: number;
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  mxcsr: number;
  xmm: Uint8Array;
  window: Uint8Array;
}
