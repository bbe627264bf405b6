// Copy-on-write qcow2 overlays over every registered base format: writes land in the overlay,
// the base stays untouched, and qemu-img reads the same chain identically.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { allFormats } from '../../../src-core/storage/formats/index.ts';
import type { FormatName } from '../../../src-core/storage/format.ts';
import { convertImage } from '../../../src-core/storage/tools/convert.ts';
import { createImage } from '../../../src-core/storage/tools/create.ts';
import { imageInfo } from '../../../src-core/storage/tools/info.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { tempDir, qemuImgStatus, rng, randomBytes, equalBytes } from '../../unit/storage/helpers.ts';

const t = tempDir('overlay-any');
afterAll(() => t.cleanup());

describe('qcow2 overlay over any base format', () => {
  for (const f of allFormats()) {
    it(`over ${f.name}`, async () => {
      const r = rng(f.name.length * 97);
      const model = new Uint8Array(2 << 20);
      for (let c = 0; c < 32; c++) if (r() < 0.5) model.set(randomBytes(r, 65536), c * 65536);
      const src = t.file(`${f.name}-src.raw`);
      writeFileSync(src, model);
      const base = t.file(`${f.name}-base.img`);
      await convertImage({ src, srcFormat: 'raw', dst: base, dstFormat: f.name as FormatName });
      const baseBytes = new Uint8Array(readFileSync(base));
      const top = t.file(`${f.name}-top.qcow2`);
      await createImage({ format: 'qcow2', path: top, backing: base, backingFormat: f.name });
      const img = await openImage(top, 'qcow2');
      for (let i = 0; i < 60; i++) {
        const len = (1 + Math.floor(r() * 40)) * 512;
        const off = Math.floor((r() * (model.length - len)) / 512) * 512;
        const d = randomBytes(r, len);
        await img.write(d, off);
        model.set(d, off);
      }
      await img.close();
      expect(equalBytes(new Uint8Array(readFileSync(base)), baseBytes)).toBe(true);
      const back = await openImage(top, 'qcow2', { readOnly: true });
      const all = new Uint8Array(back.capacity);
      await back.read(all, 0);
      await back.close();
      expect(equalBytes(all, model)).toBe(true);
      const info = await imageInfo(top);
      expect(info.backingChain.map((c) => c.format)).toEqual([f.name]);
      writeFileSync(`${top}.model`, model);
      expect(qemuImgStatus('compare', '-f', 'raw', `${top}.model`, top).status).toBe(0);
      expect(qemuImgStatus('check', top).status).toBe(0);

      // And the other way: an overlay qemu-img makes over this base (QEMU's driver name) reads through Hangar.
      const qtop = t.file(`${f.name}-qemu-top.qcow2`);
      const qname = f.name === 'vhd' ? 'vpc' : f.name;
      expect(qemuImgStatus('create', '-f', 'qcow2', '-b', `${f.name}-base.img`, '-F', qname, qtop).status).toBe(0);
      const q = await openImage(qtop, 'qcow2', { readOnly: true });
      const qall = new Uint8Array(q.capacity);
      await q.read(qall, 0);
      await q.close();
      expect(equalBytes(qall, new Uint8Array(readFileSync(src)))).toBe(true);
    });
  }
});
