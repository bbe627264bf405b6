// Source emitters for shifts and rotates by a constant (C0/C1 ib, D0/D1) of 32- and 64-bit
// operands whose flags are dead (the compiler proved them overwritten before anything can
// observe them): only the value is computed, as shift() (alu.ts) computes it. Live flags,
// counts in CL, 8/16-bit operands and the rotates through carry call shift() itself.
import type { EmitCtx } from './emit-mem.ts';
import { readRMW, writeRMAfterRead } from './emit-mem.ts';
import { flagsDead } from './emit-alu.ts';

/** r = a rotated/shifted by n (1..31), 32-bit. */
function value32(ext: number, n: number): string | null {
  switch (ext) {
    case 0: return `r = (a << ${n}) | (a >>> ${32 - n});\n`;
    case 1: return `r = (a >>> ${n}) | (a << ${32 - n});\n`;
    case 4: case 6: return `r = a << ${n};\n`;
    case 5: return `r = (a >>> ${n}) | 0;\n`;
    case 7: return `r = a >> ${n};\n`;
    default: return null;
  }
}

/** r:rhh = a:ah left by n (0..63) as a 64-bit rotate. */
function rotl64(n: number): string {
  let lo = 'a';
  let hi = 'ah';
  if (n >= 32) { lo = 'ah'; hi = 'a'; n -= 32; }
  if (n === 0) return `r = ${lo}; rhh = ${hi};\n`;
  return `r = (${lo} << ${n}) | (${hi} >>> ${32 - n}); rhh = (${hi} << ${n}) | (${lo} >>> ${32 - n});\n`;
}

/** r:rhh = a:ah shifted/rotated by n (1..63), 64-bit. */
function value64(ext: number, n: number): string | null {
  switch (ext) {
    case 0: return rotl64(n);
    case 1: return rotl64(64 - n);
    case 4: case 6:
      if (n < 32) return `rhh = (ah << ${n}) | (a >>> ${32 - n}); r = a << ${n};\n`;
      return `rhh = a << ${n - 32}; r = 0;\n`;
    case 5:
      if (n < 32) return `r = (a >>> ${n}) | (ah << ${32 - n}); rhh = (ah >>> ${n}) | 0;\n`;
      return `r = (ah >>> ${n - 32}) | 0; rhh = 0;\n`;
    case 7:
      if (n < 32) return `r = (a >>> ${n}) | (ah << ${32 - n}); rhh = ah >> ${n};\n`;
      return `r = ah >> ${n - 32}; rhh = ah >> 31;\n`;
    default: return null;
  }
}

/** C0/C1/D0/D1 with dead flags, 32/64-bit, count not zero once masked; else null. */
export function emitShiftConst(x: EmitCtx): string | null {
  const ins = x.ins;
  const op = ins.op;
  if (!flagsDead || (op !== 0xc1 && op !== 0xd1)) return null; // D2/D3 count in CL
  const size = ins.osize;
  if (size !== 32 && size !== 64) return null;
  const n = (op === 0xc1 ? ins.imm & 0xff : 1) & (size === 64 ? 63 : 31);
  if (n === 0) return null; // nothing shifted: shift() leaves value and flags as they are
  const v = size === 64 ? value64(ins.ext, n) : value32(ins.ext, n);
  if (v === null) return null;
  const rd = readRMW(x, size, 'a', 'ah');
  if (rd === null) return null;
  return rd + v + (size === 32 ? 'rhh = 0;\n' : '') + writeRMAfterRead(x, size, 'r', 'rhh');
}
