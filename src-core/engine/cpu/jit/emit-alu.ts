// Source emitters for integer ALU operations in compiled blocks. They reproduce alu()
// (alu.ts) exactly, including what it records for the lazy flags (flags.ts), so compiled and
// interpreted code leave identical state, except that the record is left out when the
// compiler has proved the flags dead (overwritten before anything can observe them).
import { OP_ADC, OP_ADD, OP_AND, OP_CMP, OP_OR, OP_SBB, OP_SUB } from '../alu.ts';
import { FL_ADC, FL_ADD, FL_LOGIC, FL_SBB, FL_SUB } from '../flags.ts';

const TWO32 = 4294967296;
const MASK: Record<number, number> = { 8: 0xff, 16: 0xffff, 32: -1 };

/** What the last aluOp() computed, for a Jcc/SETcc/CMOVcc right after it to test without
 * materialising the lazy flags (emit-cond.ts); null after ADC/SBB. The compiler resets it
 * per instruction (beginInstr). */
export interface FlagSrc {
  kind: 'add' | 'sub' | 'logic';
  size: number;
  a: string;
  ah: string;
  b: string;
  bh: string;
}
export let lastFlags: FlagSrc | null = null;
/** The flags this instruction writes are dead: emitters skip the lazy-flag record. */
export let flagsDead = false;

/** Called by the compiler before each instruction is emitted. */
export function beginInstr(dead: boolean): void {
  lastFlags = null;
  flagsDead = dead;
}

/**
 * Statements computing `r` (and `rhh` for 64-bit) = a OP b with lazy flags recorded.
 * a/ah/b/bh are expressions without side effects (locals or constants).
 */
export function aluOp(op: number, size: number, a: string, ah: string, b: string, bh: string): string {
  lastFlags = op === OP_ADC || op === OP_SBB ? null :
    { kind: op === OP_ADD ? 'add' : op === OP_SUB || op === OP_CMP ? 'sub' : 'logic', size, a, ah, b, bh };
  if (op === OP_ADC || op === OP_SBB) return carryOp(op === OP_ADC, size, a, ah, b, bh);
  if (size === 64) {
    const lazy = (fl: number, x: string, xh: string, y: string, yh: string): string => flagsDead ? '' :
      `c.flOp = ${fl}; c.flSize = 64; c.flRes = r; c.flResH = rhh; c.flA = ${x}; c.flAH = ${xh}; c.flB = ${y}; c.flBH = ${yh};\n`;
    switch (op) {
      case OP_ADD:
        return `sm = (${a} >>> 0) + (${b} >>> 0); r = sm | 0; rhh = (${ah} + ${bh} + (sm >= ${TWO32} ? 1 : 0)) | 0;\n` +
          lazy(FL_ADD, a, ah, b, bh);
      case OP_SUB: case OP_CMP:
        return `sm = (${a} >>> 0) - (${b} >>> 0); r = sm | 0; rhh = (${ah} - ${bh} - (sm < 0 ? 1 : 0)) | 0;\n` +
          lazy(FL_SUB, a, ah, b, bh);
      default: {
        const o = op === OP_OR ? '|' : op === OP_AND ? '&' : '^';
        return `r = ${a} ${o} ${b}; rhh = ${ah} ${o} ${bh};\n` + lazy(FL_LOGIC, '0', '0', '0', '0');
      }
    }
  }
  const m = MASK[size]!;
  let expr: string;
  let fl: number;
  switch (op) {
    case OP_ADD: expr = `(${a} + ${b}) & ${m}`; fl = FL_ADD; break;
    case OP_SUB: case OP_CMP: expr = `(${a} - ${b}) & ${m}`; fl = FL_SUB; break;
    case OP_OR: expr = `(${a} | ${b}) & ${m}`; fl = FL_LOGIC; break;
    case OP_AND: expr = `${a} & ${b} & ${m}`; fl = FL_LOGIC; break;
    default: expr = `(${a} ^ ${b}) & ${m}`; fl = FL_LOGIC; break;
  }
  if (flagsDead) return `r = ${expr}; rhh = 0;\n`;
  return `r = ${expr}; c.flOp = ${fl}; c.flSize = ${size}; c.flRes = r; c.flA = ${a}; c.flB = ${b}; rhh = 0;\n`;
}

/**
 * ADC/SBB as alu() computes them, with the carry in already in the local `q` (0 or 1): the
 * emitter sets it before loading the operands (emit-ops.ts carryIn), since a carry fused from
 * the instruction before reads locals the operand loads overwrite.
 */
function carryOp(add: boolean, size: number, a: string, ah: string, b: string, bh: string): string {
  const fl = add ? FL_ADC : FL_SBB;
  if (size === 64) {
    const s = add ? `sm = (${a} >>> 0) + (${b} >>> 0) + q; r = sm | 0; rhh = (${ah} + ${bh} + (sm >= ${TWO32} ? 1 : 0)) | 0;\n` :
      `sm = (${a} >>> 0) - (${b} >>> 0) - q; r = sm | 0; rhh = (${ah} - ${bh} - (sm < 0 ? 1 : 0)) | 0;\n`;
    if (flagsDead) return s;
    return s + `c.flCf = q; c.flOp = ${fl}; c.flSize = 64; c.flRes = r; c.flResH = rhh; c.flA = ${a}; c.flAH = ${ah}; c.flB = ${b}; c.flBH = ${bh};\n`;
  }
  const s = `r = (${a} ${add ? '+' : '-'} ${b} ${add ? '+' : '-'} q) & ${MASK[size]!}; rhh = 0;\n`;
  if (flagsDead) return s;
  return s + `c.flCf = q; c.flOp = ${fl}; c.flSize = ${size}; c.flRes = r; c.flA = ${a}; c.flB = ${b};\n`;
}
