// VHD against qemu-img (the "vpc" driver): images qemu writes read back identical; images
// Hangar writes compare equal and keep their exact size; differencing disks (built here byte by
// byte from the specification) read through their parent; damaged files give HangarErrors.
import { readFileSync, writeFileSync, mkdirSync, truncateSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import { vhdFormat } from '../../../src-core/storage/formats/vhd.ts';
import {
  mutate, openAndReadAll, pattern, prng, qemuImg, qemuImgStatus, qemuIo, qemuRaw, readWhole, tempDir,
} from './vdi-vhd-vmdk-oracle.ts';

const tmp = tempDir('vhd');
afterAll(() => tmp.remove());
const MiB = 1 << 20;

function qemuVirtualSize(path: string): number {
  return JSON.parse(qemuImg('info', '-f', 'vpc', '--output=json', path))['virtual-size'];
}

function checksum(b: Buffer, skip: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) if (i < skip || i >= skip + 4) s = (s + b[i]!) >>> 0;
  return ~s >>> 0;
}

interface DiffSpec {
  parentFooter: Buffer; // the parent's 512-byte footer
  size: number;
  blockSize: number;
  /** block index → sectors present in the child, and the child's data for the whole block */
  blocks: Map<number, { sectors: number[]; data: Uint8Array }>;
  locators: { code: string; bytes: Buffer }[];
  parentName: string;
  uniqueId?: Buffer;
}

/** A differencing VHD written from the specification, independent of the code under test. */
function buildDiffVhd(spec: DiffSpec): Buffer {
  const entries = Math.ceil(spec.size / spec.blockSize);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const bitmapBytes = Math.ceil(spec.blockSize / 512 / 8 / 512) * 512;
  const locStart = 1536 + batBytes;
  let blockStart = locStart + spec.locators.length * 512;
  const footer = Buffer.alloc(512);
  footer.write('conectix', 0, 'latin1');
  footer.writeUInt32BE(2, 8);
  footer.writeUInt32BE(0x10000, 12);
  footer.writeBigUInt64BE(512n, 16);
  footer.write('tst ', 28, 'latin1');
  footer.writeBigUInt64BE(BigInt(spec.size), 40);
  footer.writeBigUInt64BE(BigInt(spec.size), 48);
  footer.writeUInt32BE(4, 60);
  (spec.uniqueId ?? Buffer.from(pattern(16, 99))).copy(footer, 68);
  footer.writeUInt32BE(checksum(footer, 64, 512), 64);
  const dyn = Buffer.alloc(1024);
  dyn.write('cxsparse', 0, 'latin1');
  dyn.writeBigUInt64BE(0xffffffffffffffffn, 8);
  dyn.writeBigUInt64BE(1536n, 16);
  dyn.writeUInt32BE(0x10000, 24);
  dyn.writeUInt32BE(entries, 28);
  dyn.writeUInt32BE(spec.blockSize, 32);
  spec.parentFooter.copy(dyn, 40, 68, 84);
  Buffer.from(spec.parentName, 'utf16le').swap16().copy(dyn, 64);
  spec.locators.forEach((l, i) => {
    const at = 576 + i * 24;
    dyn.write(l.code, at, 'latin1');
    dyn.writeUInt32BE(1, at + 4);
    dyn.writeUInt32BE(l.bytes.length, at + 8);
    dyn.writeBigUInt64BE(BigInt(locStart + i * 512), at + 16);
  });
  dyn.writeUInt32BE(checksum(dyn, 36, 1024), 36);
  const bat = Buffer.alloc(batBytes, 0xff);
  const parts: Buffer[] = [];
  for (const [index, blk] of [...spec.blocks].sort((a, b) => a[0] - b[0])) {
    bat.writeUInt32BE(blockStart / 512, index * 4);
    const bm = Buffer.alloc(bitmapBytes);
    for (const s of blk.sectors) bm[s >> 3]! |= 0x80 >> (s & 7);
    parts.push(bm, Buffer.from(blk.data));
    blockStart += bitmapBytes + spec.blockSize;
  }
  const locs = spec.locators.map((l) => {
    const b = Buffer.alloc(512);
    l.bytes.copy(b);
    return b;
  });
  return Buffer.concat([footer, dyn, bat, ...locs, ...parts, footer]);
}

describe('VHD read (qemu-img oracle)', () => {
  const cases: [string, string[]][] = [
    ['dynamic', ['-o', 'subformat=dynamic']],
    ['dynamic-force', ['-o', 'subformat=dynamic,force_size=on']],
    ['fixed', ['-o', 'subformat=fixed']],
    ['fixed-force', ['-o', 'subformat=fixed,force_size=on']],
  ];
  for (const [name, opts] of cases) {
    it(`reads a ${name} image qemu wrote identically to qemu-img convert`, async () => {
      const p = tmp.path(`q-${name}.vhd`);
      qemuImg('create', '-f', 'vpc', ...opts, p, '5M');
      qemuIo('vpc', p, 'write -P 0x11 0 4096', 'write -P 0xa5 2096000 9000', 'write -P 0x3c 4193792 512');
      const img = await vhdFormat.open(p, { readOnly: true });
      expect(img.capacity).toBe(qemuVirtualSize(p));
      const ours = await readWhole(img);
      expect(ours.equals(qemuRaw(p, 'vpc', tmp.path('q.raw')))).toBe(true);
      expect(ours[2096000]).toBe(0xa5);
      await img.close();
    });
  }
});

describe('VHD write', () => {
  for (const subformat of ['dynamic', 'fixed']) {
    it(`writes a ${subformat} image of exact (non-CHS) size that qemu-img compares equal`, async () => {
      const p = tmp.path(`h-${subformat}.vhd`);
      const size = 5 * MiB + 3 * 512; // no CHS geometry gives this size exactly
      await vhdFormat.create(p, size, { subformat });
      expect(qemuVirtualSize(p)).toBe(size);
      const model = Buffer.alloc(size);
      const img = await vhdFormat.open(p);
      const r = prng(subformat === 'fixed' ? 21 : 22);
      for (let i = 0; i < 40; i++) {
        const len = 1 + Math.floor(r() * 90000);
        const off = Math.floor(r() * (size - len));
        const data = pattern(len, 300 + i);
        await img.write(data, off);
        model.set(data, off);
        if (i % 11 === 0) await img.flush();
      }
      await img.write(pattern(2 * MiB, 4), 2 * MiB); // one whole block
      model.set(pattern(2 * MiB, 4), 2 * MiB);
      expect((await readWhole(img)).equals(model)).toBe(true);
      await img.close();
      const raw = tmp.path(`h-${subformat}.raw`);
      writeFileSync(raw, model);
      expect(qemuImgStatus('compare', '-f', 'vpc', '-F', 'raw', p, raw).status).toBe(0);
      expect(await vhdFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
      const again = await vhdFormat.open(p, { readOnly: true });
      expect((await readWhole(again)).equals(model)).toBe(true);
      expect((await again.info()).subformat).toBe(subformat);
      await again.close();
    });
  }

  it('writes into an image qemu created and qemu reads it back', async () => {
    const p = tmp.path('qw.vhd');
    qemuImg('create', '-f', 'vpc', '-o', 'subformat=dynamic', p, '6M');
    qemuIo('vpc', p, 'write -P 0x42 0 65536');
    const img = await vhdFormat.open(p);
    const size = img.capacity;
    await img.write(pattern(5000, 1), 4 * MiB + 100);
    await img.write(pattern(700, 2), 300);
    await img.close();
    const q = qemuRaw(p, 'vpc', tmp.path('qw.raw'));
    expect(q.length).toBe(size);
    expect(q.subarray(4 * MiB + 100, 4 * MiB + 5100).equals(Buffer.from(pattern(5000, 1)))).toBe(true);
    expect(q[0]).toBe(0x42);
    expect(q.subarray(300, 1000).equals(Buffer.from(pattern(700, 2)))).toBe(true);
  });

  it('discard reads back zeros; a lost end footer is recovered from the copy at offset 0', async () => {
    const p = tmp.path('disc.vhd');
    await vhdFormat.create(p, 6 * MiB);
    let img = await vhdFormat.open(p);
    await img.write(pattern(6 * MiB, 3), 0);
    await img.discard(2 * MiB, 2 * MiB); // whole block leaves the BAT
    await img.discard(100, 1000); // partial: zeroed in place
    const model = Buffer.from(pattern(6 * MiB, 3));
    model.fill(0, 2 * MiB, 4 * MiB);
    model.fill(0, 100, 1100);
    expect((await readWhole(img)).equals(model)).toBe(true);
    await img.close();
    const raw = tmp.path('disc.raw');
    writeFileSync(raw, model);
    expect(qemuImgStatus('compare', '-f', 'vpc', '-F', 'raw', p, raw).status).toBe(0);
    // Lose the trailing footer, as a crash mid-allocation could.
    const len = readFileSync(p).length;
    truncateSync(p, len - 512);
    img = await vhdFormat.open(p);
    expect((await readWhole(img)).equals(model)).toBe(true);
    await img.write(pattern(4096, 8), 5 * MiB);
    model.set(pattern(4096, 8), 5 * MiB);
    await img.close();
    expect(qemuImgStatus('compare', '-f', 'vpc', '-F', 'raw', p, writeRaw(raw, model)).status).toBe(0);
  });

  it('refuses bad sizes, read-only writes and reads past the end', async () => {
    await expect(vhdFormat.create(tmp.path('bad.vhd'), 1000)).rejects.toMatchObject({ code: 'usage' });
    await expect(vhdFormat.create(tmp.path('big.vhd'), 3 * 2 ** 40)).rejects.toMatchObject({ code: 'usage' });
    const p = tmp.path('ro.vhd');
    await vhdFormat.create(p, MiB);
    const img = await vhdFormat.open(p, { readOnly: true });
    await expect(img.write(new Uint8Array(512), 0)).rejects.toBeInstanceOf(HangarError);
    await expect(img.read(new Uint8Array(1024), MiB - 512)).rejects.toBeInstanceOf(HangarError);
    await img.close();
  });
});

function writeRaw(path: string, b: Uint8Array): string {
  writeFileSync(path, b);
  return path;
}

describe('VHD differencing (read)', () => {
  async function makeParent(dir: string, size: number): Promise<{ footer: Buffer; content: Buffer; path: string }> {
    const path = `${dir}/parent.vhd`;
    await vhdFormat.create(path, size);
    const img = await vhdFormat.open(path);
    const content = Buffer.from(pattern(size, 77));
    content.fill(0, 3 * MiB, 4 * MiB); // leave a hole in the parent
    await img.write(content.subarray(0, 3 * MiB), 0);
    await img.write(content.subarray(4 * MiB), 4 * MiB);
    expect(size).toBe(6 * MiB);
    await img.close();
    const b = readFileSync(path);
    return { footer: b.subarray(b.length - 512), content, path };
  }

  it('reads sectors from the child where its bitmap says so and from the parent elsewhere', async () => {
    const d = tempDir('vhd-diff');
    try {
      const size = 6 * MiB;
      const parent = await makeParent(d.dir, size);
      const data = Buffer.from(pattern(2 * MiB, 5));
      const model = Buffer.from(parent.content);
      const sectors = [0, 1, 2, 7, 100, 4095];
      for (const s of sectors) data.copy(model, 2 * MiB + s * 512, s * 512, s * 512 + 512);
      const child = buildDiffVhd({
        parentFooter: parent.footer, size, blockSize: 2 * MiB,
        blocks: new Map([[1, { sectors, data }]]),
        locators: [{ code: 'W2ru', bytes: Buffer.from('.\\parent.vhd', 'utf16le') }],
        parentName: 'parent.vhd',
      });
      writeFileSync(d.path('child.vhd'), child);
      const img = await vhdFormat.open(d.path('child.vhd'), { readOnly: true });
      expect((await readWhole(img)).equals(model)).toBe(true);
      // Small unaligned reads across present/absent sector boundaries.
      const small = Buffer.alloc(1500);
      await img.read(small, 2 * MiB + 700);
      expect(small.equals(model.subarray(2 * MiB + 700, 2 * MiB + 2200))).toBe(true);
      const info = await img.info();
      expect(info.subformat).toBe('differencing');
      expect(info.backing?.path).toBe(parent.path);
      await img.close();
      await expect(vhdFormat.open(d.path('child.vhd'))).rejects.toMatchObject({ code: 'unsupported' });
    } finally {
      d.remove();
    }
  });

  it('keeps parents inside the folder, checks the parent id and stops loops', async () => {
    const d = tempDir('vhd-loc');
    try {
      mkdirSync(d.path('other'));
      mkdirSync(d.path('kids'));
      const kid = (n: string) => d.path(`kids/${n}`);
      const parent = await makeParent(d.path('other'), 6 * MiB);
      const mk = (locText: string, code = 'MacX', parentFooter = parent.footer, uniqueId?: Buffer) => buildDiffVhd({
        parentFooter, size: 6 * MiB, blockSize: 2 * MiB, blocks: new Map(), uniqueId,
        locators: [{ code, bytes: code === 'MacX' ? Buffer.from(locText, 'utf8') : Buffer.from(locText, 'utf16le') }],
        parentName: 'parent.vhd',
      });
      // An absolute locator outside the child's folder.
      writeFileSync(kid('abs.vhd'), mk(`file://${parent.path}`));
      await expect(vhdFormat.open(kid('abs.vhd'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      const ok = await vhdFormat.open(kid('abs.vhd'), { readOnly: true, allowUnsafePaths: true });
      expect((await readWhole(ok)).equals(parent.content)).toBe(true);
      await ok.close();
      // A relative locator climbing out with "..".
      writeFileSync(kid('dotdot.vhd'), mk('..\\other\\parent.vhd', 'W2ru'));
      await expect(vhdFormat.open(kid('dotdot.vhd'), { readOnly: true })).rejects.toMatchObject({ code: 'unsupported' });
      // An absolute locator that lands inside the folder is fine.
      writeFileSync(d.path('in.vhd'), mk(`file://${parent.path}`));
      const inside = await vhdFormat.open(d.path('in.vhd'), { readOnly: true });
      expect((await readWhole(inside)).equals(parent.content)).toBe(true);
      await inside.close();
      // A parent with another unique id.
      await vhdFormat.create(kid('wrong.vhd'), 6 * MiB);
      writeFileSync(kid('w.vhd'), mk('.\\wrong.vhd', 'W2ru'));
      await expect(vhdFormat.open(kid('w.vhd'), { readOnly: true })).rejects.toMatchObject({ code: 'corrupt' });
      // A child that names itself as its parent.
      const selfId = Buffer.from(pattern(16, 5));
      const selfFooter = Buffer.alloc(512);
      selfId.copy(selfFooter, 68);
      writeFileSync(kid('self.vhd'), mk('.\\self.vhd', 'W2ru', selfFooter, selfId));
      await expect(vhdFormat.open(kid('self.vhd'), { readOnly: true })).rejects.toMatchObject({ code: 'corrupt' });
      // No parent anywhere.
      writeFileSync(kid('orphan.vhd'), mk('.\\gone.vhd', 'W2ru'));
      await expect(vhdFormat.open(kid('orphan.vhd'), { readOnly: true })).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      d.remove();
    }
  });
});

describe('VHD malformed input', () => {
  function fixChecksums(b: Uint8Array): Uint8Array {
    const buf = Buffer.from(b);
    buf.writeUInt32BE(checksum(buf, 64, 512), 64);
    const dyn = buf.subarray(512, 1536);
    dyn.writeUInt32BE(checksum(dyn, 36, 1024), 36);
    const end = buf.subarray(buf.length - 512);
    end.writeUInt32BE(checksum(end, 64, 512), 64);
    return buf;
  }

  it('gives clean errors for seeded footer, header and BAT mutations', async () => {
    const p = tmp.path('fuzz-src.vhd');
    qemuImg('create', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on', p, '4M');
    qemuIo('vpc', p, 'write -P 0x5a 0 65536', 'write -P 0x6b 2097152 65536');
    const orig = readFileSync(p);
    const target = tmp.path('fuzz.vhd');
    const seen = new Set<string>();
    for (let seed = 1; seed <= 100; seed++) {
      let b: Uint8Array;
      if (seed % 3 === 0) b = mutate(orig, seed, 1536, 1536 + 16, 1 + (seed % 3)); // BAT
      else if (seed % 3 === 1) b = fixChecksums(mutate(orig, seed, 512, 512 + 40, 1 + (seed % 3))); // dynamic header
      else {
        // Footer fields, same change at both copies, checksums made valid.
        const m = mutate(orig, seed, 8, 68, 1 + (seed % 3));
        const c = Buffer.from(m);
        c.copy(c, c.length - 512, 0, 512);
        b = fixChecksums(c);
      }
      writeFileSync(target, b);
      seen.add(await openAndReadAll(vhdFormat, target));
    }
    expect(seen.has('corrupt')).toBe(true);
    const bad = Buffer.from(orig);
    bad[bad.length - 100]! ^= 1; // footer checksum must catch it (the copy at 0 is still good)
    bad[100]! ^= 1;
    writeFileSync(target, bad);
    await expect(vhdFormat.open(target)).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('gives clean errors for truncated files', async () => {
    const p = tmp.path('trunc-src.vhd');
    qemuImg('create', '-f', 'vpc', '-o', 'subformat=fixed', p, '1M');
    const fixed = readFileSync(p);
    const target = tmp.path('trunc.vhd');
    for (const len of [0, 100, 511, 512, fixed.length - 1]) {
      writeFileSync(target, fixed.subarray(0, len));
      expect(await openAndReadAll(vhdFormat, target)).not.toBe('ok');
    }
    // A fixed disk cut short but still ending in a footer-looking sector.
    writeFileSync(target, Buffer.concat([fixed.subarray(0, 4096), fixed.subarray(fixed.length - 512)]));
    expect(await openAndReadAll(vhdFormat, target)).toBe('corrupt');
    // A dynamic disk whose last block was cut off (only the copy of the footer at 0 remains).
    qemuImg('create', '-f', 'vpc', '-o', 'subformat=dynamic', p + '2', '8M');
    qemuIo('vpc', p + '2', 'write -P 0x5a 4194304 65536');
    const dyn = readFileSync(p + '2');
    writeFileSync(target, dyn.subarray(0, dyn.length - 2 * MiB));
    expect(await openAndReadAll(vhdFormat, target)).toBe('corrupt');
  });
});

describe('VHD check', () => {
  it('finds images clean, reports discarded blocks as leaks and restores a lost footer', async () => {
    const p = tmp.path('chk.vhd');
    await vhdFormat.create(p, 6 * MiB);
    let img = await vhdFormat.open(p);
    await img.write(pattern(6 * MiB, 12), 0);
    await img.close();
    expect(await vhdFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 0 });
    img = await vhdFormat.open(p);
    await img.discard(2 * MiB, 2 * MiB);
    await img.close();
    expect(await vhdFormat.check!(p)).toMatchObject({ corruptions: 0, leaks: 1 });
    const orig = readFileSync(p);
    writeFileSync(p, orig.subarray(0, orig.length - 512));
    expect((await vhdFormat.check!(p)).corruptions).toBe(1);
    expect((await vhdFormat.check!(p, { repair: true })).repaired).toBe(1);
    expect((await vhdFormat.check!(p)).corruptions).toBe(0);
    expect(readFileSync(p).equals(orig)).toBe(true);
    // A BAT entry aimed at the dynamic header.
    const b = Buffer.from(orig);
    b.writeUInt32BE(1, 1536);
    writeFileSync(p, b);
    expect((await vhdFormat.check!(p)).corruptions).toBeGreaterThan(0);
    await expect(vhdFormat.open(p)).rejects.toMatchObject({ code: 'corrupt' });
    const q = tmp.path('chkq.vhd');
    qemuImg('create', '-f', 'vpc', q, '5M');
    qemuIo('vpc', q, 'write -P 9 0 512');
    expect(await vhdFormat.check!(q)).toMatchObject({ corruptions: 0, leaks: 0 });
  });
});

describe('VHD resize', () => {
  it('grows and shrinks fixed disks to exact sizes', async () => {
    const p = tmp.path('rs-fixed.vhd');
    await vhdFormat.create(p, 3 * MiB, { subformat: 'fixed' });
    let img = await vhdFormat.open(p);
    await img.write(pattern(3 * MiB, 21), 0);
    await img.close();
    const grown = 5 * MiB + 1536;
    await vhdFormat.resize!(p, grown);
    expect(qemuVirtualSize(p)).toBe(grown);
    const model = Buffer.alloc(grown);
    model.set(pattern(3 * MiB, 21), 0);
    expect(qemuImgStatus('compare', '-f', 'vpc', '-F', 'raw', p, writeRaw(tmp.path('rs1.raw'), model)).status).toBe(0);
    await expect(vhdFormat.resize!(p, 2 * MiB)).rejects.toMatchObject({ code: 'usage' });
    await vhdFormat.resize!(p, 2 * MiB, { shrink: true });
    img = await vhdFormat.open(p, { readOnly: true });
    expect(img.capacity).toBe(2 * MiB);
    expect((await readWhole(img)).equals(model.subarray(0, 2 * MiB))).toBe(true);
    await img.close();
    expect(readFileSync(p).length).toBe(2 * MiB + 512);
  });

  it('grows a dynamic disk past its block table and keeps every block', async () => {
    const p = tmp.path('rs-dyn.vhd');
    qemuImg('create', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on', p, '5M');
    qemuIo('vpc', p, 'write -P 0x31 0 65536', 'write -P 0x32 4194304 65536');
    const model = qemuRaw(p, 'vpc', tmp.path('rs-dyn0.raw'));
    await vhdFormat.resize!(p, 13 * MiB);
    expect(qemuVirtualSize(p)).toBe(13 * MiB);
    const img = await vhdFormat.open(p);
    await img.write(pattern(70000, 5), 12 * MiB);
    await img.close();
    const want = Buffer.concat([model, Buffer.alloc(8 * MiB)]);
    want.set(pattern(70000, 5), 12 * MiB);
    expect(qemuImgStatus('compare', '-f', 'vpc', '-F', 'raw', p, writeRaw(tmp.path('rs-dyn.raw'), want)).status).toBe(0);
    const chk = await vhdFormat.check!(p);
    expect(chk.corruptions).toBe(0);
    expect(chk.leaks).toBe(1); // the old block table
    await vhdFormat.resize!(p, 3 * MiB, { shrink: true });
    const small = await vhdFormat.open(p, { readOnly: true });
    expect((await readWhole(small)).equals(want.subarray(0, 3 * MiB))).toBe(true);
    await small.close();
    expect((await vhdFormat.check!(p)).corruptions).toBe(0);
  });
});

describe('VHD differencing fuzz', () => {
  it('gives clean errors for seeded mutations of a differencing disk', async () => {
    const d = tempDir('vhd-dfuzz');
    try {
      await vhdFormat.create(d.path('parent.vhd'), 4 * MiB);
      const pb = readFileSync(d.path('parent.vhd'));
      const child = buildDiffVhd({
        parentFooter: pb.subarray(pb.length - 512), size: 4 * MiB, blockSize: 2 * MiB,
        blocks: new Map([[1, { sectors: [0, 5, 9, 4095], data: pattern(2 * MiB, 3) }]]),
        locators: [{ code: 'W2ru', bytes: Buffer.from('.\\parent.vhd', 'utf16le') }],
        parentName: 'parent.vhd',
      });
      const seen = new Set<string>();
      for (let seed = 1; seed <= 60; seed++) {
        // Dynamic header (locators, parent name; checksum left wrong or fixed) and BAT / bitmap.
        const regions: [number, number][] = [[576, 600], [1536, 1544], [2560, 2600], [3072, 3200]];
        const m = Buffer.from(mutate(child, seed, ...regions[seed % regions.length]!, 1 + (seed % 3)));
        if (seed % 2 === 0) {
          const dyn = m.subarray(512, 1536);
          dyn.writeUInt32BE(checksum(dyn, 36, 1024), 36);
        }
        writeFileSync(d.path('child.vhd'), m);
        seen.add(await openAndReadAll(vhdFormat, d.path('child.vhd')));
      }
      expect(seen.has('ok')).toBe(true);
      expect(seen.size).toBeGreaterThan(1);
    } finally {
      d.remove();
    }
  });
});
