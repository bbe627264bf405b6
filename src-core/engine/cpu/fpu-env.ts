// FNSTENV/FLDENV and FNSAVE/FRSTOR: the x87 environment (14 or 28 bytes) and the eight
// registers in ST order after it. The environment has four layouts (Intel SDM vol. 1, 8.1.10):
//
//   protected mode, 32-bit:  CW | SW | TW | FIP offset | FCS, FOP in 26:16 | FDP offset | FDS
//   protected mode, 16-bit:  CW | SW | TW | FIP | FCS | FDP | FDS                 (words)
//   real/V86 mode, 32-bit:   CW | SW | TW | FIP 15:0 | FIP 31:16 in 27:12, FOP | FDP 15:0 |
//                            FDP 31:16 in 27:12
//   real/V86 mode, 16-bit:   CW | SW | TW | FIP 15:0 | FIP 19:16 in 15:12, FOP | FDP 15:0 |
//                            FDP 19:16 in 15:12                                   (words)
//
// Real-mode images hold linear addresses (selector * 16 + offset); loading one sets the
// selectors to 0 so that storing it again gives the same image. 64-bit mode uses the
// protected-mode layouts with the low 32 bits of the offsets. Reserved upper halves of the
// 32-bit layouts are written as ones, as the host CPU does.
import type { Cpu } from './cpu.ts';
import { VM } from './constants.ts';
import type { Fpu } from './fpu.ts';
import { fromWords, regWords } from './fpu.ts';

const HI = 0xffff0000;

function realMode(c: Cpu): boolean {
  return (c.cr0 & 1) === 0 || (c.flags & VM) !== 0;
}

/** The seven environment fields (words or dwords) as the current mode lays them out. */
function envFields(c: Cpu, f: Fpu, wide: boolean): number[] {
  const head = [f.cw, f.statusWord(), f.tagWord()];
  if (!realMode(c)) {
    if (!wide) return [...head, f.fip & 0xffff, f.fcs, f.fdp & 0xffff, f.fds];
    return [...head, f.fip | 0, f.fcs | (f.fop << 16), f.fdp | 0, f.fds | HI];
  }
  const ip = (f.fcs * 16 + f.fip) >>> 0;
  const dp = (f.fds * 16 + f.fdp) >>> 0;
  if (!wide) return [...head, ip & 0xffff, ((ip >>> 4) & 0xf000) | f.fop, dp & 0xffff, (dp >>> 4) & 0xf000];
  return [...head, (ip & 0xffff) | HI, ((ip >>> 4) & 0xffff000) | f.fop, (dp & 0xffff) | HI, (dp >>> 4) & 0xffff000];
}

export function fstenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const wide = os !== 16;
  c.checkWritable(lin + (wide ? 27 : 13));
  const v = envFields(c, f, wide);
  for (let i = 0; i < 7; i++) {
    if (wide) c.wr32(lin + i * 4, i < 3 ? v[i]! | HI : v[i]!);
    else c.wr16(lin + i * 2, v[i]!);
  }
  f.cw |= 0x3f; // FNSTENV masks all exceptions
}

export function fldenv(c: Cpu, lin: number, os: number): void {
  const f = c.fpu;
  const wide = os !== 16;
  const v: number[] = [];
  for (let i = 0; i < 7; i++) v.push(wide ? c.rd32(lin + i * 4) >>> 0 : c.rd16(lin + i * 2));
  const sw = v[1]! & 0xffff;
  f.cw = v[0]! & 0xffff;
  f.sw = sw & ~0x3800;
  f.top = (sw >> 11) & 7;
  f.setTagWord(v[2]! & 0xffff);
  if (!realMode(c)) {
    f.fip = wide ? v[3]! : v[3]! & 0xffff;
    f.fcs = v[4]! & 0xffff;
    f.fop = wide ? (v[4]! >>> 16) & 0x7ff : 0; // the 16-bit layout has no opcode
    f.fdp = wide ? v[5]! : v[5]! & 0xffff;
    f.fds = v[6]! & 0xffff;
  } else if (wide) {
    f.fip = ((v[3]! & 0xffff) | ((v[4]! & 0xffff000) << 4)) >>> 0;
    f.fop = v[4]! & 0x7ff;
    f.fdp = ((v[5]! & 0xffff) | ((v[6]! & 0xffff000) << 4)) >>> 0;
    f.fcs = f.fds = 0;
  } else {
    f.fip = (v[3]! & 0xffff) | ((v[4]! & 0xf000) << 4);
    f.fop = v[4]! & 0x7ff;
    f.fdp = (v[5]! & 0xffff) | ((v[6]! & 0xf000) << 4);
    f.fcs = f.fds = 0;
  }
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
