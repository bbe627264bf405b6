// Source emitters for integer ALU operations in compiled blocks. They reproduce alu()
// (alu.ts) exactly, including what it records for the lazy flags (flags.ts), so compiled and
// interpreted code leave identical state. ADC/SBB and everything rarer call the helpers.
import { OP_ADC, OP_ADD, OP_AND, OP_CMP, OP_OR, OP_SBB, OP_SUB } from '../alu.ts';
import { FL_ADD, FL_LOGIC, FL_SUB } from '../flags.ts';

const TWO32 = 4294967296;
const MASK: Record<number, number> = { 8: 0xff, 16: 0xffff, 32: -1 };

/** What the last aluOp() computed, for a Jcc right after it to test without materialising
 * the lazy flags (emit-cond.ts); null after ADC/SBB. The compiler clears it per instruction. */
export interface FlagSrc {
  kind: 'add' | 'sub' | 'logic';
  size: number;
  a: string;
  ah: string;
  b: string;
  bh: string;
}
export let lastFlags: FlagSrc | null = null;
export function clearFlagSrc(): void {
  lastFlags = null;
}

/**
 * Statements computing `r` (and `rhh` for 64-bit) = a OP b with lazy flags recorded.
 * a/ah/b/bh are expressions without side effects (locals or constants).
 */
export function aluOp(op: number, size: number, a: string, ah: string, b: string, bh: string): string {
  lastFlags = op === OP_ADC || op === OP_SBB ? null :
    { kind: op === OP_ADD ? 'add' : op === OP_SUB || op === OP_CMP ? 'sub' : 'logic', size, a, ah, b, bh };
  if (op === OP_ADC || op === OP_SBB) return `r = H.alu(c, ${op}, ${size}, ${a}, ${ah}, ${b}, ${bh}); rhh = c.rhi;\n`;
  if (size === 64) {
    const lazy = (fl: number, x: string, xh: string, y: string, yh: string): string =>
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
  return `r = ${expr}; c.flOp = ${fl}; c.flSize = ${size}; c.flRes = r; c.flA = ${a}; c.flB = ${b}; rhh = 0;\n`;
}
