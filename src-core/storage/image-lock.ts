// One writer per image: a process that opens an image read-write holds an advisory lock file
// next to it (`disk.vdi` → `disk.vdi.lock`) until it closes the image. Two VMs (or a VM and
// `hangar disk resize`) writing one image would interleave block allocations and corrupt it;
// readers are not locked out (they are how `info`, `convert` and `compare` look at a running
// VM's disk, at their own risk of seeing a moment's state).
//
// Node has no flock(), so the lock is a file created atomically with its content: written to a
// private temporary name, then hard-linked to the lock name (link fails if the name exists).
// It records who holds it (pid, host, boot id, the process's start time): a lock whose process
// is gone — killed, crashed, or from before a reboot, or whose pid now belongs to another
// process — is stale and taken over. A lock from another host is never taken over (its process
// cannot be seen from here).
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { HangarError } from '../api/errors.ts';
import { ioError } from './errors.ts';

export interface LockOwner {
  pid: number;
  host: string;
  /** Linux boot id; a lock from another boot is stale whatever its pid. */
  boot?: string;
  /** Start time of the owning process (clock ticks since boot, /proc/PID/stat field 22): tells pid reuse apart. */
  start?: string;
  /** Random per-lock token: release removes only its own lock file. */
  token: string;
}

export function lockPathFor(imagePath: string): string {
  return `${imagePath}.lock`;
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let bootId: string | undefined | null = null;
function currentBoot(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/** Is the process that wrote this lock still running? Unknown counts as running. */
export function ownerAlive(o: LockOwner): boolean {
  if (o.host !== hostname()) return true;
  const boot = currentBoot();
  if (o.boot && boot && o.boot !== boot) return false;
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = procStart(o.pid);
  return !(o.start && start && o.start !== start); // the pid now names another process
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (!Number.isSafeInteger(o.pid) || o.pid! <= 0 || typeof o.host !== 'string' || typeof o.token !== 'string') return undefined;
    return o as LockOwner;
  } catch {
    return undefined;
  }
}

/** Locks this process holds, removed at exit if the process ends without closing its images. */
const held = new Map<string, string>();
let exitHook = false;
function removeHeldAtExit(): void {
  for (const [path, token] of held) {
    try {
      if (parseOwner(readFileSync(path, 'utf8'))?.token === token) unlinkSync(path);
    } catch {
      // gone already, or unreadable: nothing of ours to remove
    }
  }
}

function inUse(imagePath: string, lockPath: string, o: LockOwner): HangarError {
  const who = o.host !== hostname() ? ` on host ${o.host}` : o.pid === process.pid ? ' (this process)' : '';
  return new HangarError(
    'locked',
    `image ${imagePath} is in use by process ${o.pid}${who}; close it there first (lock file ${lockPath})`,
    { path: imagePath, pid: o.pid, host: o.host, lockFile: lockPath },
  );
}

/** Read a lock file: its owner and inode, or undefined when it is gone. */
async function readLock(imagePath: string, lockPath: string): Promise<{ owner: LockOwner; ino: number } | undefined> {
  let fh;
  try {
    fh = await open(lockPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(lockPath, err);
  }
  try {
    const ino = (await fh.stat()).ino;
    const text = await fh.readFile('utf8');
    const owner = parseOwner(text);
    if (!owner) {
      // Never written by us (we create lock files whole): do not guess, let a person decide.
      throw new HangarError('locked', `image ${imagePath} is locked by ${lockPath}, which names no process; if no program uses the image, delete that file`, {
        path: imagePath,
        lockFile: lockPath,
      });
    }
    return { owner, ino };
  } finally {
    await fh.close();
  }
}

/**
 * Remove a stale lock file, but only the one that was judged stale: it is first renamed to a
 * private name (atomic), and if what was moved is not that file (another process replaced the
 * stale lock with a live one meanwhile) it is put back.
 */
async function removeStale(lockPath: string, staleIno: number): Promise<void> {
  const grave = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, grave);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw ioError(lockPath, err);
  }
  try {
    // Putting it back fails only if yet another process took the name in the same instant: a
    // three-way race on a stale lock that this scheme cannot close without kernel locks.
    if ((await stat(grave)).ino !== staleIno) await link(grave, lockPath).catch(() => undefined);
  } finally {
    await unlink(grave).catch(() => undefined);
  }
}

/** Create the lock file whole under its name; false when the name is taken. */
async function createLock(lockPath: string, owner: LockOwner): Promise<boolean> {
  const tmp = `${lockPath}.${owner.pid}-${owner.token}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(owner)}\n`);
      await fh.datasync(); // a lock that survives a host crash must not come back empty
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw ioError(lockPath, err);
  }
  try {
    await link(tmp, lockPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw ioError(lockPath, err);
    // A file system without hard links (FAT, some FUSE): exclusive create, then write. A reader
    // that catches the empty moment sees a lock naming no process and is told so.
    try {
      const fh = await open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(owner)}\n`);
      } finally {
        await fh.close();
      }
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw ioError(lockPath, err2);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export class ImageLock {
  private released = false;

  private constructor(
    readonly imagePath: string,
    readonly lockPath: string,
    private readonly token: string,
  ) {}

  /**
   * Take the write lock of an existing image file, or fail with a 'locked' error naming the
   * process that holds it. The lock sits next to the real file, so links to one image share it.
   */
  static async acquire(imagePath: string): Promise<ImageLock> {
    let real: string;
    try {
      real = await realpath(imagePath);
    } catch (err) {
      throw ioError(imagePath, err);
    }
    const lockPath = lockPathFor(real);
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      boot: currentBoot(),
      start: procStart(process.pid),
      token: randomBytes(8).toString('hex'),
    };
    // Each round either takes the lock, finds a live owner, or clears one stale lock; a few
    // rounds cover other processes clearing and retaking it at the same moment.
    for (let round = 0; round < 8; round++) {
      if (await createLock(lockPath, owner)) {
        held.set(lockPath, owner.token);
        if (!exitHook) {
          process.once('exit', removeHeldAtExit);
          exitHook = true;
        }
        return new ImageLock(imagePath, lockPath, owner.token);
      }
      const cur = await readLock(imagePath, lockPath);
      if (!cur) continue; // released meanwhile
      if (ownerAlive(cur.owner)) throw inUse(imagePath, lockPath, cur.owner);
      await removeStale(lockPath, cur.ino);
    }
    throw new HangarError('locked', `image ${imagePath}: could not take its lock ${lockPath} (other processes keep taking it)`, { path: imagePath, lockFile: lockPath });
  }

  /** Remove the lock file if it is still ours. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    held.delete(this.lockPath);
    try {
      if (parseOwner(await readFile(this.lockPath, 'utf8'))?.token === this.token) await unlink(this.lockPath);
    } catch {
      // already gone: nothing to release
    }
  }
}

/**
 * Take the write lock for an image file just opened for writing (`created`: just made by this
 * open). If the lock cannot be had, the handle is closed (and a file this open created, still
 * empty, is removed) before the error goes up.
 */
export async function lockOpenedImage(path: string, fh: FileHandle, created: boolean): Promise<ImageLock> {
  try {
    return await ImageLock.acquire(path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (created) await unlink(path).catch(() => undefined);
    throw err;
  }
}
