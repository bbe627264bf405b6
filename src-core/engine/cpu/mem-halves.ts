// Linear-memory accesses at an address given as int32 halves (lo, hi), as the specialised
// 64-bit handlers compute it (operands.ts lin64h): the TLB index and page tag come from integer
// operations instead of splitting a double again (the page tag is hi * 2^20 + (lo >>> 12), the
// same number the Cpu's TLB stores). Anything but a TLB hit on RAM takes the Cpu's plain
// accessors at hi * 2^32 + (lo >>> 0), which translate, fault and reach MMIO as usual.
import type { Cpu } from './cpu.ts';
import { T_RS, T_WS } from './paging.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const TLB_MASK = 4095; // the Cpu's TLB has 4096 entries


/**
 * RAM offset of the byte at hi * 2^32 + (lo >>> 0) when the TLB holds its page with `perm`
 * (T_RS or T_WS) for the current privilege and the page is RAM; -1 otherwise.
 */
function ramAt(c: Cpu, lo: number, hi: number, perm: number): number {
  const vl = lo >>> 12;
  const i = vl & TLB_MASK;
  if (c.tlbVpn[i] !== hi * 1048576 + vl || (c.tlbPerm[i]! & (perm << c.userShift)) === 0) return -1;
  const o = c.tlbOff[i]!;
  return o >= 0 ? o + (lo & 0xfff) : -1;
}

/** rd8 at hi * 2^32 + (lo >>> 0). */
export function rd8h(c: Cpu, lo: number, hi: number): number {
  const o = ramAt(c, lo, hi, T_RS);
  return o >= 0 ? c.ram[o]! : c.rd8(hi * TWO32 + (lo >>> 0));
}

/** rd16 at hi * 2^32 + (lo >>> 0). */
export function rd16h(c: Cpu, lo: number, hi: number): number {
  const o = (lo & 0xfff) <= 0xffe ? ramAt(c, lo, hi, T_RS) : -1;
  return o >= 0 ? c.dv.getUint16(o, true) : c.rd16(hi * TWO32 + (lo >>> 0));
}

/** wr8 at hi * 2^32 + (lo >>> 0). */
export function wr8h(c: Cpu, lo: number, hi: number, v: number): void {
  const o = ramAt(c, lo, hi, T_WS);
  if (o >= 0) c.ram[o] = v;
  else c.wr8(hi * TWO32 + (lo >>> 0), v);
}

/** rd32 at hi * 2^32 + (lo >>> 0). */
export function rd32h(c: Cpu, lo: number, hi: number): number {
  const o = (lo & 0xfff) <= 0xffc ? ramAt(c, lo, hi, T_RS) : -1;
  return o >= 0 ? c.dv.getInt32(o, true) : c.rd32(hi * TWO32 + (lo >>> 0));
}

/** rd64 at hi * 2^32 + (lo >>> 0); the high half of the value goes to c.mhi. */
export function rd64h(c: Cpu, lo: number, hi: number): number {
  const o = (lo & 0xfff) <= 0xff8 ? ramAt(c, lo, hi, T_RS) : -1;
  if (o < 0) return c.rd64(hi * TWO32 + (lo >>> 0));
  c.mhi = c.dv.getInt32(o + 4, true);
  return c.dv.getInt32(o, true);
}

/** wr32 at hi * 2^32 + (lo >>> 0). */
export function wr32h(c: Cpu, lo: number, hi: number, v: number): void {
  const o = (lo & 0xfff) <= 0xffc ? ramAt(c, lo, hi, T_WS) : -1;
  if (o >= 0) c.dv.setInt32(o, v | 0, true);
  else c.wr32(hi * TWO32 + (lo >>> 0), v);
}

/** wr64 at hi * 2^32 + (lo >>> 0). */
export function wr64h(c: Cpu, lo: number, hi: number, v: number, vh: number): void {
  const o = (lo & 0xfff) <= 0xff8 ? ramAt(c, lo, hi, T_WS) : -1;
  if (o < 0) {
    c.wr64(hi * TWO32 + (lo >>> 0), v, vh);
    return;
  }
  c.dv.setInt32(o, v | 0, true);
  c.dv.setInt32(o + 4, vh | 0, true);
}
