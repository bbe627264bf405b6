// Linear-memory accesses at an address given as int32 halves (lo, hi), as the specialised
// 64-bit handlers compute it (operands.ts lin64h): the TLB index and page tag come from integer
// operations instead of splitting a double again (the page tag is hi * 2^20 + (lo >>> 12), the
// same number the Cpu's TLB stores). Anything but a TLB hit on RAM takes the Cpu's plain
// accessors at hi * 2^32 + (lo >>> 0), which translate, fault and reach MMIO as usual.
import type { Cpu } from './cpu.ts';
import { T_RS, T_WS } from './paging.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const TLB_MASK = 4095; // the Cpu's TLB has 4096 entries

/** rd8 at hi * 2^32 + (lo >>> 0). */
export function rd8h(c: Cpu, lo: number, hi: number): number {
  const vl = lo >>> 12;
  const i = vl & TLB_MASK;
  if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_RS << c.userShift)) !== 0) {
    const o = c.tlbOff[i]!;
    if (o >= 0) return c.ram[o + (lo & 0xfff)]!;
  }
  return c.rd8(hi * TWO32 + (lo >>> 0));
}

/** rd16 at hi * 2^32 + (lo >>> 0). */
export function rd16h(c: Cpu, lo: number, hi: number): number {
  const po = lo & 0xfff;
  if (po <= 0xffe) {
    const vl = lo >>> 12;
    const i = vl & TLB_MASK;
    if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_RS << c.userShift)) !== 0) {
      const o = c.tlbOff[i]!;
      if (o >= 0) return c.dv.getUint16(o + po, true);
    }
  }
  return c.rd16(hi * TWO32 + (lo >>> 0));
}

/** wr8 at hi * 2^32 + (lo >>> 0). */
export function wr8h(c: Cpu, lo: number, hi: number, v: number): void {
  const vl = lo >>> 12;
  const i = vl & TLB_MASK;
  if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_WS << c.userShift)) !== 0) {
    const o = c.tlbOff[i]!;
    if (o >= 0) {
      c.ram[o + (lo & 0xfff)] = v;
      return;
    }
  }
  c.wr8(hi * TWO32 + (lo >>> 0), v);
}

/** rd32 at hi * 2^32 + (lo >>> 0). */
export function rd32h(c: Cpu, lo: number, hi: number): number {
  const po = lo & 0xfff;
  if (po <= 0xffc) {
    const vl = lo >>> 12;
    const i = vl & TLB_MASK;
    if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_RS << c.userShift)) !== 0) {
      const o = c.tlbOff[i]!;
      if (o >= 0) return c.dv.getInt32(o + po, true);
    }
  }
  return c.rd32(hi * TWO32 + (lo >>> 0));
}

/** rd64 at hi * 2^32 + (lo >>> 0); the high half of the value goes to c.mhi. */
export function rd64h(c: Cpu, lo: number, hi: number): number {
  const po = lo & 0xfff;
  if (po <= 0xff8) {
    const vl = lo >>> 12;
    const i = vl & TLB_MASK;
    if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_RS << c.userShift)) !== 0) {
      const o = c.tlbOff[i]!;
      if (o >= 0) {
        c.mhi = c.dv.getInt32(o + po + 4, true);
        return c.dv.getInt32(o + po, true);
      }
    }
  }
  return c.rd64(hi * TWO32 + (lo >>> 0));
}

/** wr32 at hi * 2^32 + (lo >>> 0). */
export function wr32h(c: Cpu, lo: number, hi: number, v: number): void {
  const po = lo & 0xfff;
  if (po <= 0xffc) {
    const vl = lo >>> 12;
    const i = vl & TLB_MASK;
    if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_WS << c.userShift)) !== 0) {
      const o = c.tlbOff[i]!;
      if (o >= 0) {
        c.dv.setInt32(o + po, v | 0, true);
        return;
      }
    }
  }
  c.wr32(hi * TWO32 + (lo >>> 0), v);
}

/** wr64 at hi * 2^32 + (lo >>> 0). */
export function wr64h(c: Cpu, lo: number, hi: number, v: number, vh: number): void {
  const po = lo & 0xfff;
  if (po <= 0xff8) {
    const vl = lo >>> 12;
    const i = vl & TLB_MASK;
    if (c.tlbVpn[i] === hi * 1048576 + vl && (c.tlbPerm[i]! & (T_WS << c.userShift)) !== 0) {
      const o = c.tlbOff[i]!;
      if (o >= 0) {
        c.dv.setInt32(o + po, v | 0, true);
        c.dv.setInt32(o + po + 4, vh | 0, true);
        return;
      }
    }
  }
  c.wr64(hi * TWO32 + (lo >>> 0), v, vh);
}
