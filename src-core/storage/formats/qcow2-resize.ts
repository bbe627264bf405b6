// Growing a qcow2 image: a bigger virtual size may need a bigger L1 table, which is written in
// new clusters at the end first; the header then switches to it in one write, and only then
// is the old table freed. Shrinking is refused (it would need moving data out of the tail).
import type { ResizeOptions } from '../format.ts';
import { HangarError } from '../../api/errors.ts';
import { HostFile } from '../host-file.ts';
import { unsupported } from '../errors.ts';
import { readHeader, writeHeaderTablePointer } from './qcow2.ts';
import { Refcounts } from './qcow2-refcount.ts';
import { MAX_L1_BYTES, MAX_VIRTUAL_SIZE, writeU64 } from './qcow2-header.ts';

export async function resizeQcow2(path: string, newSize: number, _opts: ResizeOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(newSize) || newSize <= 0 || newSize % 512 !== 0 || newSize > MAX_VIRTUAL_SIZE)
    throw new HangarError('usage', `invalid disk size ${newSize}: a positive multiple of 512`);
  const file = await HostFile.open(path, true);
  try {
    const { header, fileSize } = await readHeader(file);
    if (header.version !== 3) throw unsupported(path, 'only qcow2 v3 images can be resized');
    if (header.nbSnapshots > 0) throw unsupported(path, 'cannot resize a qcow2 image that holds internal snapshots');
    if (header.incompatible & 1) throw unsupported(path, 'image is dirty (in use or not closed cleanly); run `hangar disk check --repair` first');
    if (newSize < header.size) throw unsupported(path, `shrinking qcow2 images is not supported (${header.size} → ${newSize})`);
    if (newSize === header.size) return;
    const cs = 2 ** header.clusterBits;
    const newL1 = Math.ceil(newSize / (cs * (cs / 8)));
    if (newL1 * 8 > MAX_L1_BYTES) throw new HangarError('usage', `size ${newSize} is too large for ${cs}-byte clusters`);
    const hdr = new Uint8Array(24); // size (24..32), l1_size (36..40), l1_table_offset (40..48)
    const dv = new DataView(hdr.buffer);
    writeU64(dv, 0, newSize);
    const oldClusters = Math.ceil((header.l1Size * 8) / cs);
    if (newL1 <= header.l1Size) {
      await file.writeAt(hdr.subarray(0, 8), 24);
    } else if (header.l1Size > 0 && newL1 * 8 <= oldClusters * cs) {
      // The table's last cluster has room: clear the new entries, then publish the size.
      await file.writeAt(new Uint8Array((newL1 - header.l1Size) * 8), header.l1TableOffset + header.l1Size * 8);
      await file.datasync();
      dv.setUint32(12, newL1);
      writeU64(dv, 16, header.l1TableOffset);
      await file.writeAt(hdr, 24);
    } else {
      const refs = await Refcounts.load(file, header.clusterBits, header.refcountOrder, header.refcountTableOffset, header.refcountTableClusters, fileSize, writeHeaderTablePointer(file));
      const clusters = Math.ceil((newL1 * 8) / cs);
      const at = await refs.allocate(clusters);
      const table = new Uint8Array(clusters * cs);
      if (header.l1Size > 0) await file.readExact(table.subarray(0, header.l1Size * 8), header.l1TableOffset, 'L1 table');
      await file.writeAt(table, at);
      await file.datasync();
      await refs.writeBack();
      await file.datasync();
      dv.setUint32(12, newL1);
      writeU64(dv, 16, at);
      await file.writeAt(hdr, 24);
      await file.datasync();
      if (header.l1Size > 0) refs.freeLater(header.l1TableOffset, oldClusters);
      await refs.applyFrees();
    }
    await file.datasync();
  } finally {
    await file.close();
  }
}
