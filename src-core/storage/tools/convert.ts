// `disk convert`: copy the guest-visible content of any image (its backing chain flattened) into
// a new image of any format. Zero ranges are never written, so they stay unallocated in the
// destination. Reads of the next chunk overlap writes of the current one.
import { rm } from 'node:fs/promises';
import type { FormatName, OpenImage } from '../format.ts';
import { openImage, openImageGuessing, requireFormat } from '../open.ts';
import { isZero } from '../zero.ts';

const CHUNK = 4 << 20;
const GRANULE = 64 << 10; // zero detection unit: one default qcow2 cluster / VMDK grain

export interface ConvertRequest {
  src: string;
  srcFormat?: FormatName;
  dst: string;
  dstFormat: FormatName;
  subformat?: string;
  cluster?: number;
  allowUnsafePaths?: boolean;
  /** Called after each chunk with bytes processed and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ConvertResult {
  srcFormat: FormatName;
  bytes: number;
  /** Bytes actually written (non-zero data). */
  written: number;
}

/** Which [start, end) pieces of `buf` (relative) hold non-zero data, in granules, coalesced. */
function dataRuns(buf: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let g = 0; g < buf.length; g += GRANULE) {
    const end = Math.min(g + GRANULE, buf.length);
    if (isZero(buf.subarray(g, end))) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === g) last[1] = end;
    else runs.push([g, end]);
  }
  return runs;
}

async function readChunk(src: OpenImage, off: number, n: number, into: Uint8Array): Promise<{ buf: Uint8Array; skip: boolean }> {
  const buf = into.subarray(0, n);
  if (src.mapRanges) {
    const ranges = await src.mapRanges(off, n);
    if (ranges.every((r) => !r.allocated || r.zero)) return { buf, skip: true };
  }
  await src.read(buf, off);
  return { buf, skip: false };
}

export async function convertImage(req: ConvertRequest): Promise<ConvertResult> {
  const fmt = requireFormat(req.dstFormat);
  const { image: src, format: srcFormat } = await openImageGuessing(req.src, req.srcFormat, { readOnly: true, allowUnsafePaths: req.allowUnsafePaths });
  let dst: OpenImage | undefined;
  let created = false;
  let written = 0;
  let next: Promise<{ buf: Uint8Array; skip: boolean }> | undefined;
  try {
    const total = src.capacity;
    await fmt.create(req.dst, total, { subformat: req.subformat, cluster: req.cluster });
    created = true;
    dst = await openImage(req.dst, fmt.name);
    // Two buffers, reused: chunk k+1 is read into one while chunk k is written from the other.
    // (Allocating a fresh multi-MiB buffer per chunk made conversion several times slower.)
    const bufs = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
    next = total > 0 ? readChunk(src, 0, Math.min(CHUNK, total), bufs[0]!) : undefined;
    for (let off = 0, k = 0; off < total; off += CHUNK, k++) {
      const n = Math.min(CHUNK, total - off);
      const cur = await next!;
      const nextOff = off + CHUNK;
      next = nextOff < total ? readChunk(src, nextOff, Math.min(CHUNK, total - nextOff), bufs[(k + 1) % 2]!) : undefined;
      if (!cur.skip) {
        for (const [s, e] of dataRuns(cur.buf)) {
          await dst.write(cur.buf.subarray(s, e), off + s);
          written += e - s;
        }
      }
      req.onProgress?.(off + n, total);
    }
    if (next) await next;
    await dst.flush();
    await dst.close();
    dst = undefined;
    return { srcFormat, bytes: total, written };
  } catch (err) {
    next?.catch(() => undefined);
    if (dst) await dst.close().catch(() => undefined);
    // A half-written destination is worse than none.
    if (created) await rm(req.dst, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    await src.close();
  }
}
