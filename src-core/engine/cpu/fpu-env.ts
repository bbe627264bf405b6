// FNSTENV/FLDENV and FNSAVE/FRSTOR: the x87 environment (14 or 28 bytes) and the eight
// registers in ST order after it. Instruction and operand pointers are kept as zero.
import type { Cpu } from './cpu.ts';
import { fromWords, regWords } from './fpu.ts';

export function fstenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const w = os === 16 ? 2 : 4;
  c.checkWritable(lin + w * 7 - 1);
  const put = (i: number, v: number): void => { if (w === 2) c.wr16(lin + i * 2, v); else c.wr32(lin + i * 4, v); };
  put(0, f.cw | (w === 4 ? 0xffff0000 : 0));
  put(1, f.statusWord() | (w === 4 ? 0xffff0000 : 0));
  put(2, f.tagWord() | (w === 4 ? 0xffff0000 : 0));
  put(3, f.fip); put(4, 0); put(5, f.fdp); put(6, w === 4 ? 0xffff0000 : 0); // FDS with reserved high bits set, as on the host
  f.cw |= 0x3f; // FNSTENV masks all exceptions
}

export function fldenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const w = os === 16 ? 2 : 4;
  const get = (i: number): number => (w === 2 ? c.rd16(lin + i * 2) : c.rd32(lin + i * 4));
  const cw = get(0) & 0xffff;
  const sw = get(1) & 0xffff;
  const tw = get(2) & 0xffff;
  f.cw = cw;
  f.sw = sw & ~0x3800;
  f.top = (sw >> 11) & 7;
  f.setTagWord(tw);
}

export function fsave(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const envSize = os === 16 ? 14 : 28;
  c.checkWritable(lin + envSize + 79);
  const cw = f.cw;
  fstenv(c, lin, os);
  f.cw = cw;
  for (let i = 0; i < 8; i++) {
    const [a, b, e] = regWords(f.get(i));
    c.wr32(lin + envSize + i * 10, a);
    c.wr32(lin + envSize + i * 10 + 4, b);
    c.wr16(lin + envSize + i * 10 + 8, e);
  }
  f.init(); // FNSAVE ends with FNINIT
}

export function frstor(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const envSize = os === 16 ? 14 : 28;
  fldenv(c, lin, os);
  const tags = f.tagWord();
  for (let i = 0; i < 8; i++) {
    const a = lin + envSize + i * 10;
    f.set(i, fromWords(c.rd32(a), c.rd32(a + 4), c.rd16(a + 8)));
  }
  f.setTagWord(tags);
}
