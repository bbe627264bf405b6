// Crash-safe file replacement: write a temporary file beside the target, fsync it, keep the
// current version as `<file>.prev`, rename the temporary over the target, fsync the folder.
// A process killed at any moment leaves the old file or the new one, never a torn one.
import { open, rename, copyFile, unlink, readFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, constants.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export interface AtomicWriteOptions {
  /** Keep the replaced version as `<file>.prev` (default true). */
  keepPrevious?: boolean;
  mode?: number;
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const h = await open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } catch (err) {
    await h.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await h.close();
  try {
    if (opts.keepPrevious !== false) {
      // Copy, then rename, so `.prev` itself is never torn either.
      const prevTmp = `${tmp}.prev`;
      try {
        await copyFile(file, prevTmp);
        await rename(prevTmp, `${file}.prev`);
      } catch (err) {
        await unlink(prevTmp).catch(() => {});
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
