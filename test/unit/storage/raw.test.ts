import { describe, it, expect, afterAll } from 'vitest';
import { statSync, writeFileSync } from 'node:fs';
import { rawFormat } from '../../../src-core/storage/formats/raw.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { HangarError } from '../../../src-core/api/errors.ts';
import { tempDir, rng, randomBytes, equalBytes } from './helpers.ts';

const t = tempDir('raw');
afterAll(() => t.cleanup());

describe('raw images', () => {
  it('are created sparse at the requested size', async () => {
    const p = t.file('sparse.img');
    await rawFormat.create(p, 64 << 20);
    const st = statSync(p);
    expect(st.size).toBe(64 << 20);
    expect(st.blocks * 512).toBeLessThan(1 << 20);
    await expect(rawFormat.create(p, 1 << 20)).rejects.toThrow(/already exists/);
  });

  it('read back what was written, and discard makes ranges read as zeros', async () => {
    const p = t.file('rw.img');
    await rawFormat.create(p, 8 << 20);
    const img = await openImage(p, 'raw');
    const data = randomBytes(rng(1), 3 << 20);
    await img.write(data, 512 * 1001);
    await img.flush();
    const back = new Uint8Array(data.length);
    await img.read(back, 512 * 1001);
    expect(equalBytes(back, data)).toBe(true);
    const before = (await img.info()).actualSize;
    await img.discard(1 << 20, 2 << 20); // large: punched
    // The punched range no longer occupies host blocks.
    expect((await img.info()).actualSize).toBeLessThanOrEqual(before - (1 << 20));
    await img.discard(512 * 1001, 4096); // small: zero-written
    const after = new Uint8Array(8 << 20);
    await img.read(after, 0);
    expect(after.subarray(1 << 20, 3 << 20).every((x) => x === 0)).toBe(true);
    expect(after.subarray(512 * 1001, 512 * 1001 + 4096).every((x) => x === 0)).toBe(true);
    expect(equalBytes(after.subarray(3 << 20, 512 * 1001 + data.length), data.subarray((3 << 20) - 512 * 1001))).toBe(true);
    await img.close();
  });

  it('refuse writes when read-only and requests past the end', async () => {
    const p = t.file('ro.img');
    writeFileSync(p, new Uint8Array(4096));
    const img = await openImage(p, 'raw', { readOnly: true });
    await expect(img.write(new Uint8Array(512), 0)).rejects.toBeInstanceOf(HangarError);
    await expect(img.read(new Uint8Array(1024), 3584)).rejects.toThrow(/past the end/);
    await expect(img.read(new Uint8Array(8), -1)).rejects.toThrow(/invalid request/);
    await img.close();
    await expect(img.read(new Uint8Array(8), 0)).rejects.toThrow(/closed/);
  });

  it('resize grows, and shrinks only when asked', async () => {
    const p = t.file('resize.img');
    await rawFormat.create(p, 1 << 20);
    await rawFormat.resize!(p, 4 << 20);
    expect(statSync(p).size).toBe(4 << 20);
    await expect(rawFormat.resize!(p, 2 << 20)).rejects.toThrow(/--shrink/);
    await rawFormat.resize!(p, 2 << 20, { shrink: true });
    expect(statSync(p).size).toBe(2 << 20);
  });
});
