// FXSAVE / FXRSTOR: the 512-byte x87 + SSE state image.
import type { Cpu } from './cpu.ts';
import { EX_GP } from './constants.ts';
import { fromWords, regWords } from './fpu.ts';

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
    c.wr64(lin + 8, f.fip | 0, 0);
    c.wr64(lin + 16, f.fdp | 0, 0);
  } else {
    c.wr32(lin + 8, f.fip); c.wr32(lin + 12, 0);
    c.wr32(lin + 16, f.fdp); c.wr32(lin + 20, 0);
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
  void rex64;
  if (lin % 16 !== 0) c.fault(EX_GP, 0);
  const mx = c.rd32(lin + 24);
  if (mx & ~0xffff) c.fault(EX_GP, 0);
  const f = c.fpu;
  f.cw = c.rd16(lin);
  const sw = c.rd16(lin + 2);
  f.sw = sw & ~0x3800;
  f.top = (sw >> 11) & 7;
  const t = c.rd8(lin + 4);
  f.fop = c.rd16(lin + 6);
  f.fip = c.rd32(lin + 8);
  f.fdp = c.rd32(lin + 16);
  c.mxcsr = mx;
  for (let i = 0; i < 8; i++) {
    const a = lin + 32 + i * 16;
    f.setPhys(f.phys(i), fromWords(c.rd32(a), c.rd32(a + 4), c.rd16(a + 8)));
  }
  f.setAbridgedTag(t);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 4; k++) c.xmm[i * 4 + k] = c.rd32(lin + 160 + i * 16 + k * 4);
  }
}
