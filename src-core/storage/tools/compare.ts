// `disk compare`: do two images hold the same guest-visible content? Different sizes compare
// equal when the larger image is all zeros past the smaller one's end (qemu-img's rule), unless strict.
import type { FormatName, OpenImage } from '../format.ts';
import { openImageGuessing } from '../open.ts';
import { isZero } from '../zero.ts';

const CHUNK = 1 << 20;

export interface CompareResult {
  identical: boolean;
  /** First differing byte offset, when different. */
  offset?: number;
  reason?: string;
}

export async function compareImages(
  a: string,
  b: string,
  opts: { formatA?: FormatName; formatB?: FormatName; strict?: boolean; allowUnsafePaths?: boolean } = {},
): Promise<CompareResult> {
  const ia = (await openImageGuessing(a, opts.formatA, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths })).image;
  let ib: OpenImage | undefined;
  try {
    ib = (await openImageGuessing(b, opts.formatB, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths })).image;
    if (opts.strict && ia.capacity !== ib.capacity)
      return { identical: false, reason: `sizes differ (${ia.capacity} vs ${ib.capacity})` };
    const common = Math.min(ia.capacity, ib.capacity);
    const ba = new Uint8Array(CHUNK);
    const bb = new Uint8Array(CHUNK);
    for (let off = 0; off < common; off += CHUNK) {
      const n = Math.min(CHUNK, common - off);
      const xa = ba.subarray(0, n);
      const xb = bb.subarray(0, n);
      await ia.read(xa, off);
      await ib.read(xb, off);
      if (Buffer.compare(xa, xb) !== 0) {
        let i = 0;
        while (xa[i] === xb[i]) i++;
        return { identical: false, offset: off + i, reason: `content mismatch at offset ${off + i}` };
      }
    }
    const longer = ia.capacity > ib.capacity ? ia : ib;
    for (let off = common; off < longer.capacity; off += CHUNK) {
      const x = ba.subarray(0, Math.min(CHUNK, longer.capacity - off));
      await longer.read(x, off);
      if (!isZero(x)) {
        let i = 0;
        while (x[i] === 0) i++;
        return { identical: false, offset: off + i, reason: `content mismatch at offset ${off + i} (past the end of the smaller image)` };
      }
    }
    return { identical: true };
  } finally {
    await ia.close();
    if (ib) await ib.close();
  }
}
