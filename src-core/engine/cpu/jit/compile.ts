// The block compiler: turns a hot decoded block (block.ts) into one JavaScript function with
// operands, sizes, register numbers and instruction addresses baked in as constants. Flags
// stay lazy, memory goes through the inlined TLB fast path, and every instruction the
// emitters do not handle runs through the interpreter's execute() from inside the function.
//
// Contract with the run loop (run-loop.ts): the function first checks the block's bytes in
// RAM (returning -1, having done nothing, when they changed), then runs the whole block from
// c.rip and returns how many instructions completed. It stops early, with RIP at the next instruction,
// when an instruction transfers control or leaves something to attend to (intCheck, exitReq,
// halted), as the interpreter's block loop does. On a fault it records in c.jitDone how many
// instructions completed before the faulting one and rethrows; c.ip0 is the faulting
// instruction, as the interpreter leaves it. Compiled code lives on its Block and is dropped
// whenever the block is rebuilt (stale bytes, self-modifying code, remapped pages).
import type { Cpu } from '../cpu.ts';
import type { Block, JitFn } from '../block.ts';
import type { Instr } from '../decode.ts';
import { alu, shift, mul64, MUL_OUT } from '../alu.ts';
import { PARITY, cond, getCF } from '../flags.ts';
import { ea } from '../operands.ts';
import { execute, incDec, jumpTo } from '../exec.ts';
import { Kind, emitInstr } from './emit-ops.ts';
import { SEG_FETCH } from '../system/seg-limits.ts';
import { beginInstr, lastFlags } from './emit-alu.ts';
import type { FlagSrc } from './emit-alu.ts';
import { deadFlags } from './flags-live.ts';
import type { EmitFacts } from './flags-live.ts';
import { CANON } from './emit-mem.ts';
import { fuseCond } from './emit-cond.ts';

/** The interpreter functions compiled code calls. */
const HELPERS = { alu, shift, cond, getCF, ea, execute, incDec, jumpTo, interpret, imul64, PARITY };

/** IMUL's 64-bit product through mul64 (flags set there); the high half in c.rhi. */
function imul64(c: Cpu, a: number, ah: number, b: number, bh: number): number {
  mul64(c, true, a, ah, b, bh);
  c.rhi = MUL_OUT[1]! | 0;
  return MUL_OUT[0]! | 0;
}

/** The block loop's steps for a compiled block whose segments need checks (same contract). */
function interpret(c: Cpu, instrs: readonly Instr[]): number {
  const mode = c.codeMode;
  let k = 0;
  try {
    for (; k < instrs.length; k++) {
      const ins = instrs[k]!;
      c.ip0 = c.rip;
      const next = mode === 32 ? (c.rip + ins.len) >>> 0 : (c.rip + ins.len) & 0xffff;
      c.rip = next;
      execute(c, ins);
      if (c.rip !== next || c.intCheck || c.exitReq || c.halted) return k + 1;
    }
  } catch (e) {
    c.jitDone = k;
    throw e;
  }
  return instrs.length;
}

export interface CompileStats {
  blocks: number;
  instrs: number;
  inlined: number;
}
export const jitStats: CompileStats = { blocks: 0, instrs: 0, inlined: 0 };

/** JavaScript source of the block's function body; null when fewer than `minInlined` of its
 * instructions would be inlined (a call per block then buys nothing). */
export function blockSource(b: Block, minInlined = 1): string | null {
  const mode = b.mode;
  if (mode !== 64 && mode !== 32) return null; // 16-bit code (firmware) stays interpreted
  // First pass: which instructions compile inline, touch memory or branch; from that, whose
  // flags are dead (flags-live.ts). The second pass emits with that knowledge.
  const facts: EmitFacts[] = [];
  emitBlock(b, null, facts);
  return emitBlock(b, deadFlags(b.instrs.slice(0, b.n), facts), null, minInlined);
}

function emitBlock(b: Block, dead: boolean[] | null, facts: EmitFacts[] | null, minInlined = 1): string | null {
  const mode = b.mode;
  const at = (off: number): string => (mode === 64 ? `r0 + ${off}` : `(r0 + ${off}) >>> 0`);
  let body = '';
  let off = 0;
  let inlined = 0;
  // Segments the inlined code addresses without limit checks (32-bit code only).
  let segs = 0;
  // The ALU operation that set the flags just before (a Jcc tests its operands directly).
  let flags: FlagSrc | null = null;
  for (let k = 0; k < b.n; k++) {
    const ins: Instr = b.instrs[k]!;
    const start = at(off);
    off += ins.len;
    const next = at(off);
    const last = k === b.n - 1;
    beginInstr(dead !== null && dead[k]!);
    const before = flags;
    const e = emitInstr({ k, mode, ins, next, prev: before });
    flags = e === null ? null : lastFlags;
    facts?.push({ inlined: e !== null, mem: e !== null && e.mem, plain: e !== null && e.kind === Kind.Plain });
    // The restart point (c.ip0) and the completed count (k) matter only to an instruction
    // that can fault: inlined register-only work cannot, so it skips both stores.
    if (e !== null && e.kind === Kind.Plain && !e.mem) body += `// ${k}: op ${ins.op.toString(16)}\n`;
    else body += `// ${k}: op ${ins.op.toString(16)}\nk = ${k}; c.ip0 = ${start};\n`;
    if (e === null) {
      // Interpreter fallback: exactly the block loop's step.
      body += `nx = ${next}; c.rip = nx; H.execute(c, I[${k}]);\n`;
      if (!last) body += `if (c.rip !== nx || c.intCheck || c.exitReq || c.halted) return ${k + 1};\n`;
      continue;
    }
    inlined++;
    if (mode !== 64 && ins.hasModrm && ins.mod !== 3) segs |= 1 << (ins.seg >= 0 ? ins.seg : ins.defSeg);
    body += e.code;
    if (e.kind === Kind.Jcc) {
      // Taken: leave the block at the target; not taken: run on (or end at the next address).
      const test = (before !== null ? fuseCond(before, e.cc!) : null) ?? `H.cond(c, ${e.cc!})`;
      // 32-bit code: `next` ends in `>>> 0`, so it is parenthesised before the displacement
      // is added; a 16-bit operand size wraps the target to 16 bits (as jumpTo does).
      const go = mode === 64 ? `b = ${e.target!}; if (b < -${CANON} || b >= ${CANON}) c.fault(13, 0); c.rip = b;` :
        `c.rip = ((${next}) + ${ins.imm | 0}) ${ins.osize === 16 ? '& 65535' : '>>> 0'};`;
      // A CS limit makes the taken branch check its target (jumpTo): interpret then.
      if (mode !== 64) segs |= SEG_FETCH;
      body += last ? `if (${test}) { ${go} } else c.rip = ${next};\n` : `if (${test}) { ${go} return ${k + 1}; }\n`;
      continue;
    }
    if (e.kind === Kind.Branch) {
      if (!last) throw new Error('a branch must end its block');
      continue;
    }
    if (last) body += `c.rip = ${next};\n`;
    else if (e.mem) body += `if (c.intCheck || c.exitReq) { c.rip = ${next}; return ${k + 1}; }\n`;
  }
  if (inlined === 0 || inlined < minInlined) return null;
  // A segment that is not flat needs limit checks (system/seg-limits.ts): interpret instead.
  const guard = validation(b) + (segs !== 0 ? `if ((c.segChk & ${segs}) !== 0) return H.interpret(c, I);\n` : '');
  return guard + 'const rl = c.rl, rh = c.rh, tv = c.tlbVpn, to = c.tlbOff, tp = c.tlbPerm, dv = c.dv, ram = c.ram, sb = c.sBase;\n' +
    'const RS = 1 << c.userShift, WS = 2 << c.userShift, r0 = c.rip;\n' +
    'let lin = 0, po = 0, vpn = 0, t = 0, o = 0, a = 0, ah = 0, b = 0, bh = 0, r = 0, rhh = 0, sm = 0, nx = 0, k = 0, q = 0, p0 = 0, p1 = 0, el = 0, eh = 0, es = 0, il = 0, ih = 0;\n' +
    `try {\n${body}} catch (e) { c.jitDone = k; throw e; }\nreturn ${b.n};\n`;
}

/** The block's bytes baked in as constants and compared with RAM before anything runs
 * (self-modifying code, DMA): the run loop then need not re-check a compiled block, and a
 * stale one returns -1 without executing (the run loop rebuilds it). */
function validation(b: Block): string {
  const w0 = b.word0;
  const checks: string[] = [];
  for (let k = 0; k < b.nwords; k++) checks.push(`m[${w0 + k}] !== ${b.words[k]! | 0}`);
  return `const m = c.ram32;\nif (${checks.join(' || ')}) return -1;\n`;
}

/** Compile `b` (sets b.jit); false when the block is not worth compiling. */
export function compileBlock(c: Cpu, b: Block): boolean {
  const src = blockSource(b, c.jitMinInlined);
  if (src === null) return false;
  // The factory binds the helpers and this block's Instr records (fallbacks execute them).
  const factory = new Function('H', 'I', `'use strict';\nreturn function block(c) {\n${src}};`) as
    (h: typeof HELPERS, instrs: readonly Instr[]) => JitFn;
  b.jit = factory(HELPERS, b.instrs.slice(0, b.n));
  jitStats.blocks++;
  jitStats.instrs += b.n;
  return true;
}
