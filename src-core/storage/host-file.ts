// A thin wrapper over one open host file: exact positional reads/writes, fdatasync, sizes,
// and discard (punch-hole through util-linux `fallocate` for large ranges, else zero-write:
// Node has no fallocate binding, and spawning a tool only pays off for big ranges).
import { open, type FileHandle } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { ioError, corrupt } from './errors.ts';
import { lockOpenedImage } from './image-lock.ts';
import type { ImageLock } from './image-lock.ts';

const PUNCH_MIN = 1 << 20; // below this, writing zeros is cheaper than a child process
let punchWorks: boolean | undefined;

// A writable file holds the image's write lock (image-lock.ts) until it is closed.
export class HostFile {
  private constructor(
    readonly path: string,
    private fh: FileHandle,
    readonly writable: boolean,
    private readonly lock?: ImageLock,
  ) {}

  static async open(path: string, writable: boolean): Promise<HostFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, writable ? 'r+' : 'r');
    } catch (err) {
      throw ioError(path, err);
    }
    return new HostFile(path, fh, writable, writable ? await lockOpenedImage(path, fh, false) : undefined);
  }

  /** Create a new file; fails if it exists so a typo never clobbers a disk. Locked while written. */
  static async create(path: string): Promise<HostFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+');
    } catch (err) {
      throw ioError(path, err);
    }
    return new HostFile(path, fh, true, await lockOpenedImage(path, fh, true));
  }

  /** Read up to buf.length bytes at pos; bytes past end of file read as zeros. Returns bytes actually in the file. */
  async readAt(buf: Uint8Array, pos: number): Promise<number> {
    let done = 0;
    try {
      while (done < buf.length) {
        const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (err) {
      throw ioError(this.path, err);
    }
    if (done < buf.length) buf.fill(0, done);
    return done;
  }

  /** Read exactly buf.length bytes of metadata; a short read means the file is truncated. */
  async readExact(buf: Uint8Array, pos: number, what: string): Promise<void> {
    const n = await this.readAt(buf, pos);
    if (n < buf.length) throw corrupt(this.path, `${what} at offset ${pos} lies past the end of the file`);
  }

  async writeAt(buf: Uint8Array, pos: number): Promise<void> {
    let done = 0;
    try {
      while (done < buf.length) {
        const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, pos + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw ioError(this.path, err);
    }
  }

  async size(): Promise<number> {
    try {
      return (await this.fh.stat()).size;
    } catch (err) {
      throw ioError(this.path, err);
    }
  }

  /** Bytes the file occupies on the host (allocated blocks). */
  async allocatedSize(): Promise<number> {
    try {
      return (await this.fh.stat()).blocks * 512;
    } catch (err) {
      throw ioError(this.path, err);
    }
  }

  async truncate(len: number): Promise<void> {
    try {
      await this.fh.truncate(len);
    } catch (err) {
      throw ioError(this.path, err);
    }
  }

  async datasync(): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (err) {
      throw ioError(this.path, err);
    }
  }

  /** Make [pos, pos+len) read as zeros, freeing host blocks where the host allows it. */
  async zeroRange(pos: number, len: number): Promise<void> {
    if (len <= 0) return;
    if (len >= PUNCH_MIN && punchWorks !== false) {
      const ok = await punchHole(this.path, pos, len);
      if (punchWorks === undefined) punchWorks = ok;
      if (ok) return;
    }
    const chunk = new Uint8Array(Math.min(len, 1 << 20));
    for (let done = 0; done < len; ) {
      const n = Math.min(chunk.length, len - done);
      await this.writeAt(n === chunk.length ? chunk : chunk.subarray(0, n), pos + done);
      done += n;
    }
  }

  async close(): Promise<void> {
    try {
      await this.fh.close();
    } catch (err) {
      throw ioError(this.path, err);
    } finally {
      await this.lock?.release();
    }
  }
}

function punchHole(path: string, pos: number, len: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('fallocate', ['--punch-hole', '--keep-size', '--offset', String(pos), '--length', String(len), '--', path], (err) =>
      resolve(!err),
    );
  });
}
