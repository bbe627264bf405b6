// VMDK against qemu-img and vmdkinfo: every subformat qemu creates reads back identical; the
// monolithicSparse and streamOptimized images Hangar writes pass `qemu-img check`, compare
// equal, and (stream) are accepted by libvmdk's vmdkinfo; extent paths stay in their folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import { vmdkFormat, VmdkStreamWriter } from '../../../src-core/storage/formats/vmdk.ts';
import {
  mutate, openAndReadAll, pattern, prng, qemuImg, qemuImgStatus, qemuIo, qemuRaw, readWhole, tempDir,
} from './vdi-vhd-vmdk-oracle.ts';

const tmp = tempDir('vmdk');
afterAll(() => tmp.remove());
const MiB = 1 << 20;
const GiB = 1 << 30;

function vmdkinfo(path: string): { status: number; out: string } {
  const r = spawnSync('vmdkinfo', [path], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function compareWithModel(path: string, model: Uint8Array, name: string): number {
  const raw = tmp.path(`${name}.raw`);
  writeFileSync(raw, model);
  return qemuImgStatus('compare', '-f', 'vmdk', '-F', 'raw', path, raw).status;
}

describe('VMDK read (qemu-img oracle)', () => {
  for (const sub of ['monolithicSparse', 'streamOptimized', 'monolithicFlat']) {
    it(`reads a ${sub} image qemu wrote identically to qemu-img convert`, async () => {
      const src = tmp.path(`src-${sub}.raw`);
      writeFileSync(src, Buffer.alloc(5 * MiB));
      qemuIo('raw', src, 'write -P 0x11 0 4096', 'write -P 0xa5 1048000 200000', 'write -P 0x3c 5242368 512');
      const p = tmp.path(`q-${sub}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, src, p);
      const img = await vmdkFormat.open(p, { readOnly: true });
      expect(img.capacity).toBe(5 * MiB);
      const ours = await readWhole(img, 300000);
      expect(ours.equals(qemuRaw(p, 'vmdk', tmp.path('q.raw')))).toBe(true);
      expect(ours.equals(readFileSync(src))).toBe(true);
      expect((await img.info()).subformat).toBe(sub);
      await img.close();
    });
  }

  for (const sub of ['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']) {
    it(`reads ${sub} split extents across the extent boundary`, async () => {
      const d = tempDir('vmdk-split');
      try {
        const p = d.path('split.vmdk');
        qemuImg('create', '-f', 'vmdk', '-o', `subformat=${sub}`, p, '2200M');
        qemuIo('vmdk', p, 'write -P 0x21 0 4096', `write -P 0x42 ${2 * GiB - 3000} 6000`, `write -P 0x63 ${2200 * MiB - 512} 512`);
        const img = await vmdkFormat.open(p, { readOnly: true });
        expect(img.capacity).toBe(2200 * MiB);
        const win = Buffer.alloc(10000);
        await img.read(win, 2 * GiB - 5000);
        const want = Buffer.alloc(10000);
        want.fill(0x42, 2000, 8000);
        expect(win.equals(want)).toBe(true);
        const head = Buffer.alloc(8192);
        await img.read(head, 0);
        expect(head.subarray(0, 4096).every((b) => b === 0x21) && head.subarray(4096).every((b) => b === 0)).toBe(true);
        const tail = Buffer.alloc(512);
        await img.read(tail, 2200 * MiB - 512);
        expect(tail.every((b) => b === 0x63)).toBe(true);
        if (sub.endsWith('Sparse')) {
          const runs = await img.mapRanges!(0, img.capacity);
          const allocated = runs.filter((r) => r.allocated).reduce((s, r) => s + r.length, 0);
          expect(allocated).toBeLessThanOrEqual(4 * 64 * 1024);
        }
        await img.close();
      } finally {
        d.remove();
      }
    });
  }

  it('reads descriptors of FLAT (with offsets), ZERO and several SPARSE extents like qemu does', async () => {
    const d = tempDir('vmdk-mix');
    try {
      writeFileSync(d.path('a.bin'), Buffer.concat([Buffer.alloc(1024, 0xee), Buffer.from(pattern(MiB, 1))]));
      qemuImg('create', '-f', 'vmdk', d.path('b.vmdk'), '2M');
      qemuIo('vmdk', d.path('b.vmdk'), 'write -P 0x5d 70000 100000');
      qemuImg('create', '-f', 'vmdk', d.path('c.vmdk'), '1M');
      qemuIo('vmdk', d.path('c.vmdk'), 'write -P 0x77 4096 4096');
      const head = ['# Disk DescriptorFile', 'version=1', 'CID=12345678', 'parentCID=ffffffff'];
      // (qemu 7.2 misreads descriptors that lack the DDB section, so these carry one.)
      const ddb = ['', '# The Disk Data Base', '#DDB', '', 'ddb.virtualHWVersion = "4"', 'ddb.adapterType = "ide"', ''];
      writeFileSync(d.path('flat.vmdk'), [...head, 'createType="monolithicFlat"', '', '# Extent description',
        `RW ${MiB / 512} FLAT "a.bin" 2`, 'RW 1024 FLAT "a.bin" 0', ...ddb].join('\n'));
      writeFileSync(d.path('split.vmdk'), [...head, 'createType="twoGbMaxExtentSparse"', '', '# Extent description',
        `RW ${(2 * MiB) / 512} SPARSE "b.vmdk"`, 'RW 2048 SPARSE "c.vmdk"', ...ddb].join('\n'));
      for (const [name, size] of [['flat', 1.5 * MiB], ['split', 3 * MiB]] as const) {
        const img = await vmdkFormat.open(d.path(`${name}.vmdk`), { readOnly: true });
        expect(img.capacity).toBe(size);
        const ours = await readWhole(img, 777777);
        expect(ours.equals(qemuRaw(d.path(`${name}.vmdk`), 'vmdk', d.path(`${name}.raw`)))).toBe(true);
        if (name === 'flat') expect(ours.subarray(0, MiB).equals(Buffer.from(pattern(MiB, 1)))).toBe(true);
        else expect(ours[2 * MiB + 4096]).toBe(0x77);
        await img.close();
      }
      // qemu 7.2 skips ZERO extents altogether, so this one is checked against the parts.
      writeFileSync(d.path('zero.vmdk'), [...head, 'createType="monolithicFlat"', '', '# Extent description',
        `RW ${MiB / 512} FLAT "a.bin" 2`, 'RW 2048 ZERO', 'RW 1024 FLAT "a.bin" 0', ...ddb].join('\n'));
      const img = await vmdkFormat.open(d.path('zero.vmdk'), { readOnly: true });
      const a = readFileSync(d.path('a.bin'));
      const want = Buffer.concat([a.subarray(1024, 1024 + MiB), Buffer.alloc(MiB), a.subarray(0, MiB / 2)]);
      expect((await readWhole(img, 333333)).equals(want)).toBe(true);
      expect((await img.mapRanges!(MiB, MiB))[0]).toMatchObject({ allocated: false, zero: true });
      await expect(img.write(new Uint8Array(512), MiB)).rejects.toBeInstanceOf(HangarError);
      await img.close();
    } finally {
      d.remove();
    }
  });
});

describe('VMDK write', () => {
  it('writes monolithicSparse that qemu-img checks clean and compares equal', async () => {
    const p = tmp.path('h-sparse.vmdk');
    const size = 7 * MiB + 512;
    await vmdkFormat.create(p, size);
    const model = Buffer.alloc(size);
    const img = await vmdkFormat.open(p);
    const r = prng(31);
    for (let i = 0; i < 50; i++) {
      const len = 1 + Math.floor(r() * 150000);
      const off = Math.floor(r() * (size - len));
      const data = pattern(len, 500 + i);
      await img.write(data, off);
      model.set(data, off);
      if (i % 9 === 0) await img.flush();
    }
    await img.discard(MiB, 300000);
    model.fill(0, MiB, MiB + 300000);
    expect((await readWhole(img)).equals(model)).toBe(true);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vmdk', p).status).toBe(0);
    expect(await vmdkFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
    expect(compareWithModel(p, model, 'h-sparse')).toBe(0);
    expect(vmdkinfo(p).status).toBe(0);
    const again = await vmdkFormat.open(p, { readOnly: true });
    expect((await readWhole(again)).equals(model)).toBe(true);
    await again.close();
  });

  it('writes streamOptimized in VMware layout (v3, zlib grains, footer, EOS) accepted by qemu-img and vmdkinfo', async () => {
    const p = tmp.path('h-stream.vmdk');
    const size = 36 * MiB; // more than one grain table (32 MiB each)
    const model = Buffer.alloc(size);
    for (const [off, len, seed] of [[0, MiB, 1], [10 * MiB + 4096, 300000, 2], [33 * MiB, MiB, 3]] as const) {
      model.set(pattern(len, seed), off);
    }
    model.fill(0x77, 20 * MiB, 21 * MiB); // compressible
    const w = await VmdkStreamWriter.create(p, size);
    for (let off = 0; off < size; off += MiB) {
      const chunk = model.subarray(off, off + MiB);
      if (chunk.some((b) => b !== 0)) await w.write(chunk, off);
    }
    await expect(w.write(new Uint8Array(512), 0)).rejects.toMatchObject({ code: 'usage' });
    await w.close();

    const b = readFileSync(p);
    expect(b.readUInt32LE(0)).toBe(0x564d444b);
    expect(b.readUInt32LE(4)).toBe(3); // VMware refuses version 1 streams
    expect(b.readUInt32LE(8)).toBe(0x30001);
    expect(b.readBigUInt64LE(56)).toBe(0xffffffffffffffffn); // GD at end
    const footer = b.subarray(b.length - 1024, b.length - 512);
    expect(footer.readUInt32LE(0)).toBe(0x564d444b);
    const gdSector = Number(footer.readBigUInt64LE(56));
    expect(gdSector * 512).toBeLessThan(b.length - 1024);
    expect(b.readUInt32LE(b.length - 1536 + 12)).toBe(3); // footer marker
    expect(b.subarray(b.length - 512).every((x) => x === 0)).toBe(true); // end-of-stream marker
    const firstGrain = Number(b.readBigUInt64LE(64)) * 512; // grains start at overHead
    expect(b[firstGrain + 12]).toBe(0x78);
    expect(b[firstGrain + 13]).toBe(0x9c);
    expect(b.length).toBeLessThan(4 * MiB); // zeros are not stored, the 0x77 run compresses

    expect(qemuImgStatus('check', '-f', 'vmdk', p).status).toBe(0);
    expect(compareWithModel(p, model, 'h-stream')).toBe(0);
    const info = vmdkinfo(p);
    expect(info.status).toBe(0);
    expect(info.out).toMatch(/Stream optimized/);
    const img = await vmdkFormat.open(p, { readOnly: true });
    expect((await readWhole(img)).equals(model)).toBe(true);
    const runs = await img.mapRanges!(0, size);
    expect(runs.find((r) => r.offset <= 15 * MiB && r.offset + r.length > 15 * MiB)?.allocated).toBe(false);
    await img.close();
  });

  it('an empty streamOptimized image from create() is valid', async () => {
    const p = tmp.path('empty-stream.vmdk');
    await vmdkFormat.create(p, 3 * MiB, { subformat: 'streamOptimized' });
    expect(qemuImgStatus('check', '-f', 'vmdk', p).status).toBe(0);
    expect(vmdkinfo(p).status).toBe(0);
    expect(compareWithModel(p, new Uint8Array(3 * MiB), 'empty-stream')).toBe(0);
  });

  it('streamOptimized through BlockDevice: out of order, partial grains and rewrites', async () => {
    const p = tmp.path('bd-stream.vmdk');
    const size = 4 * MiB + 4096; // last grain is partial
    await vmdkFormat.create(p, size, { subformat: 'streamOptimized' });
    const model = Buffer.alloc(size);
    const img = await vmdkFormat.open(p);
    const r = prng(41);
    for (let i = 0; i < 30; i++) {
      const len = 1 + Math.floor(r() * 100000);
      const off = Math.floor(r() * (size - len));
      const data = pattern(len, 700 + i);
      await img.write(data, off);
      model.set(data, off);
      if (i === 10) await img.flush();
    }
    await img.write(new Uint8Array(65536), 0); // a grain that becomes all zeros
    model.fill(0, 0, 65536);
    expect((await readWhole(img)).equals(model)).toBe(true);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vmdk', p).status).toBe(0);
    expect(await vmdkFormat.check!(p)).toMatchObject({ corruptions: 0 });
    expect(compareWithModel(p, model, 'bd-stream')).toBe(0);
    expect(vmdkinfo(p).status).toBe(0);
  });

  it('appends to a streamOptimized image in QEMU layout', async () => {
    const src = tmp.path('qs.raw');
    const model = Buffer.alloc(3 * MiB);
    model.set(pattern(MiB, 9), 0);
    writeFileSync(src, model);
    const p = tmp.path('qs.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src, p);
    const img = await vmdkFormat.open(p);
    await img.write(pattern(100000, 10), 2 * MiB + 5);
    model.set(pattern(100000, 10), 2 * MiB + 5);
    await img.write(pattern(1000, 11), 10);
    model.set(pattern(1000, 11), 10);
    await img.close();
    expect(qemuImgStatus('check', '-f', 'vmdk', p).status).toBe(0);
    expect(compareWithModel(p, model, 'qs')).toBe(0);
    const again = await vmdkFormat.open(p, { readOnly: true });
    expect((await readWhole(again)).equals(model)).toBe(true);
    await again.close();
  });

  it('creates monolithicFlat and writes through it', async () => {
    const d = tempDir('vmdk-flat');
    try {
      const p = d.path('f.vmdk');
      await vmdkFormat.create(p, 2 * MiB, { subformat: 'monolithicFlat' });
      const img = await vmdkFormat.open(p);
      await img.write(pattern(5000, 3), 1000);
      await img.close();
      const q = qemuRaw(p, 'vmdk', d.path('f.raw'));
      expect(q.subarray(1000, 6000).equals(Buffer.from(pattern(5000, 3)))).toBe(true);
      expect(q.length).toBe(2 * MiB);
    } finally {
      d.remove();
    }
  });

  it('refuses bad create requests and writes to read-only images', async () => {
    await expect(vmdkFormat.create(tmp.path('x.vmdk'), 1000)).rejects.toMatchObject({ code: 'usage' });
    await expect(vmdkFormat.create(tmp.path('y.vmdk'), MiB, { subformat: 'vmfs' })).rejects.toMatchObject({ code: 'usage' });
    const p = tmp.path('ro.vmdk');
    await vmdkFormat.create(p, MiB);
    const img = await vmdkFormat.open(p, { readOnly: true });
    await expect(img.write(new Uint8Array(512), 0)).rejects.toBeInstanceOf(HangarError);
    await expect(img.read(new Uint8Array(1024), MiB - 512)).rejects.toBeInstanceOf(HangarError);
    await img.close();
  });
});

describe('VMDK extent paths', () => {
  it('refuses extents outside the descriptor folder unless allowed', async () => {
    const d = tempDir('vmdk-paths');
    try {
      mkdirSync(d.path('vm'));
      writeFileSync(d.path('outside.bin'), Buffer.from(pattern(4096, 4)));
      const desc = (file: string) => ['# Disk DescriptorFile', 'version=1', 'parentCID=ffffffff', 'createType="monolithicFlat"', `RW 8 FLAT "${file}" 0`, ''].join('\n');
      writeFileSync(d.path('vm/etc.vmdk'), desc('/etc/hostname'));
      await expect(vmdkFormat.open(d.path('vm/etc.vmdk'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      writeFileSync(d.path('vm/up.vmdk'), desc('../outside.bin'));
      await expect(vmdkFormat.open(d.path('vm/up.vmdk'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      writeFileSync(d.path('vm/abs.vmdk'), desc(d.path('outside.bin')));
      await expect(vmdkFormat.open(d.path('vm/abs.vmdk'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      execFileSync('ln', ['-s', d.path('outside.bin'), d.path('vm/link.bin')]);
      writeFileSync(d.path('vm/link.vmdk'), desc('link.bin'));
      await expect(vmdkFormat.open(d.path('vm/link.vmdk'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      const ok = await vmdkFormat.open(d.path('vm/up.vmdk'), { readOnly: true, allowUnsafePaths: true });
      const buf = Buffer.alloc(4096);
      await ok.read(buf, 0);
      expect(buf.equals(Buffer.from(pattern(4096, 4)))).toBe(true);
      await ok.close();
      // A missing extent is a clear not-found.
      writeFileSync(d.path('vm/missing.vmdk'), desc('nope.bin'));
      await expect(vmdkFormat.open(d.path('vm/missing.vmdk'), { readOnly: true })).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      d.remove();
    }
  });
});

describe('VMDK malformed input', () => {
  it('gives clean errors for seeded mutations of sparse metadata', async () => {
    const p = tmp.path('fuzz-src.vmdk');
    qemuImg('create', '-f', 'vmdk', p, '4M');
    qemuIo('vmdk', p, 'write -P 0x5a 0 65536', 'write -P 0x6b 3145728 65536');
    const orig = readFileSync(p);
    const gd = Number(orig.readBigUInt64LE(56)) * 512;
    const target = tmp.path('fuzz.vmdk');
    const seen = new Set<string>();
    for (let seed = 1; seed <= 100; seed++) {
      const regions: [number, number][] = [[0, 80], [512, 1024], [gd, gd + 4], [gd + 512, gd + 600]];
      const [from, to] = regions[seed % regions.length]!;
      writeFileSync(target, mutate(orig, seed, from, to, 1 + (seed % 3)));
      seen.add(await openAndReadAll(vmdkFormat, target));
    }
    expect(seen.has('corrupt')).toBe(true);
  });

  it('gives clean errors for mutated and truncated stream-optimized images', async () => {
    const p = tmp.path('fuzz-stream.vmdk');
    const w = await VmdkStreamWriter.create(p, 2 * MiB);
    await w.write(pattern(MiB, 5), 0);
    await w.close();
    const orig = readFileSync(p);
    const target = tmp.path('fuzz-s.vmdk');
    const seen = new Set<string>();
    const firstGrain = Number(orig.readBigUInt64LE(64)) * 512;
    for (let seed = 1; seed <= 80; seed++) {
      const regions: [number, number][] = [[0, 80], [firstGrain, firstGrain + 40], [orig.length - 1024, orig.length - 940], [orig.length - 4096, orig.length - 1536]];
      const [from, to] = regions[seed % regions.length]!;
      writeFileSync(target, mutate(orig, seed, from, to, 1 + (seed % 3)));
      seen.add(await openAndReadAll(vmdkFormat, target));
    }
    expect(seen.has('corrupt')).toBe(true);
    for (const len of [0, 3, 511, 512, 4096, firstGrain + 100, orig.length - 600, orig.length - 1]) {
      writeFileSync(target, orig.subarray(0, len));
      expect(await openAndReadAll(vmdkFormat, target)).not.toBe('ok');
    }
  });

  it('detects a text-mode transfer through the newline check', async () => {
    const p = tmp.path('nl.vmdk');
    qemuImg('create', '-f', 'vmdk', p, '1M');
    const b = readFileSync(p);
    b[75] = 0x0a; // "\r\n" became "\n\n"
    writeFileSync(p, b);
    await expect(vmdkFormat.open(p, { readOnly: true })).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('probes sparse headers and descriptors only', () => {
    expect(vmdkFormat.probe(Buffer.from('KDMV\x01\0\0\0', 'latin1'))).toBe(true);
    expect(vmdkFormat.probe(Buffer.from('# Disk DescriptorFile\nversion=1\n'))).toBe(true);
    expect(vmdkFormat.probe(new Uint8Array(512))).toBe(false);
  });
});

describe('VMDK check', () => {
  it('finds qemu and Hangar images clean and flags damaged grain tables', async () => {
    const p = tmp.path('chk.vmdk');
    qemuImg('create', '-f', 'vmdk', p, '4M');
    qemuIo('vmdk', p, 'write -P 1 0 65536', 'write -P 2 1048576 512');
    expect(await vmdkFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
    const orig = readFileSync(p);
    const gt = orig.readUInt32LE(Number(orig.readBigUInt64LE(56)) * 512) * 512; // first primary GT
    const intoMeta = Buffer.from(orig);
    intoMeta.writeUInt32LE(2, gt + 4); // grain 1 → sector 2 (the descriptor)
    writeFileSync(p, intoMeta);
    expect((await vmdkFormat.check!(p)).corruptions).toBeGreaterThan(0);
    const img = await vmdkFormat.open(p);
    await expect(img.write(new Uint8Array(512).fill(7), 65536)).rejects.toMatchObject({ code: 'corrupt' });
    await img.close();
    const shared = Buffer.from(orig);
    shared.writeUInt32LE(orig.readUInt32LE(gt), gt + 8); // grain 2 shares grain 0's sector
    writeFileSync(p, shared);
    expect((await vmdkFormat.check!(p)).corruptions).toBeGreaterThan(0);

    const s = tmp.path('chk-stream.vmdk');
    const w = await VmdkStreamWriter.create(s, 2 * MiB);
    await w.write(pattern(MiB, 3), 0);
    await w.close();
    expect(await vmdkFormat.check!(s)).toMatchObject({ corruptions: 0 });
    const sb = readFileSync(s);
    const first = Number(sb.readBigUInt64LE(64)) * 512;
    sb.writeUInt32LE(99, first); // marker names the wrong grain
    writeFileSync(s, sb);
    expect((await vmdkFormat.check!(s)).corruptions).toBeGreaterThan(0);
    writeFileSync(s, sb.subarray(0, 300));
    expect((await vmdkFormat.check!(s)).corruptions).toBe(1);
  });
});

describe('VMDK descriptor fuzz', () => {
  it('gives clean errors for seeded mutations of text descriptors', async () => {
    const d = tempDir('vmdk-dfuzz');
    try {
      writeFileSync(d.path('a.bin'), Buffer.from(pattern(MiB, 1)));
      qemuImg('create', '-f', 'vmdk', d.path('b.vmdk'), '1M');
      const text = Buffer.from(['# Disk DescriptorFile', 'version=1', 'CID=12345678', 'parentCID=ffffffff', 'createType="monolithicFlat"', '',
        '# Extent description', 'RW 2048 FLAT "a.bin" 0', 'RW 2048 SPARSE "b.vmdk"', 'RW 100 ZERO', '', '#DDB', 'ddb.adapterType = "ide"', ''].join('\n'));
      const seen = new Set<string>();
      for (let seed = 1; seed <= 80; seed++) {
        writeFileSync(d.path('m.vmdk'), mutate(text, seed, 0, text.length, 1 + (seed % 4)));
        seen.add(await openAndReadAll(vmdkFormat, d.path('m.vmdk')));
      }
      expect(seen.has('corrupt')).toBe(true);
    } finally {
      d.remove();
    }
  });
});
