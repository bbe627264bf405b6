// SSE2/MMX data movement and the remaining integer SIMD opcodes: MOVD/MOVQ, MOVDQA/U,
// MOVNTQ/MOVNTDQ, MOVQ2DQ/MOVDQ2Q, PMOVMSKB, PSHUFD/HW/LW/W, shifts by immediate,
// MASKMOVQ/MASKMOVDQU.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { EX_GP, EX_SS, EX_UD, SS, TWO32 } from './constants.ts';
import { setReg } from './operands.ts';
import { wideLin } from './system/mem-operand.ts';
import { simdShiftImm } from './sse-int.ts';
import { checkMmx, checkSse, mmxWrote, src128, srcInt, srcMmx, srcWords, store128, TMP } from './sse-operands.ts';

const CANON = 140737488355328; // 2^47
/** Linear addresses of MASKMOVQ/MASKMOVDQU's selected bytes, all checked before the stores. */
const MASK_LIN = new Float64Array(16);

/** The remaining integer SIMD opcodes: moves, shuffles, shifts by immediate, PMOVMSKB... */
export function execSseInt(c: Cpu, ins: Instr): void {
  const op = ins.op;
  const mp = ins.mp;
  const x = c.xmm;
  const d = ins.reg * 4;
  const mm = c.fpu.mmx;
  switch (op) {
    case 0x16e: { // MOVD/MOVQ mm/xmm, r/m
      const sz = ins.osize === 64 ? 64 : 32;
      const v = srcInt(c, ins, sz);
      const vh = sz === 64 ? c.mhi : 0;
      if (mp === 1) { checkSse(c); x[d] = v; x[d + 1] = vh; x[d + 2] = 0; x[d + 3] = 0; }
      else if (mp === 0) { checkMmx(c); mm[(ins.reg & 7) * 2] = v; mm[(ins.reg & 7) * 2 + 1] = vh; mmxWrote(c, ins.reg); }
      else c.fault(EX_UD);
      return;
    }
    case 0x17e: { // MOVD/MOVQ r/m, mm/xmm; F3: MOVQ xmm, xmm/m64
      if (mp === 2) {
        checkSse(c);
        const s = srcWords(c, ins, 2);
        x[d] = s[0]!; x[d + 1] = s[1]!; x[d + 2] = 0; x[d + 3] = 0;
        return;
      }
      const sz = ins.osize === 64 ? 64 : 32;
      let lo: number, hi: number;
      if (mp === 1) { checkSse(c); lo = x[d]!; hi = x[d + 1]!; }
      else if (mp === 0) { checkMmx(c); lo = mm[(ins.reg & 7) * 2]!; hi = mm[(ins.reg & 7) * 2 + 1]!; }
      else c.fault(EX_UD);
      if (ins.mod === 3) setReg(c, sz, ins.rm, 0, lo, hi);
      else {
        const lin = wideLin(c, ins, sz / 8, true);
        if (sz === 64) c.wr64(lin, lo, hi); else c.wr32(lin, lo);
      }
      return;
    }
    case 0x16f: // MOVQ mm, mm/m64; MOVDQA (66); MOVDQU (F3)
      if (mp === 0) { checkMmx(c); const s = srcMmx(c, ins); mm[(ins.reg & 7) * 2] = s[0]!; mm[(ins.reg & 7) * 2 + 1] = s[1]!; mmxWrote(c, ins.reg); return; }
      if (mp === 3) c.fault(EX_UD);
      checkSse(c);
      x.set(src128(c, ins, mp === 1), d);
      return;
    case 0x17f:
      if (mp === 0) {
        checkMmx(c);
        const r = (ins.reg & 7) * 2;
        if (ins.mod === 3) { mm[(ins.rm & 7) * 2] = mm[r]!; mm[(ins.rm & 7) * 2 + 1] = mm[r + 1]!; mmxWrote(c, ins.rm); }
        else c.wr64(wideLin(c, ins, 8, true), mm[r]!, mm[r + 1]!);
        return;
      }
      if (mp === 3) c.fault(EX_UD);
      checkSse(c);
      store128(c, ins, ins.reg, mp === 1);
      return;
    case 0x1e7: // MOVNTQ / MOVNTDQ
      if (ins.mod === 3) c.fault(EX_UD);
      if (mp === 0) { checkMmx(c); const r = (ins.reg & 7) * 2; c.wr64(wideLin(c, ins, 8, true), mm[r]!, mm[r + 1]!); return; }
      if (mp !== 1) c.fault(EX_UD);
      checkSse(c);
      store128(c, ins, ins.reg, true);
      return;
    case 0x1d6: // MOVQ xmm/m64, xmm (66); MOVQ2DQ (F3); MOVDQ2Q (F2)
      if (mp === 1) {
        checkSse(c);
        if (ins.mod === 3) { const r = ins.rm * 4; x[r] = x[d]!; x[r + 1] = x[d + 1]!; x[r + 2] = 0; x[r + 3] = 0; }
        else c.wr64(wideLin(c, ins, 8, true), x[d]!, x[d + 1]!);
        return;
      }
      if (ins.mod !== 3) c.fault(EX_UD);
      checkSse(c);
      checkMmx(c);
      if (mp === 2) { const r = (ins.rm & 7) * 2; x[d] = mm[r]!; x[d + 1] = mm[r + 1]!; x[d + 2] = 0; x[d + 3] = 0; }
      else if (mp === 3) { const r = ins.rm * 4; mm[(ins.reg & 7) * 2] = x[r]!; mm[(ins.reg & 7) * 2 + 1] = x[r + 1]!; mmxWrote(c, ins.reg); }
      else c.fault(EX_UD);
      return;
    case 0x1d7: { // PMOVMSKB
      if (ins.mod !== 3) c.fault(EX_UD);
      let m = 0;
      if (mp === 1) {
        checkSse(c);
        const b = new Uint8Array(x.buffer, ins.rm * 16, 16);
        for (let i = 0; i < 16; i++) m |= (b[i]! >> 7) << i;
      } else if (mp === 0) {
        checkMmx(c);
        const b = new Uint8Array(mm.buffer, (ins.rm & 7) * 8, 8);
        for (let i = 0; i < 8; i++) m |= (b[i]! >> 7) << i;
      } else c.fault(EX_UD);
      setReg(c, ins.osize === 64 ? 64 : 32, ins.reg, 0, m, 0);
      return;
    }
    case 0x170: { // PSHUFD (66) / PSHUFHW (F3) / PSHUFLW (F2) / PSHUFW (MMX)
      const imm = ins.imm & 0xff;
      if (mp === 0) {
        checkMmx(c);
        const s = srcMmx(c, ins);
        const w = new Uint16Array(TMP.buffer, 0, 4).slice();
        const dst = new Uint16Array(mm.buffer, (ins.reg & 7) * 8, 4);
        for (let i = 0; i < 4; i++) dst[i] = w[(imm >> (2 * i)) & 3]!;
        mmxWrote(c, ins.reg);
        void s;
        return;
      }
      checkSse(c);
      const s = src128(c, ins, ins.mod !== 3);
      if (mp === 1) {
        const t = [s[0]!, s[1]!, s[2]!, s[3]!];
        for (let i = 0; i < 4; i++) x[d + i] = t[(imm >> (2 * i)) & 3]!;
      } else {
        const w = new Uint16Array(TMP.buffer).slice();
        const dst = new Uint16Array(x.buffer, ins.reg * 16, 8);
        const base = mp === 2 ? 4 : 0; // F3 shuffles the high words, F2 the low words
        for (let i = 0; i < 8; i++) dst[i] = w[i]!;
        for (let i = 0; i < 4; i++) dst[base + i] = w[base + ((imm >> (2 * i)) & 3)]!;
      }
      return;
    }
    case 0x171: case 0x172: case 0x173: { // shift by immediate groups
      if (ins.mod !== 3) c.fault(EX_UD);
      if (mp === 1) {
        checkSse(c);
        if (!simdShiftImm(op, ins.ext, new Uint8Array(x.buffer, ins.rm * 16, 16), ins.imm & 0xff, 16)) c.fault(EX_UD);
      } else if (mp === 0) {
        if (op === 0x173 && (ins.ext === 3 || ins.ext === 7)) c.fault(EX_UD);
        checkMmx(c);
        if (!simdShiftImm(op, ins.ext, new Uint8Array(mm.buffer, (ins.rm & 7) * 8, 8), ins.imm & 0xff, 8)) c.fault(EX_UD);
        mmxWrote(c, ins.rm);
      } else c.fault(EX_UD);
      return;
    }
    case 0x1f7: { // MASKMOVQ / MASKMOVDQU: store bytes selected by the mask's top bits to [RDI]
      if (ins.mod !== 3) c.fault(EX_UD);
      const n = mp === 1 ? 16 : 8;
      if (mp === 1) checkSse(c); else if (mp === 0) checkMmx(c); else c.fault(EX_UD);
      const src = mp === 1 ? new Uint8Array(x.buffer, ins.reg * 16, 16) : new Uint8Array(mm.buffer, (ins.reg & 7) * 8, 8);
      const msk = mp === 1 ? new Uint8Array(x.buffer, ins.rm * 16, 16) : new Uint8Array(mm.buffer, (ins.rm & 7) * 8, 8);
      const as = ins.asize;
      const base = as === 64 ? c.rh[7]! * TWO32 + (c.rl[7]! >>> 0) : as === 32 ? c.rl[7]! >>> 0 : c.rl[7]! & 0xffff;
      const seg = ins.seg >= 0 ? ins.seg : 3;
      // Every selected byte is checked (segment limit and type, canonical address, page
      // writable) before any is stored, so a fault leaves memory alone. Masked-off bytes are
      // not checked: the SDM leaves that to the implementation.
      // Segment and canonical checks come before paging, as for any wide operand.
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (!(msk[i]! & 0x80)) continue;
        const lin = c.segLin(seg, base + i, 1, true);
        if (c.codeMode === 64 && (lin < -CANON || lin >= CANON)) c.fault(seg === SS ? EX_SS : EX_GP, 0);
        MASK_LIN[k++] = lin;
      }
      for (let j = 0; j < k; j++) c.checkWritable(MASK_LIN[j]!);
      k = 0;
      for (let i = 0; i < n; i++) if (msk[i]! & 0x80) c.wr8(MASK_LIN[k++]!, src[i]!);
      return;
    }
    default:
      c.fault(EX_UD);
  }
}
