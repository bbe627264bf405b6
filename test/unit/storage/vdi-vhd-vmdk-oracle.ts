// Test helpers for the VDI/VHD/VMDK oracle tests: temp folders, qemu-img/qemu-io runs, a
// seeded PRNG, whole-disk reads through an OpenImage, and seeded mutation of image bytes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HangarError } from '../../../src-core/api/errors.ts';
import type { ImageFormat, OpenImage } from '../../../src-core/storage/format.ts';
import { rng } from '../../helpers/rng.ts';

export function tempDir(prefix: string): { dir: string; path: (n: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hangar-${prefix}-`));
  return { dir, path: (n: string) => join(dir, n), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8' });
}

/** Exit status of a qemu-img subcommand (check: 0 clean, 2 corrupt, 3 leaks; compare: 0 equal). */
export function qemuImgStatus(...args: string[]): { status: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function qemuIo(fmt: string, path: string, ...cmds: string[]): void {
  const args = ['-f', fmt];
  for (const c of cmds) args.push('-c', c);
  execFileSync('qemu-io', [...args, path], { encoding: 'utf8' });
}

/** What qemu-img thinks the disk holds. */
export function qemuRaw(path: string, fmt: string, scratch: string): Buffer {
  qemuImg('convert', '-f', fmt, '-O', 'raw', path, scratch);
  const b = readFileSync(scratch);
  rmSync(scratch);
  return b;
}

export async function readWhole(img: OpenImage, chunk = 1 << 20): Promise<Buffer> {
  const out = Buffer.alloc(img.capacity);
  for (let off = 0; off < img.capacity; off += chunk) {
    const n = Math.min(chunk, img.capacity - off);
    await img.read(out.subarray(off, off + n), off);
  }
  return out;
}

/** The shared seeded generator (test/helpers/rng.ts), under the name these tests use. */
export const prng = rng;

export function pattern(len: number, seed: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}

/**
 * Open a (possibly damaged) image and read all of it. Returns 'ok' or the HangarError code;
 * anything else thrown (a TypeError, RangeError...) is a bug and propagates to fail the test.
 */
export async function openAndReadAll(fmt: ImageFormat, path: string): Promise<string> {
  let img: OpenImage;
  try {
    img = await fmt.open(path, { readOnly: true });
  } catch (err) {
    if (err instanceof HangarError) return err.code;
    throw err;
  }
  try {
    if (img.capacity <= 16 * 2 ** 20) {
      await readWhole(img);
    } else {
      // A mutated size: sample windows across the disk rather than reading gigabytes.
      const win = new Uint8Array(65536);
      for (let k = 0; k < 8; k++) {
        const at = Math.floor(((img.capacity - win.length) * k) / 7 / 512) * 512;
        await img.read(win.subarray(0, Math.min(win.length, img.capacity - at)), at);
      }
    }
    return 'ok';
  } catch (err) {
    if (err instanceof HangarError) return err.code;
    throw err;
  } finally {
    await img.close();
  }
}

/** Flip `count` seeded bytes inside [from, to) of a copy of `orig`. */
export function mutate(orig: Uint8Array, seed: number, from: number, to: number, count: number): Uint8Array {
  const r = prng(seed);
  const b = Uint8Array.from(orig);
  for (let i = 0; i < count; i++) {
    const at = from + Math.floor(r() * (Math.min(to, b.length) - from));
    const kind = r();
    b[at] = kind < 0.3 ? 0xff : kind < 0.5 ? 0 : (r() * 256) | 0;
  }
  return b;
}
