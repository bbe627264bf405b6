// Reading and mapping through to the parent of a differencing image (VDI, VHD). A child may be
// larger than its parent (grown after it was made): what lies past the parent's end reads as
// zeros and maps as unallocated.
import { appendRun } from './runs.ts';
import type { Run } from './runs.ts';

/** How many of n bytes at pos lie inside a parent of `capacity` bytes. */
function inParent(capacity: number, pos: number, n: number): number {
  return Math.max(0, Math.min(n, capacity - pos));
}

/** Fill buf from the parent at offset, zeros past the parent's end. */
export async function readThroughParent(
  capacity: number,
  read: (buf: Uint8Array, offset: number) => Promise<void>,
  buf: Uint8Array,
  offset: number,
): Promise<void> {
  const n = inParent(capacity, offset, buf.length);
  if (n > 0) await read(buf.subarray(0, n), offset);
  buf.fill(0, n);
}

/** Append the parent's runs for [pos, pos + n) to out, an unallocated zero run past its end. */
export async function mapThroughParent(
  capacity: number,
  map: (offset: number, length: number) => Promise<Run[]>,
  out: Run[],
  pos: number,
  n: number,
): Promise<void> {
  const inside = inParent(capacity, pos, n);
  if (inside > 0) for (const r of await map(pos, inside)) appendRun(out, r);
  if (inside < n) appendRun(out, { offset: pos + inside, length: n - inside, allocated: false, zero: true });
}
