// FXSAVE / FXRSTOR: the 512-byte x87 + SSE state image.
//
// The x87 pointers follow Intel's documented behaviour: FOP, FIP/FCS and FDP/FDS are always
// saved and restored. (AMD processors save them only while an exception is pending, ES=1,
// and write zeros otherwise; this CPU reports AuthenticAMD but keeps Intel's rule, which
// only ever gives software more information.) The layout without REX.W, in every mode:
// FOP at 6, FIP[31:0] at 8, FCS at 12, FDP[31:0] at 16, FDS at 20; with REX.W (FXSAVE64):
// FIP[63:0] at 8 and FDP[63:0] at 16, no selectors (FXRSTOR64 clears them).
import type { Cpu } from './cpu.ts';
import { EX_GP } from './constants.ts';
import { fromWords, regWords } from './fpu.ts';

const TWO32 = 4294967296;

export function fxsave(c: Cpu, lin: number, rex64: boolean): void {
  if (lin % 16 !== 0) c.fault(EX_GP, 0);
  c.checkWritable(lin);
  c.checkWritable(lin + 511);
  const f = c.fpu;
  c.wr16(lin, f.cw);
  c.wr16(lin + 2, f.statusWord());
  c.wr8(lin + 4, f.abridgedTag()); // 1 bit per register, 1 = not empty
  c.wr8(lin + 5, 0);
  c.wr16(lin + 6, f.fop);
  if (rex64) {
    c.wr64(lin + 8, f.fip | 0, Math.floor(f.fip / TWO32) | 0);
    c.wr64(lin + 16, f.fdp | 0, Math.floor(f.fdp / TWO32) | 0);
  } else {
    c.wr32(lin + 8, f.fip | 0); c.wr32(lin + 12, f.fcs);
    c.wr32(lin + 16, f.fdp | 0); c.wr32(lin + 20, f.fds);
  }
  c.wr32(lin + 24, c.mxcsr);
  c.wr32(lin + 28, 0xffff); // MXCSR_MASK
  for (let i = 0; i < 8; i++) {
    const a = lin + 32 + i * 16; // ST(i) order
    const [mlo, mhi, se] = regWords(f.get(i));
    c.wr32(a, mlo); c.wr32(a + 4, mhi); c.wr16(a + 8, se);
    c.wr16(a + 10, 0); c.wr32(a + 12, 0);
  }
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 4; k++) c.wr32(lin + 160 + i * 16 + k * 4, c.xmm[i * 4 + k]!);
  }
}

export function fxrstor(c: Cpu, lin: number, rex64: boolean): void {
  if (lin % 16 !== 0) c.fault(EX_GP, 0);
  const mx = c.rd32(lin + 24);
  if (mx & ~0xffff) c.fault(EX_GP, 0);
  const f = c.fpu;
  f.cw = c.rd16(lin);
  const sw = c.rd16(lin + 2);
  f.sw = sw & ~0x3800;
  f.top = (sw >> 11) & 7;
  const t = c.rd8(lin + 4);
  f.fop = c.rd16(lin + 6) & 0x7ff;
  if (rex64) {
    // Exact for canonical offsets (|value| < 2^53); the selectors are not in this layout.
    f.fip = (c.rd32(lin + 12) | 0) * TWO32 + (c.rd32(lin + 8) >>> 0);
    f.fdp = (c.rd32(lin + 20) | 0) * TWO32 + (c.rd32(lin + 16) >>> 0);
    f.fcs = f.fds = 0;
  } else {
    f.fip = c.rd32(lin + 8) >>> 0;
    f.fcs = c.rd16(lin + 12);
    f.fdp = c.rd32(lin + 16) >>> 0;
    f.fds = c.rd16(lin + 20);
  }
  c.mxcsr = mx;
  for (let i = 0; i < 8; i++) {
    const a = lin + 32 + i * 16;
    f.setPhys(f.phys(i), fromWords(c.rd32(a), c.rd32(a + 4), c.rd16(a + 8)));
  }
  f.setAbridgedTag(t);
  f.updateFerr(c);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 4; k++) c.xmm[i * 4 + k] = c.rd32(lin + 160 + i * 16 + k * 4);
  }
}
