// Hangar-written qcow2 images: random writes and discards against an in-memory model, checked
// by reading back after reopening and by qemu-img check and compare.
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { qcow2Format } from '../../../src-core/storage/formats/qcow2.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { tempDir, qemuImg, qemuImgStatus, qemuIo, rng, randomBytes, equalBytes } from './helpers.ts';

const t = tempDir('q2write');
afterAll(() => t.cleanup());

async function randomSession(path: string, model: Uint8Array, seed: number, ops: number, withDiscard: boolean): Promise<void> {
  const r = rng(seed);
  const img = await openImage(path, 'qcow2');
  expect(img.capacity).toBe(model.length);
  for (let i = 0; i < ops; i++) {
    const sectors = 1 + Math.floor(r() * (r() < 0.2 ? 600 : 24));
    const off = Math.floor(r() * (model.length / 512 - sectors)) * 512;
    const len = sectors * 512;
    if (withDiscard && r() < 0.15) {
      await img.discard(off, len);
      model.fill(0, off, off + len);
    } else {
      const data = randomBytes(r, len);
      await img.write(data, off);
      model.set(data, off);
    }
    if (r() < 0.1) await img.flush();
    if (r() < 0.1) {
      // read-your-writes before any flush
      const back = new Uint8Array(len);
      await img.read(back, off);
      expect(equalBytes(back, model.subarray(off, off + len))).toBe(true);
    }
  }
  await img.close();
}

async function readAll(path: string): Promise<Uint8Array> {
  const img = await openImage(path, 'qcow2', { readOnly: true });
  const out = new Uint8Array(img.capacity);
  await img.read(out, 0);
  await img.close();
  return out;
}

function qemuAgrees(path: string, model: Uint8Array): void {
  const chk = qemuImgStatus('check', path);
  expect(chk.out).toContain('No errors were found');
  expect(chk.status).toBe(0);
  const mirror = `${path}.model.raw`;
  writeFileSync(mirror, model);
  expect(qemuImgStatus('compare', '-f', 'raw', '-F', 'qcow2', mirror, path).status).toBe(0);
}

describe('qcow2 write path', () => {
  for (const cluster of [512, 4096, 65536]) {
    it(`random writes and discards, ${cluster}-byte clusters, pass qemu-img check and compare`, async () => {
      const p = t.file(`w${cluster}.qcow2`);
      // 512-byte clusters make the refcount table grow past its first cluster.
      const size = cluster === 512 ? 12 << 20 : 4 << 20;
      await qcow2Format.create(p, size, { cluster });
      const model = new Uint8Array(size);
      if (cluster === 512) {
        const img = await openImage(p, 'qcow2');
        const bulk = randomBytes(rng(99), 9 << 20);
        await img.write(bulk, 1 << 20);
        model.set(bulk, 1 << 20);
        await img.close();
      }
      await randomSession(p, model, cluster, 150, true);
      await randomSession(p, model, cluster + 1, 60, true); // reopen and continue
      if (cluster === 512) {
        // The refcount table started in cluster 1; it must have moved to make room.
        const head = readFileSync(p).subarray(48, 60);
        const dv = new DataView(head.buffer, head.byteOffset);
        expect(dv.getUint32(4)).toBeGreaterThan(512);
        expect(dv.getUint32(8)).toBeGreaterThan(1);
      }
      expect(equalBytes(await readAll(p), model)).toBe(true);
      qemuAgrees(p, model);
    });
  }

  it('copy-on-write overlay over a raw base leaves the base untouched', async () => {
    const base = t.file('base.raw');
    const baseData = randomBytes(rng(9), 3 << 20);
    writeFileSync(base, baseData);
    const top = t.file('over.qcow2');
    await qcow2Format.create(top, 4 << 20, { backing: { path: base, format: 'raw' } });
    expect(qemuImg('info', top)).toContain('backing file: base.raw');
    const model = new Uint8Array(4 << 20);
    model.set(baseData);
    await randomSession(top, model, 77, 120, true);
    expect(equalBytes(new Uint8Array(readFileSync(base)), baseData)).toBe(true);
    expect(equalBytes(await readAll(top), model)).toBe(true);
    qemuAgrees(top, model);
  });

  it('writes into qemu-made compressed and zero clusters', async () => {
    const src = t.file('cz.raw');
    const model = randomBytes(rng(5), 2 << 20);
    model.fill(0, 0, 1 << 20);
    writeFileSync(src, model);
    const p = t.file('cz.qcow2');
    qemuImg('convert', '-c', '-O', 'qcow2', src, p);
    qemuIo(p, 'qcow2', 'write -z -u 1536k 128k');
    model.fill(0, 1536 << 10, (1536 + 128) << 10);
    await randomSession(p, model, 11, 120, true);
    expect(equalBytes(await readAll(p), model)).toBe(true);
    qemuAgrees(p, model);
  });

  it('sets the dirty bit while open and clears it on close', async () => {
    const p = t.file('dirty.qcow2');
    await qcow2Format.create(p, 1 << 20);
    const img = await openImage(p, 'qcow2');
    await img.write(new Uint8Array(512).fill(1), 0);
    expect(qemuImg('info', '--force-share', '--output=json', p)).toMatch(/"dirty-flag": true/);
    expect((await img.info()).dirty).toBe(true);
    await img.close();
    expect(qemuImg('info', '--output=json', p)).toMatch(/"dirty-flag": false/);
  });

  it('opens v2 and snapshot-holding images read-only only', async () => {
    const v2 = t.file('v2.qcow2');
    qemuImg('create', '-f', 'qcow2', '-o', 'compat=0.10', v2, '1M');
    await expect(openImage(v2, 'qcow2')).rejects.toThrow(/version 2 images open read-only/);
    const snap = t.file('snap.qcow2');
    qemuImg('create', '-f', 'qcow2', snap, '1M');
    qemuImg('snapshot', '-c', 's', snap);
    await expect(openImage(snap, 'qcow2')).rejects.toThrow(/internal snapshots/);
    await (await openImage(snap, 'qcow2', { readOnly: true })).close();
  });

  it('grows with resize and keeps data', async () => {
    const p = t.file('grow.qcow2');
    await qcow2Format.create(p, 1 << 20, { cluster: 512 });
    const img = await openImage(p, 'qcow2');
    const data = randomBytes(rng(4), 4096);
    await img.write(data, 4096);
    await img.close();
    // 512-byte clusters: 64 L2 entries per table, so 40 MiB needs a new, larger L1 table.
    await qcow2Format.resize!(p, 40 << 20);
    await expect(qcow2Format.resize!(p, 1 << 20)).rejects.toThrow(/shrinking/);
    const img2 = await openImage(p, 'qcow2');
    expect(img2.capacity).toBe(40 << 20);
    const tail = randomBytes(rng(5), 8192);
    await img2.write(tail, (40 << 20) - 8192);
    const back = new Uint8Array(4096);
    await img2.read(back, 4096);
    expect(equalBytes(back, data)).toBe(true);
    await img2.close();
    expect(qemuImgStatus('check', p).status).toBe(0);
    const model = new Uint8Array(40 << 20);
    model.set(data, 4096);
    model.set(tail, (40 << 20) - 8192);
    qemuAgrees(p, model);
  });
});
