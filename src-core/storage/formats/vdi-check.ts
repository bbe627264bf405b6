// `disk check` for VDI: every block-map entry names a slot inside the image, no slot backs two
// blocks, every slot's data lies inside the file, and the header's allocation count matches the
// map. Slots below the count that no block uses are leaks (space only). --repair fixes a count
// left too low by a crash between the map and header writes (data → map → header).
import { HangarError } from '../../api/errors.ts';
import type { CheckOptions, CheckResult } from '../format.ts';
import { ImageFile } from './vdi-vhd-vmdk-common.ts';
import { parseVdiHeader, serializeVdiHeader, VDI_BLOCK_ZERO, VDI_HEADER_BYTES } from './vdi-header.ts';

export async function checkVdi(path: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const res: CheckResult = { corruptions: 0, leaks: 0, messages: [] };
  const file = await ImageFile.open(path, !opts.repair);
  try {
    let h;
    let raw: Uint8Array;
    try {
      h = parseVdiHeader(path, await file.read(Math.min(VDI_HEADER_BYTES, file.size), 0, 'VDI header'), file.size);
      raw = await file.read(h.blocks * 4, h.offsetBmap, 'VDI block map');
    } catch (err) {
      if (err instanceof HangarError && err.code === 'corrupt') {
        return { corruptions: 1, leaks: 0, messages: [err.message] };
      }
      throw err;
    }
    const dv = new DataView(raw.buffer);
    const stride = h.blockSize + h.blockExtra;
    const owner = new Int32Array(h.blocks).fill(-1);
    let maxSlot = -1;
    for (let b = 0; b < h.blocks; b++) {
      const e = dv.getUint32(b * 4, true);
      if (e >= VDI_BLOCK_ZERO) continue;
      if (e >= h.blocks) {
        res.corruptions++;
        res.messages.push(`block ${b} maps to slot ${e}, beyond the ${h.blocks} blocks of the image`);
        continue;
      }
      if (owner[e] !== -1) {
        res.corruptions++;
        res.messages.push(`slot ${e} is used by blocks ${owner[e]} and ${b}`);
        continue;
      }
      owner[e] = b;
      if (e > maxSlot) maxSlot = e;
      if (h.offsetData + (e + 1) * stride > file.size) {
        res.corruptions++;
        res.messages.push(`block ${b} (slot ${e}) lies past the end of the file`);
      }
    }
    if (maxSlot + 1 > h.allocated) {
      res.messages.push(`header counts ${h.allocated} allocated blocks, the map uses slots up to ${maxSlot}`);
      if (opts.repair) {
        h.allocated = maxSlot + 1;
        await file.write(serializeVdiHeader(h), 0);
        await file.sync();
        res.repaired = (res.repaired ?? 0) + 1;
        res.messages.push('allocation count repaired');
      } else {
        res.corruptions++;
      }
    }
    for (let s = 0; s < Math.min(h.allocated, h.blocks); s++) {
      if (owner[s] === -1) {
        res.leaks++;
      }
    }
    if (res.leaks > 0) res.messages.push(`${res.leaks} allocated block slot(s) are used by no block (leaked space)`);
    return res;
  } finally {
    await file.close();
  }
}
