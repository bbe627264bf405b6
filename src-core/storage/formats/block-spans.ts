// Splitting a byte range of a virtual disk into pieces that each lie inside one block (VDI and
// VHD blocks, VMDK grains): every read, write, discard and map of those formats walks a range
// this way and then handles one block's piece at a time.

export interface BlockSpan {
  /** Block number. */
  block: number;
  /** Offset of the piece inside its block. */
  inBlock: number;
  /** Offset of the piece on the virtual disk. */
  pos: number;
  /** Offset of the piece relative to the start of the range (where it sits in the caller's buffer). */
  done: number;
  /** Length of the piece. */
  n: number;
}

/** The pieces of [offset, offset + length) cut at multiples of blockSize, in order. */
export function* blockSpans(offset: number, length: number, blockSize: number): Generator<BlockSpan> {
  let done = 0;
  while (done < length) {
    const pos = offset + done;
    const block = Math.floor(pos / blockSize);
    const inBlock = pos - block * blockSize;
    const n = Math.min(blockSize - inBlock, length - done);
    yield { block, inBlock, pos, done, n };
    done += n;
  }
}
