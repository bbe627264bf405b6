// `disk resize` for VDI: the block map must have room for the new blocks before the data area
// (or no data yet, so the data area can move). New map entries are written before the header
// that makes them part of the disk; fixed images get their new blocks allocated in order.
// Shrinking is allowed only when the blocks cut off hold no data (a freed slot would break the
// header's allocation count, which qemu-img checks).
import { HangarError } from '../../api/errors.ts';
import type { ResizeOptions } from '../format.ts';
import { ImageFile, MAX_VIRTUAL_SIZE, roundUp } from './vdi-vhd-vmdk-common.ts';
import { parseVdiHeader, serializeVdiHeader, VDI_BLOCK_FREE, VDI_BLOCK_ZERO, VDI_HEADER_BYTES, VDI_TYPE_FIXED } from './vdi-header.ts';

export async function resizeVdi(path: string, newSize: number, opts: ResizeOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(newSize) || newSize < 0 || newSize % 512 !== 0 || newSize > MAX_VIRTUAL_SIZE) {
    throw new HangarError('usage', `VDI size ${newSize} must be a multiple of 512 bytes, at most 64 TiB`);
  }
  const file = await ImageFile.open(path, false);
  try {
    const h = parseVdiHeader(path, await file.read(Math.min(VDI_HEADER_BYTES, file.size), 0, 'VDI header'), file.size);
    const oldBlocks = h.blocks;
    const blocks = Math.ceil(newSize / h.blockSize);
    const map = await file.read(oldBlocks * 4, h.offsetBmap, 'VDI block map');
    const dv = new DataView(map.buffer);
    if (newSize < h.diskSize) {
      if (!opts.shrink) throw new HangarError('usage', `shrinking ${path} from ${h.diskSize} to ${newSize} bytes loses data; pass shrink to confirm`);
      for (let b = blocks; b < oldBlocks; b++) {
        if (dv.getUint32(b * 4, true) < VDI_BLOCK_ZERO) {
          throw new HangarError('unsupported', `${path}: block ${b} past the new end holds data; a VDI cannot free it`);
        }
      }
      h.diskSize = newSize;
      h.blocks = blocks;
      await file.write(serializeVdiHeader(h), 0);
      await file.sync();
      return;
    }
    if (blocks > oldBlocks) {
      const mapEnd = h.offsetBmap + blocks * 4;
      if (mapEnd > h.offsetData) {
        if (h.allocated > 0 && h.type !== VDI_TYPE_FIXED) {
          throw new HangarError('unsupported', `${path}: no room for ${blocks} block-map entries before the data (at ${h.offsetData}); convert the image to grow it this far`);
        }
        if (h.type === VDI_TYPE_FIXED) throw new HangarError('unsupported', `${path}: no room for the block map of a fixed VDI of ${newSize} bytes`);
        h.offsetData = roundUp(mapEnd, 512); // nothing stored yet: the data area can simply move
      }
      const fresh = new Uint8Array((blocks - oldBlocks) * 4);
      const fv = new DataView(fresh.buffer);
      for (let i = 0; i < blocks - oldBlocks; i++) fv.setUint32(i * 4, h.type === VDI_TYPE_FIXED ? h.allocated + i : VDI_BLOCK_FREE, true);
      if (h.type === VDI_TYPE_FIXED) {
        await file.truncate(h.offsetData + (h.allocated + blocks - oldBlocks) * (h.blockSize + h.blockExtra));
        h.allocated += blocks - oldBlocks;
      }
      await file.write(fresh, h.offsetBmap + oldBlocks * 4);
      await file.sync(); // map entries before the header that counts them
    }
    h.diskSize = newSize;
    h.blocks = blocks;
    await file.write(serializeVdiHeader(h), 0);
    await file.sync();
  } finally {
    await file.close();
  }
}
