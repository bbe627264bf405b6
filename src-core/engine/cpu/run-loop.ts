// The interpreter's run loop: find the decoded block at RIP (validated against RAM), run its
// instructions until one transfers control, faults or something needs attention (an
// interrupt, an exit request, HLT, the end of the budget).
import type { Cpu } from './cpu.ts';
import { FAULT } from './cpu.ts';
import type { Block } from './block.ts';
import { fetchBlock, fetchInstr } from './fetch.ts';
import { compileBlock } from './jit/compile.ts';
import { execute } from './exec.ts';
import type { Instr } from './decode.ts';
import { EX_DB } from './constants.ts';
import { checkInterrupts, deliverPending, guarded } from './system/interrupts.ts';
const TF = 0x100; // local copy: hot-path constant
const SS = 2; // local copy: segment register number

/**
 * MOV SS / POP SS (completed): the SS-load shadow. The SDM (Vol. 3, 6.8.3) has a load of SS
 * hold back interrupts, debug exceptions and the single-step trap until the boundary after the
 * next instruction, where one #DB reports both steps; so no trap is taken after the load. The
 * interrupt side is c.inhibit, shared with STI, whose shadow blocks only interrupts: a
 * single-step trap after STI is taken as usual.
 */
function loadsSS(ins: Instr): boolean {
  return ins.op === 0x17 || (ins.op === 0x8e && ins.ext === SS);
}

export function runLoop(c: Cpu, budget: number): number {
  c.exitReq = false;
  c.intCheck = true; // devices may have raised lines without notifying
  if (c.bus.mapVersion !== c.seenMapVersion) c.tlbFlushAll();
  let n = 0;
  let inJit = false;
  c.executedInRun = 0;
  while (n < budget && !c.exitReq) {
    if (c.intCheck) {
      if (c.inhibit) c.inhibit = false;
      else checkInterrupts(c);
    }
    if (c.halted) break;
    try {
      // The inner loop: find the block at RIP (validated against RAM), run its
      // instructions until one transfers control, faults or something needs attention.
      let prev: Block | null = null;
      outer: while (n < budget) {
        c.ip0 = c.rip;
        let blk: Block | null = null;
        const stepping = (c.flags & TF) !== 0; // single-step: one instruction at a time
        if (stepping) prev = null;
        else if (prev !== null) {
          // Chained: same translation context, so only the bytes need re-checking.
          let b: Block | null = null;
          let phys = -1;
          if (prev.nextRip === c.rip && prev.nextEpoch === c.epoch) { b = prev.next; phys = prev.nextPhys; }
          else if (prev.next2Rip === c.rip && prev.next2Epoch === c.epoch) { b = prev.next2; phys = prev.next2Phys; }
          if (b !== null && b.phys === phys) {
            // Compiled code checks its own bytes (it returns -1 when they changed); it runs
            // only when the budget allows the whole block and no interrupt check is pending
            // (see below), else the block loop below runs its instructions and they must be
            // checked here.
            if (b.jit !== null && n + b.n <= budget && !c.intCheck) blk = b;
            else {
              const w = b.words;
              const r = c.ram32;
              const w0 = b.word0;
              const nw = b.nwords;
              let k = 0;
              while (k < nw && r[w0 + k] === w[k]) k++;
              if (k === nw) blk = b;
            }
          }
        }
        if (blk === null && !stepping) {
          const rip = c.rip;
          const ep = c.epoch;
          blk = fetchBlock(c);
          if (prev !== null && blk !== null && ep === c.epoch) {
            // Most recent successor first; the previous one moves to the second slot.
            if (prev.nextRip !== rip || prev.nextEpoch !== ep) {
              prev.next2 = prev.next;
              prev.next2Rip = prev.nextRip;
              prev.next2Epoch = prev.nextEpoch;
              prev.next2Phys = prev.nextPhys;
            }
            prev.next = blk;
            prev.nextRip = rip;
            prev.nextEpoch = ep;
            prev.nextPhys = blk.phys;
          }
        }
        prev = blk;
        if (blk !== null) {
          // Hot blocks are compiled (jit/compile.ts) and then run as one function call.
          if (blk.jit === null && c.jitThreshold > 0 && ++blk.hits >= c.jitThreshold && !compileBlock(c, blk)) blk.hits = -0x40000000;
          const fn = blk.jit;
          // With an interrupt check pending at entry (the instruction after STI or MOV SS,
          // whose shadow has just ended) the block loop runs exactly one instruction before
          // the interrupt is taken; compiled code would run on through register-only
          // instructions, so it runs only when nothing is pending.
          if (fn !== null && n + blk.n <= budget && !c.intCheck) {
            inJit = true;
            const done = fn(c);
            inJit = false;
            if (done < 0) {
              // Its bytes changed since it was compiled: rebuild from RAM (fetchBlock).
              prev = null;
              continue;
            }
            n += done;
            c.executedInRun = n;
            if (c.intCheck || c.exitReq || c.halted) break;
            continue;
          }
        }
        if (blk === null) {
          // Not cacheable (crosses a page, or not RAM): one instruction at a time.
          const ins = fetchInstr(c);
          const tf = c.flags & TF;
          const next = c.rip + ins.len;
          c.rip = c.codeMode === 64 ? next : c.codeMode === 32 ? next >>> 0 : next & 0xffff;
          execute(c, ins);
          n++;
          c.executedInRun = n;
          // Through the escalating path: a fault while delivering the trap (a bad #DB gate)
          // is delivered from here with RIP after the stepped instruction, which completed;
          // thrown on to the catch below it would rewind to c.ip0 and run it again.
          if (tf !== 0 && !loadsSS(ins)) guarded(c, EX_DB, -1, 'trap');
          if (c.intCheck || c.exitReq || c.halted) break;
          continue;
        }
        const instrs = blk.instrs;
        const cnt = blk.n;
        const mode = c.codeMode;
        // TF is clear here and only POPF/IRET (which end blocks) can set it.
        for (let i = 0; i < cnt; i++) {
          const ins = instrs[i]!;
          const start = c.rip;
          c.ip0 = start;
          let next = start + ins.len;
          if (mode !== 64) next = mode === 32 ? next >>> 0 : next & 0xffff;
          c.rip = next;
          execute(c, ins);
          n++;
          if (c.rip !== next || c.intCheck || c.exitReq || c.halted || n >= budget) {
            c.executedInRun = n;
            if (c.intCheck || c.exitReq || c.halted) break outer;
            break;
          }
        }
        c.executedInRun = n;
      }
    } catch (e) {
      if (e !== FAULT) throw e;
      if (inJit) {
        // Compiled code faulted: count the instructions it completed before the faulting one.
        n += c.jitDone;
        inJit = false;
      }
      n++;
      c.executedInRun = n;
      deliverPending(c);
    }
  }
  c.instructionCount += n;
  c.executedInRun = 0;
  return n;
}
