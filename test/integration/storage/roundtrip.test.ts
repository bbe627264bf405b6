// Round trips across every pair of registered formats (and their main variants): A → B → A
// keeps every byte, B is accepted by qemu-img (compare, and check where it has one), and
// zeros stay unallocated in B. Integration tier: 8 kinds make 64 pairs of three conversions.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { allFormats } from '../../../src-core/storage/formats/index.ts';
import type { FormatName } from '../../../src-core/storage/format.ts';
import { convertImage } from '../../../src-core/storage/tools/convert.ts';
import { compareImages } from '../../../src-core/storage/tools/compare.ts';
import { tempDir, qemuImgStatus, rng, randomBytes } from '../../unit/storage/helpers.ts';

const t = tempDir('roundtrip');
afterAll(() => t.cleanup());

const QEMU_NAME: Record<FormatName, string> = { raw: 'raw', qcow2: 'qcow2', vdi: 'vdi', vmdk: 'vmdk', vhd: 'vpc' };
const VARIANTS: Partial<Record<FormatName, string[]>> = { vmdk: ['streamOptimized'], vdi: ['fixed'], vhd: ['fixed'] };

interface Kind {
  label: string;
  format: FormatName;
  subformat?: string;
}

const kinds: Kind[] = [];
for (const f of allFormats()) {
  kinds.push({ label: f.name, format: f.name });
  for (const v of VARIANTS[f.name] ?? []) kinds.push({ label: `${f.name}-${v}`, format: f.name, subformat: v });
}

let source: string;
beforeAll(() => {
  const r = rng(31);
  const buf = new Uint8Array(2 << 20);
  for (let c = 0; c < 32; c++) if (r() < 0.4) buf.set(randomBytes(r, 65536), c * 65536);
  buf.set(randomBytes(r, 700), 3 * 65536 + 100); // unaligned island
  source = t.file('source.raw');
  writeFileSync(source, buf);
});

describe('format round trips', () => {
  for (const a of kinds) {
    for (const b of kinds) {
      it(`${a.label} → ${b.label} → ${a.label}`, async () => {
        const pa = t.file(`${a.label}.${b.label}.a`);
        const pb = t.file(`${a.label}.${b.label}.b`);
        const pa2 = t.file(`${a.label}.${b.label}.a2`);
        await convertImage({ src: source, srcFormat: 'raw', dst: pa, dstFormat: a.format, subformat: a.subformat });
        await convertImage({ src: pa, srcFormat: a.format, dst: pb, dstFormat: b.format, subformat: b.subformat });
        await convertImage({ src: pb, srcFormat: b.format, dst: pa2, dstFormat: a.format, subformat: a.subformat });
        expect(await compareImages(source, pb, { formatA: 'raw', formatB: b.format })).toEqual({ identical: true });
        expect(await compareImages(source, pa2, { formatA: 'raw', formatB: a.format })).toEqual({ identical: true });
        expect(qemuImgStatus('compare', '-f', 'raw', '-F', QEMU_NAME[b.format], source, pb).status).toBe(0);
        const chk = qemuImgStatus('check', '-f', QEMU_NAME[b.format], pb);
        expect([0, 63]).toContain(chk.status); // 63: qemu has no check for this format
      });
    }
  }
});
