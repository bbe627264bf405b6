// The one-writer lock: a read-write open holds `<image>.lock` naming this process; a second
// read-write open is refused with the holder's pid; readers are not locked out; locks of dead
// processes (or of another boot, or of a reused pid) are taken over; what we cannot judge
// (another host, an unreadable lock file) is refused, never removed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import type { CreateOptions, FormatName } from '../../../src-core/storage/format.ts';
import { ImageLock, lockPathFor, ownerAlive } from '../../../src-core/storage/image-lock.ts';
import { openImage, requireFormat } from '../../../src-core/storage/open.ts';
import { tempDir } from './helpers.ts';

const t = tempDir('lock');
afterAll(() => t.cleanup());

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** Start time (/proc/PID/stat field 22) of a live process. */
function startOf(pid: number): string {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(image: string, owner: Record<string, unknown>): void {
  writeFileSync(lockPathFor(image), `${JSON.stringify({ host: hostname(), token: 'feedface', ...owner })}\n`);
}

async function lockError(p: Promise<unknown>): Promise<HangarError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HangarError);
  expect((err as HangarError).code).toBe('locked');
  return err as HangarError;
}

function image(name: string): string {
  const p = t.file(name);
  writeFileSync(p, new Uint8Array(1 << 20));
  return p;
}

describe('ImageLock', () => {
  it('creates a lock file naming this process, removes it on release, and can be taken again', async () => {
    const img = image('a.raw');
    const lock = await ImageLock.acquire(img);
    const owner = JSON.parse(readFileSync(`${img}.lock`, 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname(), boot: bootId, start: startOf(process.pid) });
    await lock.release();
    expect(existsSync(`${img}.lock`)).toBe(false);
    await lock.release(); // twice is harmless
    await (await ImageLock.acquire(img)).release();
  });

  it('refuses a second holder with the pid of the first', async () => {
    const img = image('b.raw');
    const lock = await ImageLock.acquire(img);
    const err = await lockError(ImageLock.acquire(img));
    expect(err.message).toBe(`image ${img} is in use by process ${process.pid} (this process); close it there first (lock file ${img}.lock)`);
    await lock.release();
  });

  it('takes over the lock of a process that has exited', async () => {
    const img = image('c.raw');
    const dead = deadPid();
    writeLock(img, { pid: dead, boot: bootId });
    expect(ownerAlive({ pid: dead, host: hostname(), token: 'x' })).toBe(false);
    const lock = await ImageLock.acquire(img);
    expect(JSON.parse(readFileSync(`${img}.lock`, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over a lock from another boot or of a reused pid, but not of the live process it names', async () => {
    const img = image('d.raw');
    const live = process.ppid;
    writeLock(img, { pid: live, boot: '00000000-0000-0000-0000-000000000000', start: startOf(live) });
    await (await ImageLock.acquire(img)).release();
    writeLock(img, { pid: live, boot: bootId, start: String(Number(startOf(live)) + 12345) });
    await (await ImageLock.acquire(img)).release();
    writeLock(img, { pid: live, boot: bootId, start: startOf(live) });
    const err = await lockError(ImageLock.acquire(img));
    expect(err.message).toContain(`is in use by process ${live};`);
    expect(existsSync(`${img}.lock`)).toBe(true);
  });

  it('never takes over a lock from another host', async () => {
    const img = image('e.raw');
    writeLock(img, { pid: deadPid(), host: 'elsewhere.example' });
    const err = await lockError(ImageLock.acquire(img));
    expect(err.message).toContain('on host elsewhere.example');
    expect(existsSync(`${img}.lock`)).toBe(true);
  });

  it('refuses, and keeps, a lock file that names no process', async () => {
    const img = image('f.raw');
    writeFileSync(`${img}.lock`, 'garbage');
    const err = await lockError(ImageLock.acquire(img));
    expect(err.message).toBe(`image ${img} is locked by ${img}.lock, which names no process; if no program uses the image, delete that file`);
    expect(readFileSync(`${img}.lock`, 'utf8')).toBe('garbage');
  });

  it('release leaves a lock file that is no longer its own', async () => {
    const img = image('g.raw');
    const lock = await ImageLock.acquire(img);
    writeLock(img, { pid: process.ppid, boot: bootId, start: startOf(process.ppid), token: 'someone-else' });
    await lock.release();
    expect(JSON.parse(readFileSync(`${img}.lock`, 'utf8')).token).toBe('someone-else');
  });

  it('puts the lock next to the real file, so a link to the image shares it', async () => {
    const img = image('h.raw');
    symlinkSync(img, t.file('h-link.raw'));
    const lock = await ImageLock.acquire(t.file('h-link.raw'));
    expect(existsSync(`${img}.lock`)).toBe(true);
    await lockError(ImageLock.acquire(img));
    await lock.release();
  });
});

describe('image opens take the lock', () => {
  const cases: [FormatName, CreateOptions][] = [
    ['raw', {}],
    ['qcow2', {}],
    ['vdi', {}],
    ['vhd', {}],
    ['vmdk', {}],
    ['vmdk', { subformat: 'monolithicFlat' }],
  ];
  for (const [format, opts] of cases) {
    it(`${format}${opts.subformat ? ` (${opts.subformat})` : ''}: one writer, any number of readers`, async () => {
      const dir = mkdtempSync(join(t.dir, 'open-'));
      const img = join(dir, `disk.${format}`);
      const fmt = requireFormat(format);
      await fmt.create(img, 1 << 20, opts); // monolithicFlat: the extent file is what a writer locks
      expect(existsSync(`${img}.lock`)).toBe(false); // create released its lock
      const writer = await openImage(img, format);
      const err = await lockError(openImage(img, format));
      expect(err.message).toContain(`is in use by process ${process.pid}`);
      await writer.write(new Uint8Array(512).fill(9), 0);
      await writer.flush();
      // Readers open while the writer holds the image (they see it as of their open).
      const reader = await openImage(img, format, { readOnly: true });
      const back = new Uint8Array(512);
      await reader.read(back, 0);
      expect(back[0]).toBe(9);
      await reader.close();
      await writer.close();
      const again = await openImage(img, format);
      await again.close();
      expect(readdirSync(dir).filter((n) => n.endsWith('.lock'))).toEqual([]);
    });
  }

  it('create refuses a name whose lock a live process holds, and leaves no file behind', async () => {
    const img = t.file('held.qcow2');
    writeLock(img, { pid: process.ppid, boot: bootId, start: startOf(process.ppid) });
    await lockError(requireFormat('qcow2').create(img, 1 << 20));
    expect(existsSync(img)).toBe(false);
  });

  it('a failed open (damaged image) does not keep the lock', async () => {
    const img = t.file('bad.vdi');
    writeFileSync(img, new Uint8Array(4096).fill(0x5a));
    await expect(openImage(img, 'vdi')).rejects.toMatchObject({ code: 'corrupt' });
    expect(existsSync(`${img}.lock`)).toBe(false);
  });
});
