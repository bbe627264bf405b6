// Which encodings Hangar implements, found by probing: every opcode of the one-byte, 0F, 0F38
// and 0F3A maps, under each prefix that selects or sizes an instruction (none/66/F3/F2/REX.W
// on the one-byte map; none/66/F3/F2 with and without REX.W on the 0F maps, where 66/F3/F2 are
// mandatory prefixes), and for opcodes with a ModRM byte each memory form /0-/7 and each of
// the 64 register forms. An encoding that does not raise #UD is implemented. Whether the
// opcode has a ModRM byte comes from the decoder itself, so nothing here lists opcodes.
//
// The same unit keys are derived from the differential templates (gen.ts, gen-x87.ts): an
// implemented unit no template can generate is a coverage gap.
// emulated.ts (the CPU) first: importing decode.ts first trips a circular import under tsx.
import { EmuEnv } from './emulated.ts';
import { Instr, decode } from '../../../../src-core/engine/cpu/decode.ts';
import type { Template } from './gen.ts';
import type { X87Form } from './gen-x87.ts';
import { x87Prefixable } from './gen-x87.ts';

/** Prefix variants: legacy prefix byte (0: none) and REX.W. */
type Variant = [number, boolean];
const ONE_BYTE_VARIANTS: Variant[] = [[0, false], [0x66, false], [0xf3, false], [0xf2, false], [0, true]];
const OF_VARIANTS: Variant[] = [[0, false], [0x66, false], [0xf3, false], [0xf2, false], [0, true], [0x66, true], [0xf3, true], [0xf2, true]];
/** One-byte opcodes that are prefixes or escapes, not instructions. */
const NOT_OPCODES = new Set([0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, ...Array.from({ length: 16 }, (_, i) => 0x40 + i)]);

const h2 = (b: number): string => b.toString(16).padStart(2, '0');

/**
 * Unit key: map opcode bytes, prefix, W, ModRM part ('' none, 'm<reg>' memory form, 'r<modrm>'
 * register form). Example: '0f58 66 W0 r c1'.
 */
export function unitKey(opBytes: number[], prefix: number, w: boolean, modrm: string): string {
  return `${opBytes.map(h2).join('')} ${prefix ? h2(prefix) : '--'} W${w ? 1 : 0}${modrm ? ' ' + modrm : ''}`;
}

export interface ProbeResult {
  /** Implemented unit keys. */
  implemented: Set<string>;
  probes: number;
}

function hasModrm(bytes: number[]): boolean {
  const ins = new Instr();
  decode(ins, (i) => bytes[i] ?? 0, 64);
  return ins.hasModrm;
}

/** Probe every encoding; returns the implemented units. */
export function probeImplemented(): ProbeResult {
  const env = new EmuEnv(0);
  const implemented = new Set<string>();
  let probes = 0;
  const maps: [number[], Variant[]][] = [[[], ONE_BYTE_VARIANTS], [[0x0f], OF_VARIANTS], [[0x0f, 0x38], OF_VARIANTS], [[0x0f, 0x3a], OF_VARIANTS]];
  for (const [esc, variants] of maps) {
    for (let op = 0; op < 256; op++) {
      if (esc.length === 0 && NOT_OPCODES.has(op)) continue;
      const opBytes = [...esc, op];
      const modrm = hasModrm(opBytes);
      for (const [prefix, w] of variants) {
        const pre = [...(prefix ? [prefix] : []), ...(w ? [0x48] : [])];
        const forms: [string, number][] = [];
        if (!modrm) forms.push(['', -1]);
        else {
          for (let reg = 0; reg < 8; reg++) forms.push([`m${reg}`, (reg << 3) | 3]); // [rbx]
          for (let m = 0xc0; m < 0x100; m++) forms.push([`r${h2(m)}`, m]);
        }
        for (const [part, m] of forms) {
          // Zero immediates and displacements: branches fall through, counts are zero.
          const code = new Uint8Array([...pre, ...opBytes, ...(m >= 0 ? [m] : []), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
          probes++;
          if (env.probe(code) !== 6) implemented.add(unitKey(opBytes, prefix, w, part));
        }
      }
    }
  }
  return { implemented, probes };
}

/** Is `key` one of the encodings probeImplemented() tries? */
export function inProbeSpace(key: string): boolean {
  const [op, prefix, w] = key.split(' ') as [string, string, string];
  if (op.startsWith('0f')) return true;
  return prefix === '--' || w === 'W0';
}

/** Every unit a template can generate (gen.ts generate()). */
export function templateUnits(tp: Template): string[] {
  const out: string[] = [];
  const prefixes = tp.mandatory !== undefined ? [tp.mandatory] : [0, ...(tp.p66 ? [0x66] : []), ...(tp.rep ? (tp.reps ?? [0xf3, 0xf2]) : [])];
  if (tp.mandatory !== undefined && tp.rep) prefixes.push(...(tp.reps ?? [0xf3, 0xf2]));
  const ws = tp.rexw ? [false, true] : [false];
  const parts: string[] = [];
  if (!tp.modrm) parts.push('');
  else {
    const regs = tp.ext !== undefined ? [tp.ext] : [0, 1, 2, 3, 4, 5, 6, 7];
    for (const reg of regs) {
      if (tp.modrm !== 'reg') parts.push(`m${reg}`);
      if (tp.modrm !== 'mem') for (let rm = 0; rm < 8; rm++) parts.push(`r${h2(0xc0 | (reg << 3) | rm)}`);
    }
  }
  for (const p of prefixes) for (const w of ws) for (const part of parts) out.push(unitKey(tp.op, p, w, part));
  return out;
}

/** The units of an x87 (or MMX) form: its fixed bytes, [rbx] memory forms, ST(i) register forms. */
export function x87Units(f: X87Form): string[] {
  let b = f.bytes;
  let prefix = 0;
  let w = false;
  if (b[0] === 0x66) { prefix = 0x66; b = b.slice(1); }
  if (b[0] === 0x48) { w = true; b = b.slice(1); }
  const opLen = b[0] === 0x0f ? 2 : 1;
  const op = b.slice(0, opLen);
  const m = b[opLen];
  const variants: [number, boolean][] = x87Prefixable(f) ? [[0, false], [0x66, false], [0, true], [0x66, true], [0xf3, false], [0xf2, false]] : [[prefix, w]];
  const parts = m === undefined ? [''] : m < 0xc0 ? [`m${(m >> 3) & 7}`]
    : Array.from({ length: f.sti ? 8 : 1 }, (_, i) => `r${h2(m + i)}`);
  return variants.flatMap(([p, vw]) => parts.map((part) => unitKey(op, p, vw, part)));
}
