// Oracle tests: images qemu-img creates read back exactly as `qemu-img convert -O raw` does.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { openImage } from '../../../src-core/storage/open.ts';
import { tempDir, qemuImg, qemuIo, rng, randomBytes, equalBytes } from './helpers.ts';

const t = tempDir('q2oracle');
const SIZE = 4 << 20;
let source: string;

beforeAll(() => {
  // Realistic sparse content: random runs, text-like runs, a lone sector, long zero gaps.
  const r = rng(42);
  const buf = new Uint8Array(SIZE);
  buf.set(randomBytes(r, 200_000), 0);
  buf.set(new TextEncoder().encode('hangar '.repeat(30_000)), 1 << 20);
  buf.set(randomBytes(r, 512), 3 * (1 << 20) + 4096);
  buf.set(randomBytes(r, 500_000), SIZE - 500_000);
  source = t.file('source.raw');
  writeFileSync(source, buf);
});
afterAll(() => t.cleanup());

async function readAll(path: string, fmt: 'qcow2' | 'raw'): Promise<Uint8Array> {
  const img = await openImage(path, fmt, { readOnly: true });
  try {
    const out = new Uint8Array(img.capacity);
    // Odd-sized, unaligned reads exercise cluster boundaries.
    for (let off = 0; off < out.length; ) {
      const n = Math.min(out.length - off, 77_777);
      await img.read(out.subarray(off, off + n), off);
      off += n;
    }
    return out;
  } finally {
    await img.close();
  }
}

function reference(path: string): Uint8Array {
  const out = `${path}.ref.raw`;
  qemuImg('convert', '-O', 'raw', path, out);
  return new Uint8Array(readFileSync(out));
}

describe('qcow2 images made by qemu-img read back identical', () => {
  const variants: [string, string[]][] = [
    ['v3 default', ['-O', 'qcow2']],
    ['v2 (compat 0.10)', ['-O', 'qcow2', '-o', 'compat=0.10']],
    ['compressed', ['-O', 'qcow2', '-c']],
    ['compressed, 4 KiB clusters', ['-O', 'qcow2', '-c', '-o', 'cluster_size=4096']],
    ['512-byte clusters', ['-O', 'qcow2', '-o', 'cluster_size=512']],
    ['2 MiB clusters', ['-O', 'qcow2', '-o', 'cluster_size=2M']],
    ['1-bit refcounts', ['-O', 'qcow2', '-o', 'refcount_bits=1']],
    ['64-bit refcounts', ['-O', 'qcow2', '-o', 'refcount_bits=64']],
  ];
  for (const [name, args] of variants) {
    it(name, async () => {
      const p = t.file(`${name.replace(/\W+/g, '_')}.qcow2`);
      qemuImg('convert', ...args, source, p);
      expect(equalBytes(await readAll(p, 'qcow2'), reference(p))).toBe(true);
    });
  }

  it('overlay with backing file, zero clusters and a snapshot', async () => {
    const base = t.file('base.qcow2');
    qemuImg('convert', '-O', 'qcow2', source, base);
    const top = t.file('top.qcow2');
    qemuImg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', top);
    qemuIo(top, 'qcow2', 'write -P 0xab 100k 200k', 'write -z 0 64k', 'write -z 1M 128k', 'discard 3M 64k');
    qemuImg('snapshot', '-c', 'first', top);
    qemuIo(top, 'qcow2', 'write -P 0xcd 2M 4k');
    const ref = reference(top);
    expect(ref[0]).toBe(0); // zero cluster hides base data
    expect(equalBytes(await readAll(top, 'qcow2'), ref)).toBe(true);
    const img = await openImage(top, 'qcow2', { readOnly: true });
    const info = await img.info();
    await img.close();
    expect(info.snapshots?.map((s) => s.name)).toEqual(['first']);
    expect(info.backing).toEqual({ path: 'base.qcow2', format: 'qcow2' });
  });

  it('overlay larger than its raw base reads zeros past the base', async () => {
    const base = t.file('small.raw');
    writeFileSync(base, randomBytes(rng(3), 1 << 20));
    const top = t.file('bigger.qcow2');
    qemuImg('create', '-f', 'qcow2', '-b', 'small.raw', '-F', 'raw', top, '3M');
    expect(equalBytes(await readAll(top, 'qcow2'), reference(top))).toBe(true);
  });
});
