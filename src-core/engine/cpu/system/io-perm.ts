// I/O permission: at CPL > IOPL (or in virtual-8086 mode) the TSS I/O bitmap decides.
import type { Cpu } from '../cpu.ts';
import { EX_GP, IOPL, TR, VM } from '../constants.ts';
import { sysRead16 } from './segments.ts';

export function portAllowed(c: Cpu, port: number, bytes: number): void {
  if (!(c.cr0 & 1)) return;
  if (!(c.flags & VM) && c.cpl <= ((c.flags & IOPL) >> 12)) return;
  // 32-bit/64-bit TSS only: the bitmap offset is at 0x66.
  const type = c.sAttr[TR]! & 0xf;
  if (type !== 0x9 && type !== 0xb) c.fault(EX_GP, 0);
  const limit = c.sLimit[TR]!;
  if (limit < 0x67) c.fault(EX_GP, 0);
  const bmp = sysRead16(c, c.sBase[TR]! + 0x66);
  const at = bmp + (port >> 3);
  if (at + 1 > limit) c.fault(EX_GP, 0);
  const bits = sysRead16(c, c.sBase[TR]! + at);
  const mask = ((1 << bytes) - 1) << (port & 7);
  if (bits & mask) c.fault(EX_GP, 0);
}
