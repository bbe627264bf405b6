// x87 instruction classes and the last-instruction state: which forms wait for pending
// exceptions, which are control instructions (they leave FIP/FDP/FOP alone), the size of
// each memory form's operand (checked over its whole width), and the recording of FIP/FCS,
// FDP/FDS and FOP by the others (execFpu in fpu-exec.ts calls these).
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CS } from './constants.ts';
import { wideLin, wideOff, wideSeg } from './system/mem-operand.ts';

/** Instructions that do not check for pending exceptions (the FN- forms). */
export function noWait(ins: Instr): boolean {
  const op = ins.op;
  if (ins.mod !== 3) return (op === 0xd9 || op === 0xdd) && ins.ext >= 6;
  return (op === 0xdb && ins.ext === 4) || (op === 0xdf && ins.ext === 4 && (ins.rm & 7) === 0);
}

/**
 * Control instructions leave FIP/FDP/FOP alone: the no-wait forms plus FLDENV, FLDCW and
 * FRSTOR (FENI/FDISI/FSETPM, DB E0/E1/E4, affect no state at all).
 */
export function isControl(ins: Instr): boolean {
  if (noWait(ins)) return true;
  return ins.mod !== 3 && (ins.op === 0xd9 ? ins.ext === 4 || ins.ext === 5 : ins.op === 0xdd && ins.ext === 4);
}

/**
 * Memory operand size per first byte (D8-DF) and ModR/M reg field; negative: stored to.
 * 0 marks the environment forms (FLDENV/FNSTENV 14/28 bytes, FRSTOR/FNSAVE 94/108), UD the
 * undefined memory forms (D9 /1, DB /4, DB /6, DD /5).
 */
export const UD = 99;
export const MEM_SIZE: readonly (readonly number[])[] = [
  [4, 4, 4, 4, 4, 4, 4, 4], // D8: m32real
  [4, UD, -4, -4, 0, 2, 0, -2], // D9: FLD/FST/FSTP m32, FLDENV, FLDCW, FNSTENV, FNSTCW
  [4, 4, 4, 4, 4, 4, 4, 4], // DA: m32int
  [4, -4, -4, -4, UD, 10, UD, -10], // DB: FILD, FISTTP/FIST/FISTP m32, FLD m80, FSTP m80
  [8, 8, 8, 8, 8, 8, 8, 8], // DC: m64real
  [8, -8, -8, -8, 0, UD, 0, -2], // DD: FLD, FISTTP, FST, FSTP m64, FRSTOR, FNSAVE, FNSTSW
  [2, 2, 2, 2, 2, 2, 2, 2], // DE: m16int
  [2, -2, -2, -2, 10, 8, -10, -8], // DF: FILD, FISTTP/FIST/FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64
];

/**
 * Defined register forms per first byte (D8-DF) and ModR/M reg field: bit rm set when
 * D8+op C0+reg*8+rm is an instruction (the reserved aliases the host runs included). The rest
 * raise #UD before any pending-exception check, like the undefined memory forms.
 */
export const REG_FORMS: readonly (readonly number[])[] = [
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // D8: arithmetic, FCOM, FCOMP
  [0xff, 0xff, 0x01, 0xff, 0x33, 0x7f, 0xff, 0xff], // D9: FLD, FXCH, FNOP, FSTP alias, FCHS/FABS/FTST/FXAM, constants, D9 F0-FF
  [0xff, 0xff, 0xff, 0xff, 0x00, 0x02, 0x00, 0x00], // DA: FCMOVcc, FUCOMPP
  [0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0x00], // DB: FCMOVNcc, FNENI..FNSETPM, FUCOMI, FCOMI
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // DC: arithmetic, FCOM/FCOMP aliases
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00], // DD: FFREE, FXCH alias, FST, FSTP, FUCOM, FUCOMP
  [0xff, 0xff, 0xff, 0x02, 0xff, 0xff, 0xff, 0xff], // DE: arithmetic and pop, FCOMP alias, FCOMPP
  [0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0x00], // DF: FFREEP, FXCH/FSTP aliases, FNSTSW AX, FUCOMIP, FCOMIP
];

/** Is this D8-DF encoding undefined (#UD)? Memory forms by MEM_SIZE, register forms by REG_FORMS. */
export function undefinedForm(ins: Instr): boolean {
  if (ins.mod !== 3) return MEM_SIZE[ins.op & 7]![ins.ext] === UD;
  return ((REG_FORMS[ins.op & 7]![ins.ext]! >> (ins.rm & 7)) & 1) === 0;
}

/** Linear address of an x87 memory operand (a defined form), the whole operand checked. */
export function operandLin(c: Cpu, ins: Instr): number {
  let n = MEM_SIZE[ins.op & 7]![ins.ext]!;
  if (n === 0) {
    // Environment images: 14 or 28 bytes, plus eight 10-byte registers for FRSTOR/FNSAVE.
    const env = ins.osize === 16 ? 14 : 28;
    const full = ins.op === 0xdd ? env + 80 : env;
    n = ins.ext === 6 ? -full : full;
  }
  return n < 0 ? wideLin(c, ins, -n, true) : wideLin(c, ins, n, false);
}

/** The 11-bit opcode FOP records: first byte's low 3 bits, then the ModR/M byte. */
function opcodeOf(c: Cpu, ins: Instr): number {
  if (ins.mod === 3) return ((ins.op & 7) << 8) | 0xc0 | (ins.ext << 3) | (ins.rm & 7);
  // Memory forms keep no raw ModR/M byte (its rm field became base/index): read it again
  // from the instruction, just past its prefixes (none of which is D8-DF).
  const at = c.codeMode === 64 ? c.ip0 : c.sBase[CS]! + c.ip0;
  for (let k = 0; k < 15; k++) {
    const b = c.rd8(at + k);
    if ((b & 0xf8) === 0xd8) return ((b & 7) << 8) | c.rd8(at + k + 1);
  }
  return ((ins.op & 7) << 8) | (ins.mod << 6) | (ins.ext << 3);
}

/**
 * FIP/FCS and FOP of a completed non-control instruction (FIP points at its prefixes) and, for
 * a memory form, FDP/FDS: the offset and segment of the operand operandLin() last checked.
 */
export function record(c: Cpu, ins: Instr, mem: boolean): void {
  const f = c.fpu;
  if (mem) {
    f.fdp = wideOff;
    f.fds = c.sSel[wideSeg]!;
  }
  f.fip = c.ip0;
  f.fcs = c.sSel[CS]!;
  f.fop = opcodeOf(c, ins);
}
