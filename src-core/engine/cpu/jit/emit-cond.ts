// Condition tests fused with the ALU instruction just before a Jcc: when the compiler knows
// which operation set the flags and its operands are still in locals (emit-alu.ts FlagSrc),
// the branch condition is computed from them directly, exactly as the lazy flags would give
// it (flags.ts), without calling cond(). Everything else (parity, overflow of ADD/SUB, ...)
// returns null and the compiled code calls H.cond().
import type { FlagSrc } from './emit-alu.ts';

/** JavaScript boolean expression for condition `cc` after `f`, or null when not fused. */
export function fuseCond(f: FlagSrc, cc: number): string | null {
  const base = cc & ~1;
  const neg = (cc & 1) !== 0;
  let e: string | null;
  switch (base) {
    case 4: e = zero(f); break; // E / NE
    case 8: e = sign(f); break; // S / NS
    case 2: e = f.kind === 'logic' ? 'false' : f.kind === 'sub' ? below(f) : carry(f); break; // B / AE
    case 6: // BE / A
      e = f.kind === 'logic' ? zero(f) : `(${f.kind === 'sub' ? below(f) : carry(f)} || ${zero(f)})`;
      break;
    case 12: e = f.kind === 'sub' ? less(f) : f.kind === 'logic' ? sign(f) : null; break; // L / GE
    case 14: { // LE / G
      if (f.kind === 'sub') e = `(${less(f)} || ${zero(f)})`;
      else e = f.kind === 'logic' ? `(${zero(f)} || ${sign(f)})` : null;
      break;
    }
    default: e = null; // O / NO, P / NP
  }
  if (e === null) return null;
  return neg ? `!${e}` : e;
}

/** CF as 0 or 1 after `f` (ADC/SBB's carry in), or null when `f` is unknown. */
export function carryIn(f: FlagSrc | null): string | null {
  if (f === null) return null;
  if (f.kind === 'logic') return '0';
  return `(${f.kind === 'sub' ? below(f) : carry(f)} ? 1 : 0)`;
}

/** ZF: the result (r, rhh) is zero. */
function zero(f: FlagSrc): string {
  return f.size === 64 ? '((r | rhh) === 0)' : '(r === 0)';
}

/** SF: the result's top bit. */
function sign(f: FlagSrc): string {
  switch (f.size) {
    case 8: return '((r & 128) !== 0)';
    case 16: return '((r & 32768) !== 0)';
    case 32: return '((r | 0) < 0)';
    default: return '((rhh | 0) < 0)';
  }
}

/** CF after a - b: a < b unsigned. */
function below(f: FlagSrc): string {
  const { a, ah, b, bh } = f;
  switch (f.size) {
    case 8: return `((${a} & 255) < (${b} & 255))`;
    case 16: return `((${a} & 65535) < (${b} & 65535))`;
    case 32: return `((${a} >>> 0) < (${b} >>> 0))`;
    default:
      return `((${ah} >>> 0) < (${bh} >>> 0) || ((${ah} | 0) === (${bh} | 0) && (${a} >>> 0) < (${b} >>> 0)))`;
  }
}

/** CF after r = a + b: the result wrapped below a (unsigned), as computeArith tests it. */
function carry(f: FlagSrc): string {
  const { a, ah } = f;
  switch (f.size) {
    case 8: return `((r & 255) < (${a} & 255))`;
    case 16: return `((r & 65535) < (${a} & 65535))`;
    case 32: return `((r >>> 0) < (${a} >>> 0))`;
    default: return `((rhh >>> 0) < (${ah} >>> 0) || ((rhh | 0) === (${ah} | 0) && (r >>> 0) < (${a} >>> 0)))`;
  }
}

/** SF != OF after a - b: a < b signed. */
function less(f: FlagSrc): string {
  const { a, ah, b, bh } = f;
  switch (f.size) {
    case 8: return `(((${a} << 24) >> 24) < ((${b} << 24) >> 24))`;
    case 16: return `(((${a} << 16) >> 16) < ((${b} << 16) >> 16))`;
    case 32: return `((${a} | 0) < (${b} | 0))`;
    default:
      return `((${ah} | 0) < (${bh} | 0) || ((${ah} | 0) === (${bh} | 0) && (${a} >>> 0) < (${b} >>> 0)))`;
  }
}
