// The block helpers the VDI, VHD, VMDK and qcow2 modules share: range splitting, run merging,
// reads and maps through a smaller parent, block-table write-back, zero detection.
import { describe, expect, it } from 'vitest';
import { blockSpans } from '../../../src-core/storage/formats/block-spans.ts';
import { dirtyTableSectors, encodeTableEntries, encodeTableSector } from '../../../src-core/storage/formats/block-table.ts';
import { mapThroughParent, readThroughParent } from '../../../src-core/storage/formats/parent-io.ts';
import { appendRun } from '../../../src-core/storage/formats/runs.ts';
import type { Run } from '../../../src-core/storage/formats/runs.ts';
import { isZero } from '../../../src-core/storage/zero.ts';

describe('blockSpans', () => {
  it('cuts a range at block boundaries and tiles it exactly', () => {
    expect([...blockSpans(1000, 5000, 2048)]).toEqual([
      { block: 0, inBlock: 1000, pos: 1000, done: 0, n: 1048 },
      { block: 1, inBlock: 0, pos: 2048, done: 1048, n: 2048 },
      { block: 2, inBlock: 0, pos: 4096, done: 3096, n: 1904 },
    ]);
  });

  it('keeps a range inside one block whole, and yields nothing for an empty range', () => {
    expect([...blockSpans(4096 + 512, 512, 4096)]).toEqual([{ block: 1, inBlock: 512, pos: 4608, done: 0, n: 512 }]);
    expect([...blockSpans(123, 0, 4096)]).toEqual([]);
  });

  it('handles offsets past 2^32', () => {
    const base = 5 * 2 ** 30;
    const spans = [...blockSpans(base - 512, 1024, 1 << 20)];
    expect(spans.map((s) => [s.block, s.inBlock, s.n])).toEqual([
      [5 * 1024 - 1, (1 << 20) - 512, 512],
      [5 * 1024, 0, 512],
    ]);
  });
});

describe('appendRun', () => {
  it('merges contiguous runs of the same kind only', () => {
    const out: Run[] = [];
    appendRun(out, { offset: 0, length: 10, allocated: true });
    appendRun(out, { offset: 10, length: 5, allocated: true });
    appendRun(out, { offset: 15, length: 5, allocated: false, zero: true });
    appendRun(out, { offset: 20, length: 5, allocated: false, zero: true });
    appendRun(out, { offset: 30, length: 5, allocated: false, zero: true }); // gap: not merged
    appendRun(out, { offset: 35, length: 5, allocated: false }); // not zero: another kind
    expect(out).toEqual([
      { offset: 0, length: 15, allocated: true },
      { offset: 15, length: 10, allocated: false, zero: true },
      { offset: 30, length: 5, allocated: false, zero: true },
      { offset: 35, length: 5, allocated: false },
    ]);
  });
});

describe('reading and mapping through a smaller parent', () => {
  const parent = new Uint8Array(4096).map((_, i) => (i % 251) + 1);
  const readParent = async (buf: Uint8Array, off: number) => {
    if (off + buf.length > parent.length) throw new Error('read past the parent');
    buf.set(parent.subarray(off, off + buf.length));
  };

  it('reads the parent inside it and zeros past its end', async () => {
    const buf = new Uint8Array(1024).fill(0xee);
    await readThroughParent(parent.length, readParent, buf, 3584);
    expect(buf.subarray(0, 512)).toEqual(parent.subarray(3584));
    expect(isZero(buf.subarray(512))).toBe(true);
    const past = new Uint8Array(512).fill(0xee);
    await readThroughParent(parent.length, readParent, past, 8192);
    expect(isZero(past)).toBe(true);
  });

  it('maps the parent inside it and an unallocated zero run past its end, merged into what came before', async () => {
    const out: Run[] = [{ offset: 0, length: 3072, allocated: true }];
    const mapParent = async (off: number, len: number): Promise<Run[]> => [{ offset: off, length: len, allocated: true }];
    await mapThroughParent(4096, mapParent, out, 3072, 2048);
    expect(out).toEqual([
      { offset: 0, length: 4096, allocated: true },
      { offset: 4096, length: 1024, allocated: false, zero: true },
    ]);
  });
});

describe('block tables', () => {
  it('lists the 512-byte sectors holding changed entries, once each, ascending', () => {
    expect(dirtyTableSectors(new Set([300, 5, 127, 128, 129, 1000]))).toEqual([0, 1, 2, 7]);
    expect(dirtyTableSectors([])).toEqual([]);
  });

  it('encodes entries in either byte order, clipped to the table', () => {
    const table = Uint32Array.from([0x01020304, 0xffffffff, 7]);
    expect([...encodeTableEntries(table, 0, 2, true)]).toEqual([4, 3, 2, 1, 255, 255, 255, 255]);
    expect([...encodeTableEntries(table, 2, 100, false)]).toEqual([0, 0, 0, 7]);
    const big = new Uint32Array(200).map((_, i) => i);
    const s1 = encodeTableSector(big, 1, false);
    expect(s1.length).toBe(72 * 4); // entries 128..199
    expect(new DataView(s1.buffer).getUint32(0)).toBe(128);
  });
});

describe('isZero', () => {
  it('finds a single non-zero byte anywhere, at any size and alignment', () => {
    for (const size of [1, 511, 512, 4096, 65536, 65537, 3 << 20]) {
      const b = new Uint8Array(size + 3).subarray(3);
      expect(isZero(b)).toBe(true);
      for (const at of [0, size >> 1, size - 1]) {
        b[at] = 1;
        expect(isZero(b)).toBe(false);
        b[at] = 0;
      }
    }
    expect(isZero(new Uint8Array(0))).toBe(true);
  });
});
