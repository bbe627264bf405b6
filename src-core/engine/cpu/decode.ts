// Instruction decoder: bytes + mode -> an Instr record. An Instr is a pure function of its
// bytes and the decode mode (code size 16/32/64), so the interpreter caches them by physical
// address (validated against the bytes, which also covers self-modifying code and DMA) and a
// later JIT can compile runs of them into blocks.
//
// Opcode numbering: 0x000-0x0ff one-byte map, 0x100-0x1ff the 0F map, 0x200-0x2ff 0F 38,
// 0x300-0x3ff 0F 3A.

import type { Cpu } from './cpu.ts';
import { pickHandler } from './exec-pick.ts';

/** Runs one decoded instruction (RIP already points past it). */
export type Handler = (c: Cpu, ins: Instr) => void;

export const IMM_NONE = 0;
export const IMM_B = 1; // 8-bit
export const IMM_W = 2; // 16-bit
export const IMM_Z = 3; // 16 or 32 (operand size), sign-extended to 64 when opsize is 64
export const IMM_V = 4; // 16, 32 or 64 (MOV r, imm)
export const IMM_ENTER = 5; // iw then ib
export const IMM_FAR = 6; // iz offset then iw selector
export const IMM_MOFFS = 7; // address-size offset
export const IMM_GRP3 = 8; // F6/F7: imm only for /0 and /1

export class Instr {
  /** Physical address this record was decoded from (cache tag), -1 when not cached. */
  phys = -1;
  /** Decode mode it was decoded in (16, 32, 64). */
  mode = 0;
  bytes = new Uint8Array(15);
  len = 0;
  op = 0;
  /** Operand size in bits: 16, 32 or 64 (8-bit forms are told by the opcode). */
  osize = 32;
  /** Address size in bits: 16, 32 or 64. */
  asize = 32;
  /** Segment override (0-5) or -1. */
  seg = -1;
  /** 0, 0xf2 or 0xf3. */
  rep = 0;
  lock = false;
  /** Mandatory-prefix selector for SSE maps: 0 none, 1 = 66, 2 = F3, 3 = F2. */
  mp = 0;
  rex = 0; // the REX byte, or 0
  hasModrm = false;
  mod = 0;
  /** ModRM.reg with REX.R (also the opcode extension for groups, 0-7 without REX.R). */
  reg = 0;
  /** ModRM.reg without REX.R: group extensions. */
  ext = 0;
  /** ModRM.rm with REX.B (a register when mod == 3). */
  rm = 0;
  /** Memory operand: base/index register or -1, scale shift, displacement, RIP-relative. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  ripRel = false;
  /** Default segment of the memory operand when no override (DS or SS). */
  defSeg = 3;
  imm = 0;
  immHi = 0; // high half of a 64-bit immediate (MOV r64, imm64) or sign
  imm2 = 0; // second immediate (ENTER level, far selector)
  /** Set when the bytes do not form a valid instruction in this mode (#UD at execute). */
  invalid = false;
  /**
   * The handler execute() calls: chosen once per decode (exec-pick.ts), a specialised one for
   * the forms 64-bit code runs most, else the general opcode switch. Its operands:
   */
  fn: Handler = notDecoded;
  /** ALU operation (OP_ADD..OP_CMP, 8 = TEST) of a specialised ALU handler. */
  aop = 0;
  /** First (destination) and second (source) register of a specialised handler. */
  r1 = 0;
  r2 = 0;
}

function notDecoded(): void {
  throw new Error('Instr executed before it was decoded');
}

const HAS_MODRM1 = new Uint8Array(256);
const IMM1 = new Uint8Array(256);
const HAS_MODRM2 = new Uint8Array(256);
const IMM2 = new Uint8Array(256);

(function buildTables() {
  for (let b = 0; b < 0x40; b += 8) {
    HAS_MODRM1[b] = HAS_MODRM1[b + 1] = HAS_MODRM1[b + 2] = HAS_MODRM1[b + 3] = 1;
    IMM1[b + 4] = IMM_B;
    IMM1[b + 5] = IMM_Z;
  }
  for (const b of [0x62, 0x63, 0x69, 0x6b, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff]) HAS_MODRM1[b] = 1;
  for (let b = 0x80; b <= 0x8f; b++) HAS_MODRM1[b] = 1;
  for (let b = 0xd8; b <= 0xdf; b++) HAS_MODRM1[b] = 1;
  IMM1[0x68] = IMM_Z; IMM1[0x69] = IMM_Z; IMM1[0x6a] = IMM_B; IMM1[0x6b] = IMM_B;
  for (let b = 0x70; b <= 0x7f; b++) IMM1[b] = IMM_B;
  IMM1[0x80] = IMM_B; IMM1[0x81] = IMM_Z; IMM1[0x82] = IMM_B; IMM1[0x83] = IMM_B;
  IMM1[0x9a] = IMM_FAR; IMM1[0xea] = IMM_FAR;
  for (let b = 0xa0; b <= 0xa3; b++) IMM1[b] = IMM_MOFFS;
  IMM1[0xa8] = IMM_B; IMM1[0xa9] = IMM_Z;
  for (let b = 0xb0; b <= 0xb7; b++) IMM1[b] = IMM_B;
  for (let b = 0xb8; b <= 0xbf; b++) IMM1[b] = IMM_V;
  IMM1[0xc0] = IMM_B; IMM1[0xc1] = IMM_B; IMM1[0xc2] = IMM_W; IMM1[0xc6] = IMM_B; IMM1[0xc7] = IMM_Z;
  IMM1[0xc8] = IMM_ENTER; IMM1[0xca] = IMM_W; IMM1[0xcd] = IMM_B; IMM1[0xd4] = IMM_B; IMM1[0xd5] = IMM_B;
  for (let b = 0xe0; b <= 0xe7; b++) IMM1[b] = IMM_B;
  IMM1[0xe8] = IMM_Z; IMM1[0xe9] = IMM_Z; IMM1[0xeb] = IMM_B;
  IMM1[0xf6] = IMM_GRP3; IMM1[0xf7] = IMM_GRP3;

  HAS_MODRM2.fill(1);
  for (const b of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa]) HAS_MODRM2[b] = 0;
  for (let b = 0x80; b <= 0x8f; b++) { HAS_MODRM2[b] = 0; IMM2[b] = IMM_Z; }
  for (let b = 0xc8; b <= 0xcf; b++) HAS_MODRM2[b] = 0;
  for (const b of [0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6]) IMM2[b] = IMM_B;
})();

/** Reads instruction byte i (0-based from the instruction start); may fault. */
export type ByteFetch = (i: number) => number;

/**
 * Decode one instruction. `mode` is the code size (16, 32, 64). Fills `ins` and returns it.
 * Throws nothing itself: a fetch that faults propagates from `fetch`.
 */
export function decode(ins: Instr, fetch: ByteFetch, mode: number): Instr {
  let i = 0;
  let b = fetch(i++);
  let opsz = mode === 16 ? 16 : 32;
  let adsz = mode;
  let seg = -1;
  let rep = 0;
  let lock = false;
  let p66 = false;
  let rex = 0;
  let mp = 0;
  ins.invalid = false;
  // Legacy prefixes, then REX (which must come last; a REX followed by a legacy prefix is ignored).
  for (;;) {
    if (b === 0x66) { p66 = true; if (mp === 0) mp = 1; }
    else if (b === 0x67) adsz = mode === 64 ? 32 : mode === 32 ? 16 : 32;
    else if (b === 0xf3 || b === 0xf2) { rep = b; mp = b === 0xf3 ? 2 : 3; }
    else if (b === 0xf0) lock = true;
    else if (b === 0x26) seg = 0;
    else if (b === 0x2e) seg = 1;
    else if (b === 0x36) seg = 2;
    else if (b === 0x3e) seg = 3;
    else if (b === 0x64) seg = 4;
    else if (b === 0x65) seg = 5;
    else if (mode === 64 && (b & 0xf0) === 0x40) {
      rex = b;
      b = fetch(i++);
      if ((b & 0xf0) === 0x40) continue; // a second REX replaces the first
      if (b === 0x66 || b === 0x67 || b === 0xf2 || b === 0xf3 || b === 0xf0 || (b & 0xe7) === 0x26 || b === 0x64 || b === 0x65) {
        rex = 0; // REX not immediately before the opcode is ignored
        continue;
      }
      break;
    } else break;
    if (i >= 15) { ins.invalid = true; break; }
    b = fetch(i++);
  }
  if (mode === 64 && seg >= 0 && seg < 4) seg = -1; // ES/CS/SS/DS overrides are ignored in 64-bit mode
  if (p66) opsz = opsz === 16 ? 32 : 16;
  if (rex & 8) opsz = 64;
  // p66 with F2/F3: the last of F2/F3 wins as mandatory prefix (mp already tracks it).
  if (rep !== 0) mp = rep === 0xf3 ? 2 : 3;

  let op = b;
  let hasModrm: number;
  let immType: number;
  if (b === 0x0f) {
    b = fetch(i++);
    if (b === 0x38) {
      op = 0x200 | fetch(i++);
      hasModrm = 1;
      immType = IMM_NONE;
    } else if (b === 0x3a) {
      op = 0x300 | fetch(i++);
      hasModrm = 1;
      immType = IMM_B;
    } else {
      op = 0x100 | b;
      hasModrm = HAS_MODRM2[b]!;
      immType = IMM2[b]!;
    }
  } else {
    hasModrm = HAS_MODRM1[b]!;
    immType = IMM1[b]!;
  }
  ins.op = op;
  ins.mode = mode;
  ins.osize = opsz;
  ins.asize = adsz;
  ins.seg = seg;
  ins.rep = rep;
  ins.lock = lock;
  ins.mp = mp;
  ins.rex = rex;
  ins.hasModrm = hasModrm !== 0;
  ins.base = -1;
  ins.index = -1;
  ins.scale = 0;
  ins.disp = 0;
  ins.ripRel = false;
  ins.defSeg = 3;
  ins.mod = 3;
  ins.reg = 0;
  ins.ext = 0;
  ins.rm = 0;
  if (hasModrm) {
    const m = fetch(i++);
    const mod = m >> 6;
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    ins.mod = mod;
    ins.ext = reg;
    ins.reg = reg | ((rex & 4) << 1);
    if (mod === 3) {
      ins.rm = rm | ((rex & 1) << 3);
    } else if (adsz === 16) {
      // The eight 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX.
      const bases = [3, 3, 5, 5, 6, 7, 5, 3];
      const idx = [6, 7, 6, 7, -1, -1, -1, -1];
      if (mod === 0 && rm === 6) {
        ins.base = -1;
        ins.disp = fetch(i) | (fetch(i + 1) << 8);
        i += 2;
      } else {
        ins.base = bases[rm]!;
        ins.index = idx[rm]!;
        if (rm === 2 || rm === 3 || rm === 6) ins.defSeg = 2;
        if (mod === 1) { ins.disp = (fetch(i++) << 24) >> 24; }
        else if (mod === 2) { ins.disp = ((fetch(i) | (fetch(i + 1) << 8)) << 16) >> 16; i += 2; }
      }
    } else {
      let base = rm;
      if (rm === 4) {
        const sib = fetch(i++);
        ins.scale = sib >> 6;
        const ix = ((sib >> 3) & 7) | ((rex & 2) << 2);
        ins.index = ix === 4 ? -1 : ix;
        base = sib & 7;
        if (base === 5 && mod === 0) {
          ins.base = -1;
          ins.disp = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24);
          i += 4;
        } else {
          ins.base = base | ((rex & 1) << 3);
        }
      } else if (rm === 5 && mod === 0) {
        ins.disp = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24);
        i += 4;
        if (mode === 64) ins.ripRel = true;
      } else {
        ins.base = base | ((rex & 1) << 3);
      }
      if ((ins.base & 7) === 4 || ((ins.base & 7) === 5 && ins.base >= 0)) {
        if (ins.base === 4 || ins.base === 5) ins.defSeg = 2; // RSP/RBP bases use SS (not R12/R13)
      }
      if (mod === 1) ins.disp = (fetch(i++) << 24) >> 24;
      else if (mod === 2) {
        ins.disp = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24);
        i += 4;
      }
    }
  }
  ins.imm = 0;
  ins.immHi = 0;
  ins.imm2 = 0;
  switch (immType) {
    case IMM_NONE: break;
    case IMM_B: ins.imm = (fetch(i++) << 24) >> 24; break;
    case IMM_W: ins.imm = fetch(i) | (fetch(i + 1) << 8); i += 2; break;
    case IMM_Z:
      if (opsz === 16) { ins.imm = ((fetch(i) | (fetch(i + 1) << 8)) << 16) >> 16; i += 2; }
      else { ins.imm = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24); i += 4; }
      break;
    case IMM_V:
      if (opsz === 16) { ins.imm = fetch(i) | (fetch(i + 1) << 8); i += 2; }
      else {
        ins.imm = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24); i += 4;
        if (opsz === 64) { ins.immHi = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24); i += 4; }
      }
      break;
    case IMM_ENTER: ins.imm = fetch(i) | (fetch(i + 1) << 8); ins.imm2 = fetch(i + 2); i += 3; break;
    case IMM_FAR:
      if (opsz === 16) { ins.imm = fetch(i) | (fetch(i + 1) << 8); i += 2; }
      else { ins.imm = (fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24)) >>> 0; i += 4; }
      ins.imm2 = fetch(i) | (fetch(i + 1) << 8); i += 2;
      if (mode === 64) ins.invalid = true;
      break;
    case IMM_MOFFS:
      if (adsz === 16) { ins.imm = fetch(i) | (fetch(i + 1) << 8); i += 2; }
      else {
        ins.imm = (fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24)) >>> 0; i += 4;
        if (adsz === 64) { ins.immHi = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24); i += 4; }
      }
      break;
    case IMM_GRP3:
      if (ins.ext < 2) {
        if (op === 0xf6) ins.imm = (fetch(i++) << 24) >> 24;
        else if (opsz === 16) { ins.imm = ((fetch(i) | (fetch(i + 1) << 8)) << 16) >> 16; i += 2; }
        else { ins.imm = fetch(i) | (fetch(i + 1) << 8) | (fetch(i + 2) << 16) | (fetch(i + 3) << 24); i += 4; }
      }
      break;
  }
  if (i > 15) ins.invalid = true;
  // Group encodings with no instruction (host #UD): 8F /1-/7 (XOP on CPUs that had it),
  // C6/C7 /1-/7 (C6 F8/C7 F8 are RTM's XABORT/XBEGIN, not advertised) and the PREFETCH group
  // 0F 0D with a register operand. Marked here so every executor (interpreter, block
  // compiler) raises #UD for them.
  if (((op === 0x8f || op === 0xc6 || op === 0xc7) && ins.ext !== 0) || (op === 0x10d && ins.mod === 3)) ins.invalid = true;
  ins.len = i;
  ins.fn = pickHandler(ins);
  return ins;
}
