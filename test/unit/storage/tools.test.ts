// The image tools as library functions: sizes, convert (zeros stay unallocated), compare, info.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { parseSize, formatSize } from '../../../src-core/storage/size.ts';
import { convertImage } from '../../../src-core/storage/tools/convert.ts';
import { compareImages } from '../../../src-core/storage/tools/compare.ts';
import { imageInfo } from '../../../src-core/storage/tools/info.ts';
import { createImage } from '../../../src-core/storage/tools/create.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { tempDir, qemuImg, qemuImgStatus, rng, randomBytes } from './helpers.ts';

const t = tempDir('tools');
afterAll(() => t.cleanup());

function sparseSource(name: string): { path: string; dataClusters: number } {
  const r = rng(8);
  const buf = new Uint8Array(16 << 20);
  let dataClusters = 0;
  for (let c = 0; c < 256; c++) {
    if (r() < 0.2) {
      buf.set(randomBytes(r, 65536), c * 65536);
      dataClusters++;
    }
  }
  const path = t.file(name);
  writeFileSync(path, buf);
  return { path, dataClusters };
}

describe('sizes', () => {
  it('parses binary units and rejects nonsense', () => {
    expect(parseSize('10G')).toBe(10 * 2 ** 30);
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5k')).toBe(1536);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    expect(() => parseSize('10X')).toThrow(/invalid size "10X"/);
    expect(() => parseSize('100')).toThrow(/multiple of 512/);
    expect(() => parseSize('-1G')).toThrow(/invalid size/);
    expect(formatSize(3 * 2 ** 30)).toBe('3 GiB');
  });
});

describe('convert', () => {
  it('raw → qcow2 allocates only the non-zero clusters and matches qemu-img compare', async () => {
    const src = sparseSource('sparse.raw');
    const dst = t.file('sparse.qcow2');
    const seen: number[] = [];
    const r = await convertImage({ src: src.path, dst, dstFormat: 'qcow2', onProgress: (d) => seen.push(d) });
    expect(r.srcFormat).toBe('raw');
    expect(r.written).toBe(src.dataClusters * 65536);
    expect(seen[seen.length - 1]).toBe(16 << 20);
    const chk = qemuImgStatus('check', dst);
    expect(chk.status).toBe(0);
    expect(chk.out).toContain(`${src.dataClusters}/256 = `);
    expect(qemuImgStatus('compare', src.path, dst).status).toBe(0);
  });

  it('qcow2 with a backing chain → raw flattens it and stays sparse', async () => {
    const base = sparseSource('chain-base.raw');
    const top = t.file('chain-top.qcow2');
    await createImage({ format: 'qcow2', path: top, backing: base.path, backingFormat: 'raw' });
    const img = await openImage(top, 'qcow2');
    await img.write(new Uint8Array(4096).fill(0xee), 8 << 20);
    await img.close();
    const out = t.file('flat.raw');
    await convertImage({ src: top, dst: out, dstFormat: 'raw' });
    expect(qemuImgStatus('compare', top, out).status).toBe(0);
    expect(statSync(out).blocks * 512).toBeLessThan((base.dataClusters + 2) * 65536 + (1 << 20));
  });

  it('leaves no destination behind when the source is bad', async () => {
    const bad = t.file('bad.qcow2');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(200)]));
    const dst = t.file('never.qcow2');
    await expect(convertImage({ src: bad, dst, dstFormat: 'qcow2' })).rejects.toThrow(/corrupt image/);
    expect(existsSync(dst)).toBe(false);
  });
});

describe('compare and info', () => {
  it('reports the first differing offset, and size differences only when strict', async () => {
    const a = t.file('a.raw');
    const b = t.file('b.raw');
    const data = randomBytes(rng(2), 1 << 20);
    writeFileSync(a, data);
    const changed = Uint8Array.from(data);
    changed[700_001] ^= 1;
    writeFileSync(b, changed);
    expect(await compareImages(a, b)).toMatchObject({ identical: false, offset: 700_001 });
    const c = t.file('c.raw');
    writeFileSync(c, Buffer.concat([data, Buffer.alloc(1 << 20)]));
    expect((await compareImages(a, c)).identical).toBe(true);
    expect((await compareImages(a, c, { strict: true })).identical).toBe(false);
  });

  it('describes format, sizes and the backing chain', async () => {
    const base = t.file('info-base.qcow2');
    await createImage({ format: 'qcow2', path: base, size: 8 << 20 });
    const mid = t.file('info-mid.qcow2');
    await createImage({ format: 'qcow2', path: mid, backing: base, backingFormat: 'qcow2' });
    const top = t.file('info-top.qcow2');
    await createImage({ format: 'qcow2', path: top, backing: mid });
    const info = await imageInfo(top);
    expect(info).toMatchObject({ format: 'qcow2', virtualSize: 8 << 20, clusterSize: 65536, dirty: false });
    expect(info.backing).toEqual({ path: 'info-mid.qcow2', format: 'qcow2' });
    expect(info.backingChain.map((c) => c.path)).toEqual([mid, base]);
    expect(qemuImg('info', '--backing-chain', top)).toContain('info-base.qcow2');
  });
});
