// A cross-process lock for the guest-kit cache, so that parallel test runs do not download the
// 70 MB kernel package twice. It is only an optimisation: builds also publish their result with
// an atomic rename, so two builders racing (e.g. after a stale lock) still cannot corrupt a kit.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock folder `path` (mkdir is atomic); returns a release function. */
export async function acquireLock(
  path: string,
  log: (msg: string) => void,
  timeoutMs = 30 * 60_000,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      return async () => {
        await rm(path, { recursive: true, force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number.parseInt(await readFile(join(path, 'pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      log(`removing stale lock of dead process ${owner}`);
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!Number.isInteger(owner)) {
      // A holder that died between mkdir and writing its pid leaves a lock without an owner.
      const age = Date.now() - ((await stat(path).catch(() => null))?.mtimeMs ?? Date.now());
      if (age > 10_000) {
        log(`removing ownerless lock ${path}`);
        await rm(path, { recursive: true, force: true });
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`guest-kit: timed out waiting for the cache lock ${path} (held by pid ${owner || 'unknown'})`);
    }
    if (!told) {
      log(`waiting for another guest-kit build (pid ${owner || 'unknown'}) to finish`);
      told = true;
    }
    await sleep(500);
  }
}
