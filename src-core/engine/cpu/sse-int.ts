// Integer SIMD shared by MMX (8-byte) and SSE2 (16-byte) registers: arithmetic with and
// without saturation, compares, logic, packs/unpacks, shifts, multiplies, averages, SAD.

export interface SimdOp {
  code: number;
  /** Only valid with the 66 prefix (no MMX form). */
  sseOnly: boolean;
}

export const SIMD_OPS: (SimdOp | undefined)[] = new Array(256);
for (const b of [
  0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
  0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
  0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
  0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
]) SIMD_OPS[b] = { code: b, sseOnly: false };
SIMD_OPS[0x6c] = { code: 0x6c, sseOnly: true };
SIMD_OPS[0x6d] = { code: 0x6d, sseOnly: true };

const sat8s = (v: number): number => (v > 127 ? 127 : v < -128 ? -128 : v);
const sat8u = (v: number): number => (v > 255 ? 255 : v < 0 ? 0 : v);
const sat16s = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const sat16u = (v: number): number => (v > 65535 ? 65535 : v < 0 ? 0 : v);

/** Shift count from the source operand (low 64 bits, unsigned); huge counts saturate. */
function countOf(s: Uint8Array): number {
  const w = new Uint32Array(s.buffer, s.byteOffset, 2);
  return w[1]! !== 0 ? 1 << 30 : w[0]!;
}

function shiftLanes(d: Uint8Array, n: number, laneBits: number, kind: number, cnt: number): void {
  // kind: 0 logical right, 1 arithmetic right, 2 left.
  if (laneBits === 16) {
    const v = new Int16Array(d.buffer, d.byteOffset, n / 2);
    for (let i = 0; i < v.length; i++) {
      if (kind === 1) v[i] = v[i]! >> Math.min(cnt, 15);
      else if (cnt > 15) v[i] = 0;
      else v[i] = kind === 0 ? (v[i]! & 0xffff) >>> cnt : v[i]! << cnt;
    }
  } else if (laneBits === 32) {
    const v = new Int32Array(d.buffer, d.byteOffset, n / 4);
    for (let i = 0; i < v.length; i++) {
      if (kind === 1) v[i] = v[i]! >> Math.min(cnt, 31);
      else if (cnt > 31) v[i] = 0;
      else v[i] = kind === 0 ? v[i]! >>> cnt : v[i]! << cnt;
    }
  } else {
    const v = new Int32Array(d.buffer, d.byteOffset, n / 4);
    for (let i = 0; i < v.length; i += 2) {
      const lo = v[i]!, hi = v[i + 1]!;
      if (cnt > 63) { v[i] = 0; v[i + 1] = 0; }
      else if (cnt === 0) continue;
      else if (kind === 2) {
        if (cnt >= 32) { v[i + 1] = lo << (cnt - 32); v[i] = 0; }
        else { v[i + 1] = (hi << cnt) | (lo >>> (32 - cnt)); v[i] = lo << cnt; }
      } else if (cnt >= 32) { v[i] = hi >>> (cnt - 32); v[i + 1] = 0; }
      else { v[i] = (lo >>> cnt) | (hi << (32 - cnt)); v[i + 1] = hi >>> cnt; }
    }
  }
}

/** Apply SIMD op `op` (0F-map low byte) to dst with source s, both `n` bytes. */
/** Typed views of one register (created once per register, not per instruction). */
export interface RegViews {
  u8: Uint8Array;
  i8: Int8Array;
  i16: Int16Array;
  i32: Int32Array;
}

export function viewsOf(buf: ArrayBuffer, off: number, n: number): RegViews {
  return { u8: new Uint8Array(buf, off, n), i8: new Int8Array(buf, off, n), i16: new Int16Array(buf, off, n / 2), i32: new Int32Array(buf, off, n / 4) };
}

export function simdInt(op: SimdOp, dv: RegViews, sv: RegViews, n: number): void {
  const code = op.code;
  const d = dv.u8, s = sv.u8;
  const d8 = dv.i8, s8 = sv.i8, d16 = dv.i16, s16 = sv.i16, d32 = dv.i32, s32 = sv.i32;
  switch (code) {
    case 0x60: case 0x68: { // PUNPCKxBW
      const h = code === 0x68 ? n / 2 : 0;
      const a = d.slice(), b = s.slice();
      for (let i = 0; i < n / 2; i++) { d[2 * i] = a[h + i]!; d[2 * i + 1] = b[h + i]!; }
      return;
    }
    case 0x61: case 0x69: {
      const h = code === 0x69 ? n / 4 : 0;
      const a = d16.slice(), b = s16.slice();
      for (let i = 0; i < n / 4; i++) { d16[2 * i] = a[h + i]!; d16[2 * i + 1] = b[h + i]!; }
      return;
    }
    case 0x62: case 0x6a: {
      const h = code === 0x6a ? n / 8 : 0;
      const a = d32.slice(), b = s32.slice();
      for (let i = 0; i < n / 8; i++) { d32[2 * i] = a[h + i]!; d32[2 * i + 1] = b[h + i]!; }
      return;
    }
    case 0x6c: { const b0 = s32[0]!, b1 = s32[1]!; d32[2] = b0; d32[3] = b1; return; } // PUNPCKLQDQ
    case 0x6d: { const a2 = d32[2]!, a3 = d32[3]!; d32[0] = a2; d32[1] = a3; d32[2] = s32[2]!; d32[3] = s32[3]!; return; }
    case 0x63: { // PACKSSWB
      const a = d16.slice(), b = s16.slice();
      const m = n / 2;
      for (let i = 0; i < m; i++) { d8[i] = sat8s(a[i]!); d8[m + i] = sat8s(b[i]!); }
      return;
    }
    case 0x67: { // PACKUSWB
      const a = d16.slice(), b = s16.slice();
      const m = n / 2;
      for (let i = 0; i < m; i++) { d[i] = sat8u(a[i]!); d[m + i] = sat8u(b[i]!); }
      return;
    }
    case 0x6b: { // PACKSSDW
      const a = d32.slice(), b = s32.slice();
      const m = n / 4;
      for (let i = 0; i < m; i++) { d16[i] = sat16s(a[i]!); d16[m + i] = sat16s(b[i]!); }
      return;
    }
    case 0x64: for (let i = 0; i < n; i++) d8[i] = d8[i]! > s8[i]! ? -1 : 0; return;
    case 0x65: for (let i = 0; i < n / 2; i++) d16[i] = d16[i]! > s16[i]! ? -1 : 0; return;
    case 0x66: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! > s32[i]! ? -1 : 0; return;
    case 0x74: for (let i = 0; i < n; i++) d8[i] = d8[i] === s8[i] ? -1 : 0; return;
    case 0x75: for (let i = 0; i < n / 2; i++) d16[i] = d16[i] === s16[i] ? -1 : 0; return;
    case 0x76: for (let i = 0; i < n / 4; i++) d32[i] = d32[i] === s32[i] ? -1 : 0; return;
    case 0xd1: shiftLanes(d, n, 16, 0, countOf(s)); return;
    case 0xd2: shiftLanes(d, n, 32, 0, countOf(s)); return;
    case 0xd3: shiftLanes(d, n, 64, 0, countOf(s)); return;
    case 0xe1: shiftLanes(d, n, 16, 1, countOf(s)); return;
    case 0xe2: shiftLanes(d, n, 32, 1, countOf(s)); return;
    case 0xf1: shiftLanes(d, n, 16, 2, countOf(s)); return;
    case 0xf2: shiftLanes(d, n, 32, 2, countOf(s)); return;
    case 0xf3: shiftLanes(d, n, 64, 2, countOf(s)); return;
    case 0xd4: case 0xfb: { // PADDQ / PSUBQ
      for (let i = 0; i < n / 4; i += 2) {
        const al = d32[i]! >>> 0, bl = s32[i]! >>> 0;
        if (code === 0xd4) {
          const sum = al + bl;
          d32[i] = sum | 0;
          d32[i + 1] = (d32[i + 1]! + s32[i + 1]! + (sum > 0xffffffff ? 1 : 0)) | 0;
        } else {
          const dif = al - bl;
          d32[i] = dif | 0;
          d32[i + 1] = (d32[i + 1]! - s32[i + 1]! - (dif < 0 ? 1 : 0)) | 0;
        }
      }
      return;
    }
    case 0xd5: for (let i = 0; i < n / 2; i++) d16[i] = Math.imul(d16[i]!, s16[i]!); return; // PMULLW
    case 0xe5: for (let i = 0; i < n / 2; i++) d16[i] = (d16[i]! * s16[i]!) >> 16; return; // PMULHW
    case 0xe4: for (let i = 0; i < n / 2; i++) d16[i] = ((d16[i]! & 0xffff) * (s16[i]! & 0xffff)) / 65536; return; // PMULHUW
    case 0xf4: { // PMULUDQ
      for (let i = 0; i < n / 4; i += 2) {
        const a = d32[i]! >>> 0, b = s32[i]! >>> 0;
        const alo = a & 0xffff, ahi = a >>> 16, blo = b & 0xffff, bhi = b >>> 16;
        const ll = alo * blo, lh = alo * bhi, hl = ahi * blo, hh = ahi * bhi;
        const mid = lh + hl; // < 2^33
        const low = ll + (mid % 65536) * 65536;
        d32[i] = low % 4294967296 | 0;
        d32[i + 1] = (hh + Math.floor(mid / 65536) + Math.floor(low / 4294967296)) | 0;
      }
      return;
    }
    case 0xf5: { // PMADDWD
      const a = d16.slice();
      for (let i = 0; i < n / 4; i++) d32[i] = (a[2 * i]! * s16[2 * i]! + a[2 * i + 1]! * s16[2 * i + 1]!) | 0;
      return;
    }
    case 0xf6: { // PSADBW
      for (let q = 0; q < n / 8; q++) {
        let sum = 0;
        for (let i = 0; i < 8; i++) sum += Math.abs(d[q * 8 + i]! - s[q * 8 + i]!);
        d32[q * 2] = sum; d32[q * 2 + 1] = 0;
      }
      return;
    }
    case 0xd8: for (let i = 0; i < n; i++) d[i] = sat8u(d[i]! - s[i]!); return;
    case 0xd9: for (let i = 0; i < n / 2; i++) d16[i] = sat16u((d16[i]! & 0xffff) - (s16[i]! & 0xffff)); return;
    case 0xdc: for (let i = 0; i < n; i++) d[i] = sat8u(d[i]! + s[i]!); return;
    case 0xdd: for (let i = 0; i < n / 2; i++) d16[i] = sat16u((d16[i]! & 0xffff) + (s16[i]! & 0xffff)); return;
    case 0xe8: for (let i = 0; i < n; i++) d8[i] = sat8s(d8[i]! - s8[i]!); return;
    case 0xe9: for (let i = 0; i < n / 2; i++) d16[i] = sat16s(d16[i]! - s16[i]!); return;
    case 0xec: for (let i = 0; i < n; i++) d8[i] = sat8s(d8[i]! + s8[i]!); return;
    case 0xed: for (let i = 0; i < n / 2; i++) d16[i] = sat16s(d16[i]! + s16[i]!); return;
    case 0xda: for (let i = 0; i < n; i++) d[i] = Math.min(d[i]!, s[i]!); return;
    case 0xde: for (let i = 0; i < n; i++) d[i] = Math.max(d[i]!, s[i]!); return;
    case 0xea: for (let i = 0; i < n / 2; i++) d16[i] = Math.min(d16[i]!, s16[i]!); return;
    case 0xee: for (let i = 0; i < n / 2; i++) d16[i] = Math.max(d16[i]!, s16[i]!); return;
    case 0xe0: for (let i = 0; i < n; i++) d[i] = (d[i]! + s[i]! + 1) >> 1; return;
    case 0xe3: for (let i = 0; i < n / 2; i++) d16[i] = ((d16[i]! & 0xffff) + (s16[i]! & 0xffff) + 1) >> 1; return;
    case 0xdb: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! & s32[i]!; return;
    case 0xdf: for (let i = 0; i < n / 4; i++) d32[i] = ~d32[i]! & s32[i]!; return;
    case 0xeb: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! | s32[i]!; return;
    case 0xef: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! ^ s32[i]!; return;
    case 0xf8: for (let i = 0; i < n; i++) d8[i] = d8[i]! - s8[i]!; return;
    case 0xf9: for (let i = 0; i < n / 2; i++) d16[i] = d16[i]! - s16[i]!; return;
    case 0xfa: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! - s32[i]!; return;
    case 0xfc: for (let i = 0; i < n; i++) d8[i] = d8[i]! + s8[i]!; return;
    case 0xfd: for (let i = 0; i < n / 2; i++) d16[i] = d16[i]! + s16[i]!; return;
    case 0xfe: for (let i = 0; i < n / 4; i++) d32[i] = d32[i]! + s32[i]!; return;
  }
}

/** Groups 12-14 (0F 71/72/73): shifts by immediate; 0F 73 /3 and /7 are byte shifts (SSE2). */
export function simdShiftImm(op: number, ext: number, d: Uint8Array, imm: number, n: number): boolean {
  if (op === 0x173 && (ext === 3 || ext === 7)) {
    const a = d.slice();
    const k = imm > 15 ? 16 : imm;
    for (let i = 0; i < 16; i++) {
      if (ext === 3) d[i] = i + k < 16 ? a[i + k]! : 0; // PSRLDQ
      else d[i] = i - k >= 0 ? a[i - k]! : 0; // PSLLDQ
    }
    return true;
  }
  const bits = op === 0x171 ? 16 : op === 0x172 ? 32 : 64;
  const kind = ext === 2 ? 0 : ext === 4 ? 1 : ext === 6 ? 2 : -1;
  if (kind < 0 || (kind === 1 && bits === 64)) return false;
  shiftLanes(d, n, bits, kind, imm);
  return true;
}
