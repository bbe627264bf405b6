// Where a VHD differencing disk's parent is: the parent locators (relative Windows path "W2ru",
// absolute "W2ku", Mac/Unix file URL "MacX") and, failing those, the parent's file name next to
// the child. Every candidate obeys the stay-in-the-folder rule unless unsafe paths are allowed.
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';
import { resolveRelated } from './vdi-vhd-vmdk-common.ts';
import type { VhdDynHeader } from './vhd-footer.ts';

const MAX_LOCATOR_BYTES = 8192;

async function locatorText(file: ImageFile, code: string, length: number, offset: number): Promise<string | undefined> {
  if (length === 0 || length > MAX_LOCATOR_BYTES || offset + length > file.size) return undefined;
  const data = await file.read(length, offset, `VHD parent locator ${code}`);
  if (code === 'MacX') {
    const url = Buffer.from(data).toString('utf8').replace(/\0+$/, '');
    const m = /^file:\/\/(?:localhost)?(\/.*)$/.exec(url);
    return m ? decodeURIComponent(m[1]!) : url;
  }
  return Buffer.from(data).toString('utf16le').replace(/\0+$/, '');
}

/** Windows path → a path for this host: backslashes become slashes, a leading ".\" goes. */
function fromWindows(p: string): string {
  return p.replace(/\\/g, '/').replace(/^\.\//, '');
}

export async function findVhdParent(childPath: string, file: ImageFile, dyn: VhdDynHeader, allowUnsafe: boolean): Promise<string> {
  const dir = dirname(resolve(childPath));
  const candidates: string[] = [];
  const order = ['W2ru', 'MacX', 'W2ku', 'Wi2r', 'Wi2k'];
  const locs = [...dyn.locators].sort((a, b) => order.indexOf(a.code) - order.indexOf(b.code));
  for (const loc of locs) {
    if (!order.includes(loc.code)) continue;
    const text = await locatorText(file, loc.code, loc.dataLength, loc.dataOffset);
    if (!text) continue;
    const p = loc.code === 'MacX' ? text : fromWindows(text);
    if (/^[A-Za-z]:\//.test(p)) continue; // a Windows drive path means nothing here; the name below may
    candidates.push(isAbsolute(p) && !relative(dir, p).startsWith('..') ? relative(dir, p) : p);
  }
  if (dyn.parentName) candidates.push(fromWindows(dyn.parentName).split('/').pop()!);
  let refusal: HangarError | undefined;
  for (const c of candidates) {
    if (!c) continue;
    try {
      const target = resolve(dir, c);
      await access(target);
      return await resolveRelated(childPath, c, allowUnsafe, 'VHD parent');
    } catch (err) {
      if (err instanceof HangarError && err.code === 'unsupported') refusal ??= err;
    }
  }
  if (refusal) throw refusal;
  throw new HangarError('not-found', `${childPath}: VHD parent not found (tried ${candidates.map((c) => `"${c}"`).join(', ') || 'no locators'})`, { path: childPath });
}
