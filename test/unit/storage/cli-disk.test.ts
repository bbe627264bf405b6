// `hangar disk` through the real command entry (in-process): output, exit codes, usage errors.
import { describe, it, expect, afterAll, afterEach, vi } from 'vitest';
import { openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { main } from '../../../src-core/cli/main.ts';
import { tempDir, qemuImgStatus, rng, randomBytes } from './helpers.ts';

const t = tempDir('cli');
afterAll(() => t.cleanup());
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function hangar(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  }
}

describe('hangar disk', () => {
  it('create, info --json, convert, compare, check', async () => {
    const q = t.file('disk.qcow2');
    expect((await hangar('disk', 'create', '-f', 'qcow2', q, '64M')).code).toBe(0);
    const info = await hangar('disk', 'info', '--json', q);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out)).toMatchObject({ format: 'qcow2', virtualSize: 64 << 20, dirty: false });
    const raw = t.file('data.raw');
    writeFileSync(raw, Buffer.concat([randomBytes(rng(1), 1 << 20), Buffer.alloc(3 << 20)]));
    const conv = await hangar('disk', 'convert', '--progress', '-O', 'qcow2', raw, t.file('data.qcow2'));
    expect(conv.code).toBe(0);
    expect(conv.err).toContain('(100.00/100%)');
    expect(qemuImgStatus('compare', raw, t.file('data.qcow2')).status).toBe(0);
    expect((await hangar('disk', 'compare', raw, t.file('data.qcow2'))).out).toContain('identical');
    const other = t.file('other.raw');
    writeFileSync(other, Buffer.alloc(4 << 20));
    const diff = await hangar('disk', 'compare', raw, other);
    expect(diff.code).toBe(1);
    expect(diff.out).toMatch(/mismatch at offset 0/);
    expect((await hangar('disk', 'check', t.file('data.qcow2'))).code).toBe(0);
    expect((await hangar('disk', 'resize', q, '+64M')).code).toBe(0);
    expect(JSON.parse((await hangar('disk', 'info', '--json', q)).out).virtualSize).toBe(128 << 20);
  });

  it('check exits 3 for leaks and 0 after --repair', async () => {
    const q = t.file('leaky.qcow2');
    await hangar('disk', 'create', '-f', 'qcow2', q, '1M');
    const fd = openSync(q, 'r+');
    const v = Buffer.alloc(2);
    readSync(fd, v, 0, 2, 2 * 65536); // refcount of cluster 0
    v.writeUInt16BE(v.readUInt16BE() + 1);
    writeSync(fd, v, 0, 2, 2 * 65536);
    closeSync(fd);
    const r = await hangar('disk', 'check', q);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/1 leaked clusters/);
    expect((await hangar('disk', 'check', '--repair', q)).code).toBe(0);
    expect((await hangar('disk', 'check', q)).code).toBe(0);
  });

  it('usage errors exit 2, operational errors exit 1 with a message', async () => {
    expect((await hangar('disk', 'create', '-f', 'qcow9', t.file('x'), '1G')).code).toBe(2);
    expect((await hangar('disk', 'create', '-f', 'qcow2', t.file('y'))).code).toBe(2);
    expect((await hangar('disk', 'create', '-f', 'qcow2', t.file('z'), '12Q')).code).toBe(2);
    const missing = await hangar('disk', 'info', t.file('missing.qcow2'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no such file/);
  });
});
