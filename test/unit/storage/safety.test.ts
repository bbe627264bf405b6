// Safety rules: the caller's format is used as given; backing paths stay in the image's
// folder unless explicitly allowed; chains may not loop or run deep.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openImage, probeFormat } from '../../../src-core/storage/open.ts';
import { qcow2Format } from '../../../src-core/storage/formats/qcow2.ts';
import { HangarError } from '../../../src-core/api/errors.ts';
import { tempDir, qemuImg } from './helpers.ts';

const t = tempDir('safety');
afterAll(() => t.cleanup());

async function openError(p: string, opts = {}): Promise<HangarError> {
  try {
    const img = await openImage(p, 'qcow2', { readOnly: true, ...opts });
    await img.close();
  } catch (e) {
    expect(e).toBeInstanceOf(HangarError);
    return e as HangarError;
  }
  throw new Error('open succeeded');
}

describe('storage safety', () => {
  it('opens a disk attached as raw as raw, even when it holds a qcow2 header', async () => {
    const p = t.file('guest-wrote-this.img');
    await qcow2Format.create(p, 1 << 20);
    expect(await probeFormat(p)).toBe('qcow2');
    const img = await openImage(p, 'raw', { readOnly: true });
    const head = new Uint8Array(4);
    await img.read(head, 0);
    expect([...head]).toEqual([0x51, 0x46, 0x49, 0xfb]);
    await img.close();
  });

  it('refuses backing files outside the image folder unless allowed', async () => {
    const outside = t.file('outside.raw');
    writeFileSync(outside, new Uint8Array(1 << 20).fill(7));
    mkdirSync(t.file('vm'));
    const rel = t.file('vm/rel.qcow2');
    qemuImg('create', '-f', 'qcow2', '-b', '../outside.raw', '-F', 'raw', rel);
    expect((await openError(rel)).message).toMatch(/leaves the image folder.*allowUnsafePaths/);
    const abs = t.file('vm/abs.qcow2');
    qemuImg('create', '-f', 'qcow2', '-b', outside, '-F', 'raw', abs);
    expect((await openError(abs)).message).toMatch(/absolute path/);
    symlinkSync(outside, t.file('vm/link.raw'));
    const viaLink = t.file('vm/link.qcow2');
    qemuImg('create', '-f', 'qcow2', '-b', 'link.raw', '-F', 'raw', viaLink);
    expect((await openError(viaLink)).message).toMatch(/through a link/);
    const img = await openImage(rel, 'qcow2', { readOnly: true, allowUnsafePaths: true });
    const b = new Uint8Array(512);
    await img.read(b, 4096);
    expect(b[0]).toBe(7);
    await img.close();
  });

  it('stops backing loops and over-deep chains with clear errors', async () => {
    const a = t.file('loop-a.qcow2');
    const b = t.file('loop-b.qcow2');
    qemuImg('create', '-f', 'qcow2', a, '1M');
    qemuImg('create', '-f', 'qcow2', '-b', 'loop-a.qcow2', '-F', 'qcow2', b);
    qemuImg('rebase', '-u', '-b', 'loop-b.qcow2', '-F', 'qcow2', a);
    expect((await openError(b)).message).toMatch(/loops back/);

    let prev = t.file('deep-0.qcow2');
    qemuImg('create', '-f', 'qcow2', prev, '1M');
    for (let i = 1; i <= 18; i++) {
      const next = t.file(`deep-${i}.qcow2`);
      qemuImg('create', '-f', 'qcow2', '-b', path.basename(prev), '-F', 'qcow2', next);
      prev = next;
    }
    expect((await openError(prev)).message).toMatch(/deeper than 16/);
  });

  it('refuses an unknown backing format', async () => {
    const base = t.file('fmt-base.raw');
    writeFileSync(base, new Uint8Array(65536));
    const top = t.file('fmt-top.qcow2');
    qemuImg('create', '-f', 'qcow2', '-u', '-b', 'fmt-base.raw', '-F', 'qed', top, '1M');
    expect((await openError(top)).message).toMatch(/backing file format "qed" is not supported/);
  });
});
