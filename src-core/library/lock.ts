// An advisory lock between hangar processes: a lock file created with O_EXCL holding the
// owner's pid. A lock whose owner died is taken over; a live owner is waited for.
import { open, readFile, unlink } from 'node:fs/promises';
import { HangarError } from '../api/errors.ts';

export interface LockOptions {
  timeoutMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  try {
    const h = await open(path, 'wx', 0o644);
    await h.writeFile(`${process.pid}\n`);
    await h.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Someone holds it; take it over only if the holder is gone.
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // released meanwhile; retry
    throw err;
  }
  const pid = Number.parseInt(text, 10);
  if (text.endsWith('\n') && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
    // Stale. Remove only if still the same stale content, then compete again.
    const again = await readFile(path, 'utf8').catch(() => '');
    if (again === text) await unlink(path).catch(() => {});
  }
  return false;
}

/** Run `fn` while holding the lock file `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let delay = 5;
  while (!(await tryAcquire(path))) {
    if (Date.now() > deadline) {
      const holder = (await readFile(path, 'utf8').catch(() => '?')).trim();
      throw new HangarError('locked', `${path} is locked by process ${holder}; another hangar command is still working — try again, or remove the file if that process is gone`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}
