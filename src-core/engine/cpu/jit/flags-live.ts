// Which instructions of a block leave flags nobody can observe. An instruction's flags are
// dead when a later instruction of the same block overwrites all six arithmetic flags before
// anything could read them, and nothing in between can observe them: every instruction up to
// and including the overwriting one is compiled inline (no interpreter fallback), touches no
// memory (so it cannot fault with the flags pushed on the exception frame, nor return early
// to take an interrupt) and does not branch. The emitters then skip the flag work (the lazy
// record, or the whole flag computation of a shift).
import type { Instr } from '../decode.ts';

export const enum FlagUse {
  /** Neither reads nor writes the arithmetic flags. */
  None,
  /** Writes all six arithmetic flags and reads none. */
  WritesAll,
  /** Reads some flags, writes only some, or is not known here. */
  Other,
}

/** How `ins` uses the flags, as the interpreter executes it. */
export function flagUse(ins: Instr): FlagUse {
  const op = ins.op;
  if (op < 0x40 && (op & 7) < 6) {
    const aop = op >> 3;
    return aop === 2 || aop === 3 ? FlagUse.Other : FlagUse.WritesAll; // ADC/SBB read CF
  }
  switch (op) {
    case 0x80: case 0x81: case 0x83:
      return ins.ext === 2 || ins.ext === 3 ? FlagUse.Other : FlagUse.WritesAll;
    case 0x84: case 0x85: case 0xa8: case 0xa9:
    case 0x69: case 0x6b: case 0x1af: // IMUL sets CF/OF, SF/ZF/PF from the result, AF clear
      return FlagUse.WritesAll;
    case 0xf6: case 0xf7:
      if (ins.ext === 2) return FlagUse.None; // NOT
      return ins.ext <= 3 ? FlagUse.WritesAll : FlagUse.Other; // TEST, NEG; MUL/DIV are not tracked
    case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8d: case 0xc6: case 0xc7: case 0x63:
    case 0x90: case 0x98: case 0x99: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
      return FlagUse.None;
  }
  if (op >= 0xb0 && op <= 0xbf) return FlagUse.None; // MOV r, imm
  return FlagUse.Other;
}

function readsForOwnFlags(ins: Instr): boolean {
  const op = ins.op;
  if (op >= 0xc0 && op <= 0xd3 && op !== 0xc2 && op !== 0xc3 && (op <= 0xc1 || op >= 0xd0)) return ins.ext !== 2 && ins.ext !== 3;
  return (op === 0xfe || op === 0xff) && ins.ext < 2;
}

/** What the compiler learnt about each instruction from a first emission. */
export interface EmitFacts {
  /** Compiled inline (not a call to execute()). */
  inlined: boolean;
  /** Touches memory (may fault, may end the block early). */
  mem: boolean;
  /** Does not branch (Jcc and branches end or leave the block). */
  plain: boolean;
}

/** dead[k]: the flags instruction k writes are overwritten before they can be observed. */
export function deadFlags(instrs: readonly Instr[], facts: readonly EmitFacts[]): boolean[] {
  const n = facts.length;
  const dead = new Array<boolean>(n).fill(false);
  // Scan backwards: `killed` = from the next instruction on, the flags are overwritten
  // before any observation point.
  let killed = false;
  for (let k = n - 1; k >= 0; k--) {
    dead[k] = killed;
    const f = facts[k]!;
    if (!f.inlined || f.mem || !f.plain) { killed = false; continue; }
    const ins = instrs[k]!;
    // A shift, rotate or INC/DEC reads the old flags only to compute its own: with its own
    // flags dead it passes the state through (RCL/RCR use CF for the value itself).
    const use = killed && readsForOwnFlags(ins) ? FlagUse.None : flagUse(ins);
    if (use === FlagUse.WritesAll) killed = true;
    else if (use === FlagUse.Other) killed = false;
    // None: passes the state through.
  }
  return dead;
}
