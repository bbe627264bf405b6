// The saved-state file ("save state" in VirtualBox terms): the whole execution state of a VM
// so the next start continues where it stopped.
//
// Layout (little-endian):
//   0   "HGSAVE01"                      magic and format version
//   8   u32 header length H
//   12  header, JSON: { uuid, engine, ramBytes, pageSize, dataPages, stateBytes, createdAt }
//   12+H  engine state (CPU, devices, clock) as v8.serialize bytes, stateBytes long
//   then  page bitmap, one bit per guest page, set = page stored
//   then  the stored pages, in order
// All-zero pages are not stored: a freshly booted 256 MiB guest is mostly zeros, and skipping
// them is what makes save and restore fast. Written to a temporary name and renamed, so a
// crash mid-save never leaves a half file under the real name.
import { open, rename, rm, stat } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import { HangarError } from '../api/errors.ts';

const MAGIC = 'HGSAVE01';
export const PAGE = 4096;

export interface SavedStateHeader {
  uuid: string;
  engine: string;
  ramBytes: number;
  pageSize: number;
  dataPages: number;
  stateBytes: number;
  createdAt: string;
}

export interface SavedState {
  header: SavedStateHeader;
  state: unknown;
}

/** Bitmap of pages holding a non-zero byte. */
function nonZeroPages(ram: Uint8Array): { bitmap: Uint8Array; count: number } {
  const pages = Math.ceil(ram.length / PAGE);
  const bitmap = new Uint8Array(Math.ceil(pages / 8));
  const words = new Int32Array(ram.buffer, ram.byteOffset, Math.floor(ram.length / 4));
  const perPage = PAGE / 4;
  let count = 0;
  for (let p = 0; p < pages; p++) {
    const end = Math.min((p + 1) * perPage, words.length);
    for (let i = p * perPage; i < end; i++) {
      if (words[i] !== 0) {
        bitmap[p >> 3]! |= 1 << (p & 7);
        count++;
        break;
      }
    }
  }
  return { bitmap, count };
}

function bit(bitmap: Uint8Array, p: number): boolean {
  return (bitmap[p >> 3]! & (1 << (p & 7))) !== 0;
}

export async function writeSavedState(file: string, meta: { uuid: string; engine: string }, state: unknown, ram: Uint8Array): Promise<SavedStateHeader> {
  if (ram.length % PAGE !== 0) throw new HangarError('internal', `guest RAM of ${ram.length} bytes is not a whole number of pages`);
  const stateBytes = serialize(state);
  const { bitmap, count } = nonZeroPages(ram);
  const header: SavedStateHeader = {
    uuid: meta.uuid, engine: meta.engine, ramBytes: ram.length, pageSize: PAGE, dataPages: count,
    stateBytes: stateBytes.length, createdAt: new Date().toISOString(),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, 8);
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writev([prefix, headerBytes, stateBytes, bitmap]);
    // Write runs of stored pages straight from guest RAM, no copy.
    const pages = ram.length / PAGE;
    let batch: Uint8Array[] = [];
    for (let p = 0; p < pages; ) {
      if (!bit(bitmap, p)) {
        p++;
        continue;
      }
      let q = p;
      while (q < pages && bit(bitmap, q) && q - p < 2048) q++;
      batch.push(ram.subarray(p * PAGE, q * PAGE));
      if (batch.length >= 512) {
        await fh.writev(batch);
        batch = [];
      }
      p = q;
    }
    if (batch.length) await fh.writev(batch);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  return header;
}

function corrupt(file: string, why: string): HangarError {
  return new HangarError('corrupt', `saved state ${file} is damaged: ${why}; discard it with "hangar discardstate"`);
}

/** Reads just the header (to check a saved state belongs to a VM before starting it). */
export async function readSavedStateHeader(file: string): Promise<{ header: SavedStateHeader; headerEnd: number }> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new HangarError(err.code === 'ENOENT' ? 'not-found' : 'io', `cannot open saved state ${file}: ${err.message}`);
  });
  try {
    const prefix = Buffer.alloc(12);
    const { bytesRead } = await fh.read(prefix, 0, 12, 0);
    if (bytesRead < 12 || prefix.toString('latin1', 0, 8) !== MAGIC) throw corrupt(file, 'not a Hangar saved-state file (bad magic)');
    const len = prefix.readUInt32LE(8);
    if (len > 1 << 20) throw corrupt(file, `header length ${len} is implausible`);
    const hb = Buffer.alloc(len);
    if ((await fh.read(hb, 0, len, 12)).bytesRead !== len) throw corrupt(file, 'truncated header');
    let header: SavedStateHeader;
    try {
      header = JSON.parse(hb.toString('utf8')) as SavedStateHeader;
    } catch {
      throw corrupt(file, 'header is not valid JSON');
    }
    for (const k of ['ramBytes', 'pageSize', 'dataPages', 'stateBytes'] as const) {
      if (!Number.isInteger(header[k]) || header[k] < 0) throw corrupt(file, `header field ${k} is ${JSON.stringify(header[k])}`);
    }
    if (header.pageSize !== PAGE || header.ramBytes % PAGE !== 0) throw corrupt(file, `unsupported page size ${header.pageSize}`);
    return { header, headerEnd: 12 + len };
  } finally {
    await fh.close();
  }
}

/**
 * Reads a saved state into `ram` (which must have the saved size) and returns the engine
 * state. `ramIsZero`: the caller guarantees `ram` is all zeros (a freshly created engine). Every size is checked against the file before anything is read.
 */
export async function readSavedState(file: string, ram: Uint8Array, opts: { ramIsZero?: boolean } = {}): Promise<SavedState> {
  const { header, headerEnd } = await readSavedStateHeader(file);
  if (header.ramBytes !== ram.length) {
    throw new HangarError('state', `saved state ${file} is for ${header.ramBytes / 1048576} MiB of guest RAM but the VM now has ${ram.length / 1048576} MiB; set the memory back or discard the saved state`);
  }
  const pages = header.ramBytes / PAGE;
  const bitmapLen = Math.ceil(pages / 8);
  const expected = headerEnd + header.stateBytes + bitmapLen + header.dataPages * PAGE;
  const size = (await stat(file)).size;
  if (size !== expected) throw corrupt(file, `size ${size} bytes, expected ${expected}`);
  const fh = await open(file, 'r');
  try {
    const sb = Buffer.alloc(header.stateBytes);
    await fh.read(sb, 0, sb.length, headerEnd);
    const bitmap = Buffer.alloc(bitmapLen);
    await fh.read(bitmap, 0, bitmapLen, headerEnd + header.stateBytes);
    let pos = headerEnd + header.stateBytes + bitmapLen;
    let seen = 0;
    for (let p = 0; p < pages; ) {
      const stored = bit(bitmap, p);
      let q = p;
      while (q < pages && bit(bitmap, q) === stored && q - p < 8192) q++;
      if (stored) {
        const len = (q - p) * PAGE;
        const { bytesRead } = await fh.read(ram, p * PAGE, len, pos);
        if (bytesRead !== len) throw corrupt(file, 'truncated page data');
        pos += len;
        seen += q - p;
      } else if (!opts.ramIsZero) {
        // A fresh engine's RAM is already zero: skipping the fill leaves those pages
        // untouched, which keeps restore fast and the process's RSS at what the guest uses.
        ram.fill(0, p * PAGE, q * PAGE);
      }
      p = q;
    }
    if (seen !== header.dataPages) throw corrupt(file, `bitmap lists ${seen} pages, header says ${header.dataPages}`);
    let state: unknown;
    try {
      state = deserialize(sb);
    } catch (err) {
      throw corrupt(file, `engine state cannot be decoded (${(err as Error).message})`);
    }
    return { header, state };
  } finally {
    await fh.close();
  }
}
