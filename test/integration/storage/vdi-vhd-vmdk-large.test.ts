// VDI, VHD and VMDK at sizes where 32-bit arithmetic and the 2 GiB extent split matter: a 5 GiB
// sparse disk with data just around 2 GiB and past 4 GiB. Images qemu writes read back right;
// images Hangar writes compare equal under qemu-img and pass its check.
import { closeSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageFormat } from '../../../src-core/storage/format.ts';
import { vdiFormat } from '../../../src-core/storage/formats/vdi.ts';
import { vhdFormat } from '../../../src-core/storage/formats/vhd.ts';
import { vmdkFormat } from '../../../src-core/storage/formats/vmdk.ts';
import { pattern, qemuImg, qemuImgStatus, tempDir } from '../../unit/storage/vdi-vhd-vmdk-oracle.ts';

const GiB = 2 ** 30;
const SIZE = 5 * GiB;
const WINDOWS: [number, number][] = [
  [0, 4096],
  [GiB - 100, 70000],
  [2 * GiB - 3000, 9000], // across the first twoGbMaxExtent boundary
  [4 * GiB + 12345, 200000], // past 2^32
  [SIZE - 4096, 4096],
];

const tmp = tempDir('large');
const src = tmp.path('src.raw');
afterAll(() => tmp.remove());
beforeAll(() => {
  const fd = openSync(src, 'w');
  ftruncateSync(fd, SIZE);
  WINDOWS.forEach(([off, len], i) => writeSync(fd, pattern(len, 40 + i), 0, len, off));
  closeSync(fd);
});

async function expectWindows(fmt: ImageFormat, path: string): Promise<void> {
  const img = await fmt.open(path, { readOnly: true });
  try {
    expect(img.capacity).toBe(SIZE);
    for (const [i, [off, len]] of WINDOWS.entries()) {
      const got = new Uint8Array(len + 1024);
      const at = Math.max(0, Math.min(off - 512, SIZE - got.length));
      await img.read(got, at);
      const want = new Uint8Array(got.length);
      want.set(pattern(len, 40 + i), off - at);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    }
    const runs = await img.mapRanges!(0, SIZE);
    const allocated = runs.filter((r) => r.allocated).reduce((s, r) => s + r.length, 0);
    expect(allocated).toBeLessThan(64 * 2 ** 20); // sparse stays sparse
  } finally {
    await img.close();
  }
}

const cases: { name: string; fmt: ImageFormat; qemu: string; opts: string[]; sub?: string; check: boolean }[] = [
  { name: 'vdi', fmt: vdiFormat, qemu: 'vdi', opts: [], check: true },
  { name: 'vhd', fmt: vhdFormat, qemu: 'vpc', opts: ['-o', 'force_size=on'], check: false },
  { name: 'vmdk', fmt: vmdkFormat, qemu: 'vmdk', opts: [], check: true },
  { name: 'vmdk-stream', fmt: vmdkFormat, qemu: 'vmdk', opts: ['-o', 'subformat=streamOptimized'], sub: 'streamOptimized', check: true },
  { name: 'vmdk-split', fmt: vmdkFormat, qemu: 'vmdk', opts: ['-o', 'subformat=twoGbMaxExtentSparse'], check: true },
];

describe('5 GiB sparse disks', () => {
  for (const c of cases) {
    it(`${c.name}: reads what qemu-img wrote`, async () => {
      const p = tmp.path(`q-${c.name}.img`);
      qemuImg('convert', '-f', 'raw', '-O', c.qemu, ...c.opts, src, p);
      await expectWindows(c.fmt, p);
    });

    if (c.name !== 'vmdk-split') {
      it(`${c.name}: writes what qemu-img reads`, async () => {
        const p = tmp.path(`h-${c.name}.img`);
        await c.fmt.create(p, SIZE, c.sub ? { subformat: c.sub } : {});
        const img = await c.fmt.open(p);
        for (const [i, [off, len]] of WINDOWS.entries()) await img.write(pattern(len, 40 + i), off);
        await img.close();
        expect(qemuImgStatus('compare', '-f', c.qemu, '-F', 'raw', p, src).status).toBe(0);
        if (c.check) expect([0, 3]).toContain(qemuImgStatus('check', '-f', c.qemu, p).status);
        expect((await c.fmt.check!(p)).corruptions).toBe(0);
        if (c.sub === 'streamOptimized') {
          expect(spawnSync('vmdkinfo', [p]).status).toBe(0);
          expect(readFileSync(p).length).toBeLessThan(2 * 2 ** 20);
        }
        await expectWindows(c.fmt, p);
      });
    }
  }
});
