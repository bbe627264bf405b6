// A VDI differencing image names its parent only by UUID (VirtualBox keeps paths in its media
// registry). We look for the parent next to the image, or take a path the caller gives, which
// obeys the same stay-in-the-folder rule as every other file an image points at.
import { readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import { ImageFile, resolveRelated, uuidHex } from './vdi-vhd-vmdk-common.ts';
import { probeVdi, VDI_HEADER_BYTES } from './vdi-header.ts';

/** How many directory entries we are willing to inspect when searching for a parent. */
const MAX_SCAN_ENTRIES = 4096;

export async function readVdiImageUuid(path: string): Promise<Uint8Array | undefined> {
  let f: ImageFile;
  try {
    f = await ImageFile.open(path, true);
  } catch {
    return undefined;
  }
  try {
    if (f.size < VDI_HEADER_BYTES) return undefined;
    const head = await f.read(VDI_HEADER_BYTES, 0);
    return probeVdi(head) ? head.slice(0x188, 0x198) : undefined;
  } finally {
    await f.close();
  }
}

/** Locate the parent whose image UUID is `uuidLink`. Returns its absolute path. */
export async function findVdiParent(childPath: string, uuidLink: Uint8Array, explicit: string | undefined, allowUnsafe: boolean): Promise<string> {
  const dir = dirname(resolve(childPath));
  const want = uuidHex(uuidLink);
  if (explicit !== undefined) {
    const name = isAbsolute(explicit) && !allowUnsafe ? relative(dir, explicit) : explicit;
    const path = await resolveRelated(childPath, name, allowUnsafe, 'VDI parent');
    const got = await readVdiImageUuid(path);
    if (got === undefined) throw new HangarError('corrupt', `${path} is not a readable VDI image (given as the parent of ${childPath})`);
    if (uuidHex(got) !== want) {
      throw new HangarError('corrupt', `${path} has image UUID ${uuidHex(got)}, but ${childPath} expects parent ${want}`);
    }
    return path;
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new HangarError('io', `cannot list ${dir} to find the parent of ${childPath}: ${(err as Error).message}`);
  }
  let inspected = 0;
  for (const name of names.sort()) {
    if (!/\.vdi$/i.test(name)) continue;
    const path = join(dir, name);
    if (path === resolve(childPath)) continue;
    if (++inspected > MAX_SCAN_ENTRIES) break;
    const got = await readVdiImageUuid(path);
    if (got !== undefined && uuidHex(got) === want) {
      // Same folder, but a symlink could still lead elsewhere.
      return resolveRelated(childPath, name, allowUnsafe, 'VDI parent');
    }
  }
  throw new HangarError('not-found', `parent of ${childPath} (image UUID ${want}) not found in ${dir}; place it next to the image or give its path`, { path: childPath });
}
