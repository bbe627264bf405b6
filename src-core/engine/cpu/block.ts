// Decoded basic blocks, cached by the physical address of their first byte. A block is a
// run of instructions inside one 4 KiB page that ends at the first control transfer or
// state-changing system instruction. Before each use the block's bytes are compared with RAM
// as 32-bit words, which catches self-modifying code and DMA without any write tracking.
// Blocks are also the unit a later JIT will compile.
import { Instr } from './decode.ts';
import type { Cpu } from './cpu.ts';

/** A compiled block (jit/compile.ts): runs the block from c.rip, returns instructions completed. */
export type JitFn = (c: Cpu) => number;

export const MAX_BLOCK = 32;

export class Block {
  phys = -1;
  mode = 0;
  readonly instrs: Instr[] = [];
  n = 0;
  /** Word index (into a RAM Int32Array view) of the first word covering the block. */
  word0 = 0;
  words = new Int32Array(0);
  nwords = 0;
  /** Two-entry successor cache (most recent first): the blocks that last followed this one,
   * the RIP each started at and the translation epoch it was found in (skips the TLB and
   * hash lookup). */
  next: Block | null = null;
  nextRip = NaN;
  nextEpoch = -1;
  nextPhys = -1;
  /** Second successor (the other side of a conditional branch, another return site). */
  next2: Block | null = null;
  next2Rip = NaN;
  next2Epoch = -1;
  next2Phys = -1;
  /** Compiled code for exactly these decoded instructions; dropped when the block is rebuilt. */
  jit: JitFn | null = null;
  /** Executions counted towards compiling; negative once compiling was declined. */
  hits = 0;

  constructor() {
    // Physical addresses come from Float64Array TLB entries: keep them doubles from the start
    // (see doubleFields in cpu.ts; a later representation change deoptimises the run loop).
    this.phys = this.nextPhys = this.next2Phys = 0.5;
    this.phys = this.nextPhys = this.next2Phys = -1;
  }
}

/** Opcodes that end a block: control transfers and instructions that change how the
 * following bytes must be fetched or decoded (mode, paging, CS), or that want an
 * interrupt check right after them. */
export const ENDS_BLOCK = new Uint8Array(0x400);
(function build() {
  // Jcc ends a block too. (Running on along the fall-through path was tried: every execution
  // then re-checks the bytes after a loop's backward branch, and bench/cpu's compiled loop
  // ran at about half speed in a side-by-side run. The compiler handles a Jcc at any position.)
  for (let b = 0x70; b <= 0x7f; b++) ENDS_BLOCK[b] = 1;
  for (let b = 0x180; b <= 0x18f; b++) ENDS_BLOCK[b] = 1;
  for (const b of [0x07, 0x17, 0x1f, 0x8e, 0x9a, 0x9d, 0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xe0, 0xe1, 0xe2, 0xe3,
    0xe8, 0xe9, 0xea, 0xeb, 0xf1, 0xf4, 0xfb, 0xff, 0xc4, 0xc5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]) ENDS_BLOCK[b] = 1;
  for (const b of [0x00, 0x01, 0x05, 0x06, 0x07, 0x0b, 0x20, 0x21, 0x22, 0x23, 0x30, 0x34, 0x35, 0xa1, 0xa9, 0xae, 0xb2, 0xb4, 0xb5, 0xff, 0xb9]) {
    ENDS_BLOCK[0x100 | b] = 1;
  }
  // String instructions may restart themselves (REP): keep them last in a block.
  for (const b of [0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]) ENDS_BLOCK[b] = 1;
})();
