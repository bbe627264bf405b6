// VDI against qemu-img: images qemu writes read back identical; images Hangar writes pass
// `qemu-img check` and compare equal; differencing chains; malformed files give HangarErrors.
import { readFileSync, writeFileSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import { vdiFormat } from '../../../src-core/storage/formats/vdi.ts';
import {
  mutate, openAndReadAll, pattern, prng, qemuImg, qemuImgStatus, qemuIo, qemuRaw, readWhole, tempDir,
} from './vdi-vhd-vmdk-oracle.ts';

const tmp = tempDir('vdi');
afterAll(() => tmp.remove());
const MiB = 1 << 20;

describe('VDI read (qemu-img oracle)', () => {
  for (const variant of ['dynamic', 'static']) {
    it(`reads a ${variant} image qemu wrote identically to qemu-img convert`, async () => {
      const p = tmp.path(`q-${variant}.vdi`);
      qemuImg('create', '-f', 'vdi', ...(variant === 'static' ? ['-o', 'static=on'] : []), p, '5M');
      qemuIo('vdi', p, 'write -P 0x11 0 4096', 'write -P 0xa5 1048000 9000', 'write -P 0x3c 4193792 512', 'write -P 0x77 5241856 512');
      const img = await vdiFormat.open(p, { readOnly: true });
      expect(img.capacity).toBe(5 * MiB);
      const ours = await readWhole(img);
      const theirs = qemuRaw(p, 'vdi', tmp.path('q.raw'));
      expect(ours.equals(theirs)).toBe(true);
      expect(ours[1048000]).toBe(0xa5);
      const info = await img.info();
      expect(info.subformat).toBe(variant === 'static' ? 'fixed' : 'dynamic');
      const runs = await img.mapRanges!(0, img.capacity);
      expect(runs.some((r) => r.allocated)).toBe(true);
      await img.close();
    });
  }

  it('probes VDI headers and nothing else', () => {
    const p = tmp.path('probe.vdi');
    qemuImg('create', '-f', 'vdi', p, '1M');
    expect(vdiFormat.probe(readFileSync(p).subarray(0, 512))).toBe(true);
    expect(vdiFormat.probe(new Uint8Array(512))).toBe(false);
  });
});

describe('VDI write', () => {
  for (const subformat of ['dynamic', 'fixed']) {
    it(`writes a ${subformat} image that qemu-img checks clean and compares equal`, async () => {
      const p = tmp.path(`h-${subformat}.vdi`);
      const size = 6 * MiB;
      await vdiFormat.create(p, size, { subformat });
      const model = Buffer.alloc(size);
      const img = await vdiFormat.open(p);
      const r = prng(subformat === 'fixed' ? 7 : 8);
      for (let i = 0; i < 40; i++) {
        const len = 1 + Math.floor(r() * 70000);
        const off = Math.floor(r() * (size - len));
        const data = pattern(len, i + 100);
        await img.write(data, off);
        model.set(data, off);
        if (i % 13 === 0) await img.flush();
      }
      // A write that spans a whole block and one of zeros into an empty block.
      await img.write(pattern(MiB, 5), 4 * MiB);
      model.set(pattern(MiB, 5), 4 * MiB);
      await img.write(new Uint8Array(4096), 5 * MiB + 8192);
      model.fill(0, 5 * MiB + 8192, 5 * MiB + 8192 + 4096);
      expect((await readWhole(img)).equals(model)).toBe(true);
      await img.close();

      expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
      expect(await vdiFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
      const raw = tmp.path(`h-${subformat}.raw`);
      writeFileSync(raw, model);
      expect(qemuImgStatus('compare', '-f', 'vdi', '-F', 'raw', p, raw).status).toBe(0);
      const again = await vdiFormat.open(p, { readOnly: true });
      expect((await readWhole(again)).equals(model)).toBe(true);
      expect((await again.info()).subformat).toBe(subformat);
      await again.close();
    });
  }

  it('writes into an image qemu created and qemu reads it back', async () => {
    const p = tmp.path('qw.vdi');
    qemuImg('create', '-f', 'vdi', p, '3M');
    qemuIo('vdi', p, 'write -P 0x42 0 1048576');
    const img = await vdiFormat.open(p);
    await img.write(pattern(5000, 1), 2 * MiB + 100);
    await img.write(pattern(700, 2), 300);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
    const q = qemuRaw(p, 'vdi', tmp.path('qw.raw'));
    expect(Buffer.from(q.subarray(2 * MiB + 100, 2 * MiB + 5100)).equals(Buffer.from(pattern(5000, 1)))).toBe(true);
    expect(q[0]).toBe(0x42);
    expect(Buffer.from(q.subarray(300, 1000)).equals(Buffer.from(pattern(700, 2)))).toBe(true);
  });

  it('discard makes ranges read as zeros', async () => {
    const p = tmp.path('disc.vdi');
    await vdiFormat.create(p, 2 * MiB);
    const img = await vdiFormat.open(p);
    await img.write(pattern(2 * MiB, 3), 0);
    await img.discard(4096, MiB);
    const all = await readWhole(img);
    expect(all.subarray(4096, 4096 + MiB).every((b) => b === 0)).toBe(true);
    expect(all[4095]).toBe(pattern(2 * MiB, 3)[4095]);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
  });

  it('refuses writes when read-only and accesses past the end', async () => {
    const p = tmp.path('ro.vdi');
    await vdiFormat.create(p, MiB);
    const img = await vdiFormat.open(p, { readOnly: true });
    await expect(img.write(new Uint8Array(512), 0)).rejects.toBeInstanceOf(HangarError);
    await expect(img.read(new Uint8Array(1024), MiB - 512)).rejects.toBeInstanceOf(HangarError);
    await img.close();
    await expect(vdiFormat.create(p, MiB)).rejects.toMatchObject({ code: 'exists' });
  });
});

describe('VDI differencing chains', () => {
  it('reads base → child → grandchild and writes copy-on-write', async () => {
    const d = tempDir('vdi-chain');
    try {
      const size = 4 * MiB;
      const base = d.path('base.vdi');
      await vdiFormat.create(base, size);
      const model = Buffer.alloc(size);
      let img = await vdiFormat.open(base);
      await img.write(pattern(3 * MiB, 9), 0);
      model.set(pattern(3 * MiB, 9), 0);
      await img.close();

      const child = d.path('child.vdi');
      await vdiFormat.create(child, 0, { backing: { path: base, format: 'vdi' } });
      img = await vdiFormat.open(child);
      expect(img.capacity).toBe(size);
      await img.write(pattern(1000, 10), MiB + 10); // partial block: rest comes from the base
      model.set(pattern(1000, 10), MiB + 10);
      await img.write(pattern(600, 11), 3 * MiB + 4); // block the base never wrote
      model.set(pattern(600, 11), 3 * MiB + 4);
      await img.discard(2 * MiB, MiB); // whole block hides the parent
      model.fill(0, 2 * MiB, 3 * MiB);
      expect((await readWhole(img)).equals(model)).toBe(true);
      const info = await img.info();
      expect(info.backing?.path).toBe(base);
      await img.close();

      const grand = d.path('grand.vdi');
      await vdiFormat.create(grand, 0, { backing: { path: child, format: 'vdi' } });
      img = await vdiFormat.open(grand);
      await img.write(pattern(512, 12), 512);
      model.set(pattern(512, 12), 512);
      expect((await readWhole(img)).equals(model)).toBe(true);
      const runs = await img.mapRanges!(0, size);
      expect(runs.find((r) => r.offset <= 2 * MiB + 5 && r.offset + r.length > 2 * MiB + 5)?.allocated).toBe(false);
      await img.close();

      // The base is untouched by writes to its children.
      img = await vdiFormat.open(base, { readOnly: true });
      expect((await readWhole(img)).subarray(MiB + 10, MiB + 1010).equals(Buffer.from(pattern(3 * MiB, 9)).subarray(MiB + 10, MiB + 1010))).toBe(true);
      await img.close();
    } finally {
      d.remove();
    }
  });

  it('finds the parent only inside the folder unless allowed, or by explicit path', async () => {
    const d = tempDir('vdi-parent');
    try {
      mkdirSync(d.path('a'));
      mkdirSync(d.path('b'));
      const base = d.path('a/base.vdi');
      await vdiFormat.create(base, MiB);
      const child = d.path('a/child.vdi');
      await vdiFormat.create(child, 0, { backing: { path: base, format: 'vdi' } });
      // Move the child away from its parent: not found by scanning.
      copyFileSync(child, d.path('b/child.vdi'));
      await expect(vdiFormat.open(d.path('b/child.vdi'))).rejects.toMatchObject({ code: 'not-found' });
      // An explicit parent outside the folder needs allowUnsafePaths.
      await expect(vdiFormat.open(d.path('b/child.vdi'), { parent: base })).rejects.toMatchObject({ code: 'unsupported' });
      const ok = await vdiFormat.open(d.path('b/child.vdi'), { parent: base, allowUnsafePaths: true });
      expect(ok.capacity).toBe(MiB);
      await ok.close();
      // A symlink next to the child that leads outside is refused too.
      symlinkSync(base, d.path('b/base.vdi'));
      await expect(vdiFormat.open(d.path('b/child.vdi'))).rejects.toMatchObject({ code: 'unsupported' });
      // Explicit parent with the wrong UUID.
      const other = d.path('b/other.vdi');
      await vdiFormat.create(other, MiB);
      await expect(vdiFormat.open(d.path('b/child.vdi'), { parent: 'other.vdi' })).rejects.toMatchObject({ code: 'corrupt' });
    } finally {
      d.remove();
    }
  });

  it('stops on a cyclic parent chain', async () => {
    const d = tempDir('vdi-cycle');
    try {
      const a = d.path('a.vdi');
      const b = d.path('b.vdi');
      await vdiFormat.create(a, MiB);
      await vdiFormat.create(b, 0, { backing: { path: a, format: 'vdi' } });
      // Make a a child of b: a's type becomes differencing and its link b's UUID.
      const ab = readFileSync(a);
      const bb = readFileSync(b);
      ab.writeUInt32LE(4, 0x4c);
      bb.copy(ab, 0x1a8, 0x188, 0x198);
      writeFileSync(a, ab);
      await expect(vdiFormat.open(b)).rejects.toMatchObject({ code: 'corrupt' });
    } finally {
      d.remove();
    }
  });
});

describe('VDI malformed input', () => {
  it('gives clean errors for seeded header and block-map mutations', async () => {
    const p = tmp.path('fuzz-src.vdi');
    qemuImg('create', '-f', 'vdi', p, '4M');
    qemuIo('vdi', p, 'write -P 0x5a 0 65536', 'write -P 0x6b 3145728 65536');
    const orig = readFileSync(p);
    const target = tmp.path('fuzz.vdi');
    const seen = new Set<string>();
    for (let seed = 1; seed <= 100; seed++) {
      const region = seed % 3 === 0 ? [0x200, 0x210] : [0x40, 0x1c8];
      writeFileSync(target, mutate(orig, seed, region[0]!, region[1]!, 1 + (seed % 4)));
      seen.add(await openAndReadAll(vdiFormat, target));
    }
    expect(seen.has('corrupt')).toBe(true);
  });

  it('gives clean errors for truncated files', async () => {
    const p = tmp.path('trunc-src.vdi');
    qemuImg('create', '-f', 'vdi', p, '4M');
    qemuIo('vdi', p, 'write -P 0x5a 0 65536', 'write -P 0x6b 3145728 65536');
    const orig = readFileSync(p);
    const target = tmp.path('trunc.vdi');
    for (const len of [0, 10, 0x50, 0x1ff, 0x201, 0x400, 0x400 + 65536, orig.length - 1]) {
      writeFileSync(target, orig.subarray(0, len));
      expect(await openAndReadAll(vdiFormat, target)).toBe('corrupt');
    }
  });

  it('rejects two blocks sharing one slot', async () => {
    const p = tmp.path('dup.vdi');
    qemuImg('create', '-f', 'vdi', p, '3M');
    qemuIo('vdi', p, 'write -P 1 0 512');
    const b = readFileSync(p);
    b.writeUInt32LE(0, 0x204); // block 1 → slot 0, already used by block 0
    writeFileSync(p, b);
    await expect(vdiFormat.open(p)).rejects.toMatchObject({ code: 'corrupt' });
  });
});

describe('VDI check', () => {
  it('finds images clean, flags shared slots, and repairs a count a crash left low', async () => {
    const p = tmp.path('chk.vdi');
    qemuImg('create', '-f', 'vdi', p, '4M');
    qemuIo('vdi', p, 'write -P 1 0 512', 'write -P 2 2097152 512', 'write -P 3 3145728 512');
    expect(await vdiFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
    const orig = readFileSync(p);
    // The header's allocation count one short, as after a crash between map and header writes.
    const low = Buffer.from(orig);
    low.writeUInt32LE(2, 0x184);
    writeFileSync(p, low);
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(2);
    expect((await vdiFormat.check!(p)).corruptions).toBe(1);
    const img = await vdiFormat.open(p); // still usable: new blocks must not reuse slot 2
    await img.write(pattern(512, 4), MiB);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
    const q = qemuRaw(p, 'vdi', tmp.path('chk.raw'));
    expect(q[3 * MiB]).toBe(3);
    expect(q.subarray(MiB, MiB + 512).equals(Buffer.from(pattern(512, 4)))).toBe(true);
    writeFileSync(p, low);
    const fixed = await vdiFormat.check!(p, { repair: true });
    expect(fixed.repaired).toBe(1);
    expect(await vdiFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
    const dup = Buffer.from(orig);
    dup.writeUInt32LE(0, 0x204);
    writeFileSync(p, dup);
    expect((await vdiFormat.check!(p)).corruptions).toBeGreaterThan(0);
    writeFileSync(p, orig.subarray(0, 0x120));
    expect((await vdiFormat.check!(p)).corruptions).toBe(1);
  });
});

describe('VDI resize', () => {
  it('grows dynamic and fixed images that qemu-img then checks clean', async () => {
    const p = tmp.path('rs.vdi');
    qemuImg('create', '-f', 'vdi', p, '5M');
    qemuIo('vdi', p, 'write -P 0x41 0 4096', 'write -P 0x42 4194304 4096');
    const model = qemuRaw(p, 'vdi', tmp.path('rs0.raw'));
    await vdiFormat.resize!(p, 20 * MiB);
    const img = await vdiFormat.open(p);
    expect(img.capacity).toBe(20 * MiB);
    await img.write(pattern(5000, 6), 19 * MiB);
    await img.close();
    const want = Buffer.concat([model, Buffer.alloc(15 * MiB)]);
    want.set(pattern(5000, 6), 19 * MiB);
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
    writeFileSync(tmp.path('rs.raw'), want);
    expect(qemuImgStatus('compare', '-f', 'vdi', '-F', 'raw', p, tmp.path('rs.raw')).status).toBe(0);
    // Past the room the block map has before the data: refused while data exists.
    await expect(vdiFormat.resize!(p, 300 * MiB)).rejects.toMatchObject({ code: 'unsupported' });
    // Shrinking away a block that holds data is refused; an empty tail can go.
    await expect(vdiFormat.resize!(p, 10 * MiB, { shrink: true })).rejects.toMatchObject({ code: 'unsupported' });
    await vdiFormat.resize!(p, 19 * MiB + 8192, { shrink: true });
    expect(qemuImgStatus('check', '-f', 'vdi', p).status).toBe(0);
    const cut = qemuRaw(p, 'vdi', tmp.path('rs-cut.raw'));
    expect(cut.equals(want.subarray(0, 19 * MiB + 8192))).toBe(true);
    const f = tmp.path('rs-fixed.vdi');
    await vdiFormat.create(f, 2 * MiB, { subformat: 'fixed' });
    await vdiFormat.resize!(f, 4 * MiB);
    expect(qemuImgStatus('check', '-f', 'vdi', f).status).toBe(0);
    const fi = await vdiFormat.open(f);
    await fi.write(pattern(4096, 7), 3 * MiB);
    await fi.close();
    expect(qemuRaw(f, 'vdi', tmp.path('rsf.raw')).subarray(3 * MiB, 3 * MiB + 4096).equals(Buffer.from(pattern(4096, 7)))).toBe(true);
    // An empty image may grow past the map's room: its data area just moves.
    const e = tmp.path('rs-empty.vdi');
    await vdiFormat.create(e, MiB);
    await vdiFormat.resize!(e, 600 * MiB);
    expect(qemuImgStatus('check', '-f', 'vdi', e).status).toBe(0);
    const ei = await vdiFormat.open(e);
    await ei.write(pattern(512, 8), 599 * MiB);
    await ei.close();
    expect(qemuImgStatus('check', '-f', 'vdi', e).status).toBe(0);
  });
});
