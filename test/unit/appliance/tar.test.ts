import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileHeader, parseHeader, USTAR_MAX_SIZE } from '../../../src-core/appliance/tar-header.ts';
import { TarReader } from '../../../src-core/appliance/tar-read.ts';
import { TarWriter } from '../../../src-core/appliance/tar-write.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(path: string): Promise<{ name: string; data: Buffer }[]> {
  const r = new TarReader([readFileSync(path)], 'test.tar');
  const out: { name: string; data: Buffer }[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    const parts: Buffer[] = [];
    for await (const c of r.data()) parts.push(c);
    out.push({ name: e.name, data: Buffer.concat(parts) });
  }
  return out;
}

function gnuTar(folder: string, out: string, args: string[]): void {
  execFileSync('tar', ['-C', folder, '-cf', out, ...args]);
}

describe('tar writer', () => {
  it('writes archives GNU tar lists and extracts byte for byte, in the order given', async () => {
    const path = join(dir, 'w.tar');
    const fh = await open(path, 'w');
    const long = 'a-very-long-name-'.repeat(8) + '.vmdk';
    const big = Buffer.alloc(100_003, 7);
    const w = new TarWriter(fh, 'w.tar');
    await w.addBuffer('x.ovf', Buffer.from('<Envelope/>'));
    await w.addBuffer('x.mf', Buffer.from('SHA256(x.ovf)= 00\n'));
    await w.addStream(long, big.length, [big.subarray(0, 5), big.subarray(5)]);
    await w.finish();
    await fh.close();
    expect(execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n')).toEqual(['x.ovf', 'x.mf', long]);
    const out = join(dir, 'extract');
    mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xf', path]);
    expect(readFileSync(join(out, long)).equals(big)).toBe(true);
    expect((await readAll(path)).map((e) => e.name)).toEqual(['x.ovf', 'x.mf', long]);
  });

  it('fills a reserved entry afterwards (the manifest written after the disks it covers)', async () => {
    const path = join(dir, 'r.tar');
    const fh = await open(path, 'w');
    const w = new TarWriter(fh, 'r.tar');
    const at = await w.reserve('x.mf', 5);
    await w.addBuffer('d.vmdk', Buffer.from('disk'));
    await w.patch(at, Buffer.from('hello'), 5);
    await expect(w.patch(at, Buffer.from('toolong'), 5)).rejects.toThrow(/patch of 7 bytes/);
    await w.finish();
    await fh.close();
    expect(execFileSync('tar', ['-xOf', path, 'x.mf'], { encoding: 'utf8' })).toBe('hello');
  });

  it('refuses a source that is shorter or longer than declared', async () => {
    const fh = await open(join(dir, 'bad.tar'), 'w');
    const w = new TarWriter(fh, 'bad.tar');
    await expect(w.addStream('a', 10, [Buffer.alloc(5)])).rejects.toThrow(/shrank/);
    await expect(w.addStream('b', 2, [Buffer.alloc(5)])).rejects.toThrow(/grew/);
    await fh.close();
  });

  it('encodes sizes over 8 GiB so GNU tar reads them (pax size + base-256)', () => {
    const size = 9 * 2 ** 30 + 5;
    const head = fileHeader('huge.vmdk', size);
    expect(head.length).toBe(3 * 512); // pax header block, its data block, the ustar block
    expect(parseHeader(head.subarray(1024)).size).toBe(size);
    const path = join(dir, 'huge.tar');
    writeFileSync(path, head);
    let listing = '';
    try {
      listing = execFileSync('tar', ['-tvf', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      listing = String((err as { stdout?: string }).stdout ?? ''); // tar then complains the data is missing
    }
    expect(listing).toContain(String(size));
    expect(size).toBeGreaterThan(USTAR_MAX_SIZE);
  });
});

describe('tar reader refuses hostile archives', () => {
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.ovf'), 'descriptor');
  writeFileSync(join(src, 'disk.vmdk'), Buffer.alloc(3000, 1));
  symlinkSync('/etc/passwd', join(src, 'link.vmdk'));

  it('reads what GNU tar wrote', async () => {
    gnuTar(src, join(dir, 'ok.tar'), ['a.ovf', 'disk.vmdk']);
    const all = await readAll(join(dir, 'ok.tar'));
    expect(all.map((e) => [e.name, e.data.length])).toEqual([['a.ovf', 10], ['disk.vmdk', 3000]]);
  });

  it('reads GNU tar\'s gnu and posix (pax) formats, long names included', async () => {
    const long = 'l'.repeat(120) + '.vmdk';
    writeFileSync(join(src, long), Buffer.alloc(700, 2));
    for (const format of ['gnu', 'posix', 'oldgnu']) {
      const out = join(dir, `${format}.tar`);
      gnuTar(src, out, [`--format=${format}`, 'a.ovf', long]);
      expect((await readAll(out)).map((e) => [e.name, e.data.length]), format).toEqual([['a.ovf', 10], [long, 700]]);
    }
  });

  it('a symbolic link', async () => {
    gnuTar(src, join(dir, 'sym.tar'), ['a.ovf', 'link.vmdk']);
    await expect(readAll(join(dir, 'sym.tar'))).rejects.toThrow(/"link\.vmdk" is a symbolic link \(to "\/etc\/passwd"\)/);
  });

  it('a hard link', async () => {
    execFileSync('ln', ['-f', join(src, 'disk.vmdk'), join(src, 'hard.vmdk')]);
    gnuTar(src, join(dir, 'hard.tar'), ['disk.vmdk', 'hard.vmdk']);
    await expect(readAll(join(dir, 'hard.tar'))).rejects.toThrow(/"hard\.vmdk" is a hard link/);
  });

  it('a directory', async () => {
    mkdirSync(join(src, 'sub'), { recursive: true });
    gnuTar(src, join(dir, 'dir.tar'), ['--no-recursion', 'sub']);
    await expect(readAll(join(dir, 'dir.tar'))).rejects.toThrow(/is a directory/);
  });

  it('a truncated archive, inside data and at a header boundary', async () => {
    const whole = readFileSync(join(dir, 'ok.tar'));
    writeFileSync(join(dir, 'cut.tar'), whole.subarray(0, 512 + 512 + 512 + 1000));
    await expect(readAll(join(dir, 'cut.tar'))).rejects.toThrow(/truncated archive: "disk\.vmdk" is cut short/);
    writeFileSync(join(dir, 'cut2.tar'), whole.subarray(0, 1024));
    await expect(readAll(join(dir, 'cut2.tar'))).rejects.toThrow(/truncated archive: no end-of-archive marker/);
  });

  it('a header declaring far more data than the archive holds', async () => {
    const head = fileHeader('disk.vmdk', 50 * 2 ** 30);
    writeFileSync(join(dir, 'liar.tar'), Buffer.concat([head, Buffer.alloc(4096)]));
    await expect(readAll(join(dir, 'liar.tar'))).rejects.toThrow(/truncated archive: "disk\.vmdk" is cut short/);
  });

  it('a damaged header checksum', async () => {
    const whole = Buffer.from(readFileSync(join(dir, 'ok.tar')));
    whole[10] ^= 0xff;
    writeFileSync(join(dir, 'sum.tar'), whole);
    await expect(readAll(join(dir, 'sum.tar'))).rejects.toThrow(/checksum mismatch/);
  });
});

describe('tar reader sizes', () => {
  it('takes an entry size over 8 GiB from the pax header', async () => {
    const size = 9 * 2 ** 30 + 5;
    const r = new TarReader([fileHeader('huge.vmdk', size), Buffer.alloc(4096)], 'big.tar');
    const e = await r.next();
    expect(e).toEqual({ name: 'huge.vmdk', size });
    expect(r.position).toBe(3 * 512);
    await expect(r.skip()).rejects.toThrow(`"huge.vmdk" is cut short (${size - 4096} of its ${size} bytes missing)`);
  });

  it('takes a long name from the pax header', async () => {
    const name = 'n'.repeat(150) + '.vmdk';
    const r = new TarReader([fileHeader(name, 3), Buffer.alloc(512), Buffer.alloc(1024)], 'long.tar');
    expect(await r.next()).toEqual({ name, size: 3 });
    expect(await r.next()).toBeUndefined();
  });
});
