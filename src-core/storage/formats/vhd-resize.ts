// `disk resize` for VHD. Fixed: the data area grows or shrinks and the footer moves to the new
// end (written there before the file is cut). Dynamic: the size in both footer copies changes
// when the block table already has entries for it; shrinking drops the blocks past the end.
import { HangarError } from '../../api/errors.ts';
import type { ResizeOptions } from '../format.ts';
import { corrupt, ImageFile } from './vdi-vhd-vmdk-common.ts';
import {
  parseVhdDynHeader, parseVhdFooter, serializeVhdFooter, VHD_BAT_FREE, VHD_MAX_SIZE, VHD_TYPE_DIFF, VHD_TYPE_FIXED, vhdGeometry, vhdVirtualSize,
} from './vhd-footer.ts';
import type { VhdFooter } from './vhd-footer.ts';

/**
 * Give a dynamic disk a bigger block table: a copy with room for `entries` is appended (the
 * footer moving after it), and only then does the dynamic header point at it. The old table's
 * space is left behind as a leak.
 */
async function growTable(file: ImageFile, footer: VhdFooter, dynOff: number, tableOffset: number, oldEntries: number, entries: number): Promise<void> {
  const old = await file.read(oldEntries * 4, tableOffset, 'VHD block table');
  const bytes = Math.ceil((entries * 4) / 512) * 512;
  const table = new Uint8Array(bytes).fill(0xff);
  table.set(old);
  const at = Math.ceil((file.size - 512) / 512) * 512;
  await file.write(serializeVhdFooter(footer), at + bytes);
  await file.write(table, at);
  await file.sync();
  const dyn = await file.read(1024, dynOff, 'VHD dynamic header');
  const dv = new DataView(dyn.buffer);
  dv.setBigUint64(16, BigInt(at));
  dv.setUint32(28, entries);
  dv.setUint32(36, 0);
  let sum = 0;
  for (const b of dyn) sum = (sum + b) >>> 0;
  dv.setUint32(36, ~sum >>> 0);
  await file.write(dyn, dynOff);
  await file.sync();
}

function resized(f: VhdFooter, size: number): Uint8Array {
  const g = vhdGeometry(size);
  const exact = g.cylinders * g.heads * g.sectorsPerTrack * 512 === size;
  return serializeVhdFooter({
    ...f,
    currentSize: size,
    // As at creation: the maximum geometry tells CHS-trusting readers to use current_size.
    ...(exact ? g : { cylinders: 65535, heads: 16, sectorsPerTrack: 255 }),
    creatorApp: f.creatorApp === 'vpc ' || f.creatorApp === 'qemu' ? 'hngr' : f.creatorApp,
  });
}

export async function resizeVhd(path: string, newSize: number, opts: ResizeOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(newSize) || newSize <= 0 || newSize % 512 !== 0 || newSize > VHD_MAX_SIZE) {
    throw new HangarError('usage', `VHD size ${newSize} must be a positive multiple of 512 bytes, at most 2040 GiB`);
  }
  const file = await ImageFile.open(path, false);
  try {
    if (file.size < 512) throw corrupt(path, 'file too small for a VHD footer');
    const footer = parseVhdFooter(path, await file.read(512, file.size - 512, 'VHD footer'));
    if (!footer) throw corrupt(path, 'no VHD footer at the end of the file (run check --repair first)');
    const size = vhdVirtualSize(path, footer);
    if (newSize < size && !opts.shrink) throw new HangarError('usage', `shrinking ${path} from ${size} to ${newSize} bytes loses data; pass shrink to confirm`);
    if (footer.diskType === VHD_TYPE_DIFF) throw new HangarError('unsupported', 'resizing VHD differencing images is not supported');
    const out = resized(footer, newSize);
    if (footer.diskType === VHD_TYPE_FIXED) {
      if (newSize > size) {
        await file.write(out, newSize); // the new footer lands past the old end first
        await file.write(new Uint8Array(512), size); // the old footer becomes data (zeros)
      } else {
        await file.write(out, newSize);
      }
      await file.sync();
      await file.truncate(newSize + 512);
      await file.sync();
      return;
    }
    const dynOff = Number(footer.dataOffset);
    const dyn = parseVhdDynHeader(path, await file.read(1024, dynOff, 'VHD dynamic header'), file.size);
    const blocks = Math.ceil(newSize / dyn.blockSize);
    if (blocks > dyn.maxTableEntries) await growTable(file, footer, dynOff, dyn.tableOffset, dyn.maxTableEntries, blocks);
    if (newSize < size) {
      // Blocks wholly past the new end leave the table (their space is leaked); a block cut in
      // the middle keeps its data, which readers no longer reach.
      const first = Math.ceil(newSize / dyn.blockSize);
      const old = Math.ceil(size / dyn.blockSize);
      if (old > first) {
        const free = new Uint8Array((old - first) * 4).fill(0xff);
        await file.write(free, dyn.tableOffset + first * 4);
      }
    } else if (newSize % dyn.blockSize !== 0 || size % dyn.blockSize !== 0) {
      // Growing inside a block that is already allocated would expose stale bytes past the old end.
      const last = Math.floor((size - 1) / dyn.blockSize);
      const e = new DataView((await file.read(4, dyn.tableOffset + last * 4)).buffer).getUint32(0);
      if (e !== VHD_BAT_FREE && size % dyn.blockSize !== 0) {
        const bitmap = Math.ceil(dyn.blockSize / 512 / 8 / 512) * 512;
        const from = size % dyn.blockSize;
        await file.write(new Uint8Array(dyn.blockSize - from), e * 512 + bitmap + from);
      }
    }
    await file.sync();
    await file.write(out, file.size - 512);
    await file.write(out, 0);
    await file.sync();
  } finally {
    await file.close();
  }
}
