// `check` against hand-damaged images: leaks (exit 3), corruption (exit 2), repair; qemu-img
// must agree with every verdict.
import { describe, it, expect, afterAll } from 'vitest';
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { qcow2Format } from '../../../src-core/storage/formats/qcow2.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { checkImage, checkExitCode } from '../../../src-core/storage/tools/check.ts';
import { tempDir, qemuImgStatus, rng, randomBytes } from './helpers.ts';

const t = tempDir('q2check');
afterAll(() => t.cleanup());

async function sample(name: string): Promise<string> {
  const p = t.file(name);
  await qcow2Format.create(p, 4 << 20);
  const img = await openImage(p, 'qcow2');
  await img.write(randomBytes(rng(1), 300_000), 100_000);
  await img.close();
  return p;
}

/** Overwrite the 16-bit refcount of `cluster` (first refcount block, default layout). */
function setRefcount(p: string, cluster: number, value: number): void {
  const fd = openSync(p, 'r+');
  const head = Buffer.alloc(64);
  readSync(fd, head, 0, 64, 0);
  const table = Number(head.readBigUInt64BE(48));
  const entry = Buffer.alloc(8);
  readSync(fd, entry, 0, 8, table);
  const block = Number(entry.readBigUInt64BE(0));
  const v = Buffer.alloc(2);
  v.writeUInt16BE(value);
  writeSync(fd, v, 0, 2, block + cluster * 2);
  closeSync(fd);
}

describe('qcow2 check', () => {
  it('reports a clean image as clean', async () => {
    const p = await sample('clean.qcow2');
    const r = await checkImage(p);
    expect(r).toMatchObject({ format: 'qcow2', supported: true, corruptions: 0, leaks: 0 });
    expect(checkExitCode(r)).toBe(0);
  });

  it('finds leaks (exit 3) and repairs them', async () => {
    const p = await sample('leak.qcow2');
    setRefcount(p, 0, 2); // header cluster counted twice
    setRefcount(p, 60, 1); // a cluster past the data, referenced by nothing
    expect(qemuImgStatus('check', p).status).toBe(3);
    const r = await checkImage(p);
    expect(r.corruptions).toBe(0);
    expect(r.leaks).toBe(2);
    expect(checkExitCode(r)).toBe(3);
    const fixed = await checkImage(p, { repair: true });
    expect(fixed).toMatchObject({ corruptions: 0, leaks: 0, repaired: 2 });
    expect(qemuImgStatus('check', p).status).toBe(0);
  });

  it('finds corruption (exit 2) when a used cluster has too low a refcount, and repairs it', async () => {
    const p = await sample('corrupt.qcow2');
    setRefcount(p, 3, 0); // the L1 table's cluster
    expect(qemuImgStatus('check', p).status).toBe(2);
    const r = await checkImage(p);
    expect(r.corruptions).toBe(1);
    expect(r.messages.join('\n')).toMatch(/cluster 3 refcount=0 reference=1/);
    expect(checkExitCode(r)).toBe(2);
    await checkImage(p, { repair: true });
    expect(qemuImgStatus('check', p).status).toBe(0);
  });

  it('counts an L2 pointer past the end of the file as corruption', async () => {
    const p = await sample('wild.qcow2');
    const fd = openSync(p, 'r+');
    const l1 = Buffer.alloc(8);
    readSync(fd, l1, 0, 8, 3 * 65536);
    const l2 = Number(l1.readBigUInt64BE(0) & 0x00fffffffffffe00n);
    const bad = Buffer.alloc(8);
    bad.writeBigUInt64BE(0x8000000000000000n | BigInt(1000 * 65536));
    writeSync(fd, bad, 0, 8, l2 + 8);
    closeSync(fd);
    const r = await checkImage(p);
    expect(r.corruptions).toBeGreaterThan(0);
    expect(r.messages.join('\n')).toMatch(/past the end of the file/);
  });

  it('raw has nothing to check', async () => {
    const p = t.file('plain.raw');
    const { rawFormat } = await import('../../../src-core/storage/formats/raw.ts');
    await rawFormat.create(p, 1 << 20);
    const r = await checkImage(p, { format: 'raw' });
    expect(r.supported).toBe(false);
    expect(checkExitCode(r)).toBe(0);
  });
});
