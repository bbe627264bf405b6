// Helpers shared by the VDI, VHD and VMDK modules: strict positional file I/O (a short read of
// an untrusted file is corruption, never a silent zero-fill), range checks and the rule that related files (parents, extents) stay inside the image folder.
import { open, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import { lockOpenedImage } from '../image-lock.ts';
import type { ImageLock } from '../image-lock.ts';

/** Largest virtual disk any of these formats will open or create (64 TiB). */
export const MAX_VIRTUAL_SIZE = 64 * 2 ** 40;
/** Longest chain of parents followed before giving up (also stops cycles). */
export const MAX_CHAIN_DEPTH = 32;

export function corrupt(path: string, message: string): HangarError {
  return new HangarError('corrupt', `${basename(path)}: ${message}`, { path });
}

export function unsupported(path: string, message: string): HangarError {
  return new HangarError('unsupported', `${basename(path)}: ${message}`, { path });
}

function ioError(path: string, err: unknown): HangarError {
  if (err instanceof HangarError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return new HangarError('not-found', `${path}: no such file`, { path });
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return new HangarError('inaccessible', `${path}: permission denied`, { path });
  return new HangarError('io', `${path}: ${e?.message ?? String(err)}`, { path });
}

/**
 * One open image file. Every read is exact: reaching end-of-file means the file is truncated.
 * A writable file holds the image's write lock (image-lock.ts) until it is closed.
 */
export class ImageFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    public size: number,
    readonly readOnly: boolean,
    private readonly lock?: ImageLock,
  ) {}

  static async open(path: string, readOnly: boolean): Promise<ImageFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, readOnly ? 'r' : 'r+');
    } catch (err) {
      throw ioError(path, err);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new HangarError('unsupported', `${path}: not a regular file`, { path });
    }
    return new ImageFile(path, fh, st.size, readOnly, readOnly ? undefined : await lockOpenedImage(path, fh, false));
  }

  static async create(path: string): Promise<ImageFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e?.code === 'EEXIST') throw new HangarError('exists', `${path} already exists`, { path });
      throw ioError(path, err);
    }
    // Locked while it is written, so nobody opens a half-made image for writing.
    return new ImageFile(path, fh, 0, false, await lockOpenedImage(path, fh, true));
  }

  /** Fill buf from pos; a read past the end of the file is a truncated image. */
  async readInto(buf: Uint8Array, pos: number, what = 'data'): Promise<void> {
    if (buf.length === 0) return;
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + buf.length > this.size) {
      throw corrupt(this.path, `${what} at offset ${pos} (+${buf.length}) lies past the end of the file (${this.size} bytes): truncated or damaged image`);
    }
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
      if (bytesRead === 0) throw corrupt(this.path, `unexpected end of file reading ${what} at ${pos + done}`);
      done += bytesRead;
    }
  }

  async read(len: number, pos: number, what = 'data'): Promise<Uint8Array> {
    // Check before allocating: len often comes from an untrusted header field.
    if (!Number.isSafeInteger(len) || len < 0 || !Number.isSafeInteger(pos) || pos < 0 || pos + len > this.size) {
      throw corrupt(this.path, `${what} at offset ${pos} (+${len}) lies past the end of the file (${this.size} bytes): truncated or damaged image`);
    }
    const buf = new Uint8Array(len);
    await this.readInto(buf, pos, what);
    return buf;
  }

  async write(buf: Uint8Array, pos: number): Promise<void> {
    if (this.readOnly) throw new HangarError('state', `${this.path} is open read-only`);
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, pos + done);
      done += bytesWritten;
    }
    if (pos + buf.length > this.size) this.size = pos + buf.length;
  }

  async writev(bufs: Uint8Array[], pos: number): Promise<void> {
    if (this.readOnly) throw new HangarError('state', `${this.path} is open read-only`);
    let total = 0;
    for (const b of bufs) total += b.length;
    const { bytesWritten } = await this.fh.writev(bufs, pos);
    if (bytesWritten !== total) {
      // Rare partial vectored write: finish it buffer by buffer.
      let p = pos;
      for (const b of bufs) {
        await this.write(b, p);
        p += b.length;
      }
    }
    if (pos + total > this.size) this.size = pos + total;
  }

  async truncate(len: number): Promise<void> {
    await this.fh.truncate(len);
    this.size = len;
  }

  async sync(): Promise<void> {
    if (!this.readOnly) await this.fh.datasync();
  }

  async close(): Promise<void> {
    try {
      await this.fh.close();
    } finally {
      await this.lock?.release();
    }
  }

  /** Bytes the file occupies on the host (sparse holes excluded). */
  async allocatedBytes(): Promise<number> {
    const st = await stat(this.path);
    return st.blocks * 512;
  }
}

export function checkRange(path: string, capacity: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > capacity) {
    throw new HangarError('usage', `${basename(path)}: access at ${offset} (+${length}) is outside the disk (${capacity} bytes)`);
  }
}

export function checkWritable(path: string, readOnly: boolean): void {
  if (readOnly) throw new HangarError('state', `${basename(path)} is open read-only`);
}

function isInside(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Resolve a file an image names (parent, extent) against the image's folder. Without
 * allowUnsafePaths the name must be relative, free of `..`, and (after symlinks) inside the
 * folder: a hostile image must not make us read /etc/passwd.
 */
export async function resolveRelated(imagePath: string, name: string, allowUnsafe: boolean, what: string): Promise<string> {
  if (name.length === 0 || name.length > 4096 || name.includes('\0')) {
    throw corrupt(imagePath, `${what} path is empty or malformed`);
  }
  const dir = dirname(resolve(imagePath));
  const target = resolve(dir, name);
  if (!allowUnsafe) {
    const parts = name.split(/[\\/]/);
    if (isAbsolute(name) || /^[A-Za-z]:/.test(name) || parts.includes('..') || !isInside(dir, target)) {
      throw new HangarError('unsupported', `${basename(imagePath)}: ${what} "${name}" lies outside the image's folder; pass allowUnsafePaths to follow it`, { path: imagePath, related: name });
    }
    let realDir: string;
    let realTarget: string;
    try {
      realDir = await realpath(dir);
      realTarget = await realpath(target);
    } catch (err) {
      throw ioError(target, err);
    }
    if (!isInside(realDir, realTarget)) {
      throw new HangarError('unsupported', `${basename(imagePath)}: ${what} "${name}" resolves (through a link) outside the image's folder; pass allowUnsafePaths to follow it`, { path: imagePath, related: name });
    }
  }
  return target;
}

export function randomUuidBytes(): Uint8Array {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}

export function uuidHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

