// Decoding of qcow2 L1 and L2 table entries (64-bit big-endian, read as two 32-bit halves so
// offsets stay exact JS numbers), and reading of compressed clusters (raw deflate, no zlib
// header — unlike VMDK grains).
import { inflateRawSync, constants as zc } from 'node:zlib';
import { corrupt } from '../errors.ts';
import { MAX_HOST_OFFSET } from './qcow2-header.ts';

export const COPIED_HI = 0x80000000;
export const COMPRESSED_HI = 0x40000000;
export const ZERO_LO = 1;

export type Mapping =
  | { kind: 'unallocated' }
  | { kind: 'zero'; offset: number; copied: boolean } // offset 0: no preallocated cluster
  | { kind: 'normal'; offset: number; copied: boolean }
  | { kind: 'compressed'; offset: number; size: number };

/** Host offset an L1 entry points to (0 = no L2 table); validated to be cluster aligned. */
export function l1Offset(dv: DataView, i: number, cs: number, path: string): number {
  const hi = dv.getUint32(i * 8);
  const lo = dv.getUint32(i * 8 + 4);
  const off = (hi & 0x00ffffff) * 2 ** 32 + ((lo & ~0x1ff) >>> 0);
  if (off % cs !== 0) throw corrupt(path, `L1 entry ${i} points to unaligned L2 table offset ${off}`);
  if (off > MAX_HOST_OFFSET) throw corrupt(path, `L1 entry ${i} offset ${off} is out of range`);
  return off;
}

export function decodeL2(dv: DataView, i: number, clusterBits: number, version: number, path: string): Mapping {
  const hi = dv.getUint32(i * 8);
  const lo = dv.getUint32(i * 8 + 4);
  if (hi & COMPRESSED_HI) {
    // Bits 0..x-1: host byte offset; bits x..61: extra 512-byte sectors (x = 62 - (clusterBits - 8)).
    const desc = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo);
    const x = BigInt(62 - (clusterBits - 8));
    const offset = Number(desc & ((1n << x) - 1n));
    const sectors = Number(desc >> x) + 1;
    const size = sectors * 512 - (offset & 511);
    if (offset > MAX_HOST_OFFSET || offset === 0) throw corrupt(path, `compressed cluster ${i} has an invalid offset ${offset}`);
    return { kind: 'compressed', offset, size };
  }
  const off = (hi & 0x00ffffff) * 2 ** 32 + ((lo & ~0x1ff) >>> 0);
  const copied = (hi & COPIED_HI) !== 0;
  const cs = 2 ** clusterBits;
  if (off % cs !== 0) throw corrupt(path, `L2 entry points to unaligned data cluster offset ${off}`);
  if (off > MAX_HOST_OFFSET) throw corrupt(path, `L2 entry offset ${off} is out of range`);
  if (version >= 3 && lo & ZERO_LO) return { kind: 'zero', offset: off, copied };
  if (off === 0) return { kind: 'unallocated' };
  return { kind: 'normal', offset: off, copied };
}

export function setEntry(dv: DataView, i: number, hi: number, lo: number): void {
  dv.setUint32(i * 8, hi >>> 0);
  dv.setUint32(i * 8 + 4, lo >>> 0);
}

/** Entry halves for a plain data cluster at `offset` with refcount 1. */
export function normalEntry(offset: number): [number, number] {
  return [(COPIED_HI | Math.floor(offset / 2 ** 32)) >>> 0, offset >>> 0];
}

/** Inflate one compressed cluster; the result must be exactly one cluster. */
export function inflateCluster(data: Uint8Array, cs: number, path: string, offset: number): Uint8Array {
  let out: Buffer;
  try {
    // SYNC_FLUSH tolerates a stream cut at the sector padding; trailing bytes after the end are ignored.
    out = inflateRawSync(data, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: cs });
  } catch (err) {
    throw corrupt(path, `compressed cluster at ${offset} does not inflate (${(err as Error).message})`);
  }
  if (out.length !== cs) throw corrupt(path, `compressed cluster at ${offset} inflates to ${out.length} bytes, not ${cs}`);
  return out;
}

/** Host clusters a compressed cluster's bytes touch (each holds one reference). */
export function compressedSpan(m: { offset: number; size: number }, cs: number): { first: number; count: number } {
  const first = Math.floor(m.offset / cs);
  const last = Math.floor((m.offset + m.size - 1) / cs);
  return { first, count: last - first + 1 };
}
