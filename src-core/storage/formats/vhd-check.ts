// `disk check` for VHD: footer and dynamic-header checksums, a footer at the end of the file,
// every BAT block inside the file and clear of the metadata and of every other block. Space
// between blocks that no BAT entry uses (left by discard or a crash mid-allocation) is leaked.
// --repair restores a lost end footer from the copy at offset 0.
import { HangarError } from '../../api/errors.ts';
import type { CheckOptions, CheckResult } from '../format.ts';
import { ImageFile, roundUp } from './vdi-vhd-vmdk-common.ts';
import { parseVhdDynHeader, parseVhdFooter, serializeVhdFooter, VHD_BAT_FREE, VHD_TYPE_FIXED, vhdVirtualSize } from './vhd-footer.ts';

export async function checkVhd(path: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const res: CheckResult = { corruptions: 0, leaks: 0, messages: [] };
  const file = await ImageFile.open(path, !opts.repair);
  try {
    const bad = (m: string) => {
      res.corruptions++;
      res.messages.push(m);
    };
    try {
      if (file.size < 512) return { corruptions: 1, leaks: 0, messages: ['file too small for a VHD footer'] };
      let footer = parseVhdFooter(path, await file.read(512, file.size - 512));
      let footerAtEnd = true;
      if (!footer) {
        footerAtEnd = false;
        footer = parseVhdFooter(path, await file.read(512, 0));
        if (!footer || footer.diskType === VHD_TYPE_FIXED) return { corruptions: 1, leaks: 0, messages: ['no VHD footer at the end of the file'] };
      }
      const size = vhdVirtualSize(path, footer);
      if (footer.diskType === VHD_TYPE_FIXED) {
        if (size > file.size - 512) bad(`fixed disk of ${size} bytes is truncated`);
        return res;
      }
      const dynOff = Number(footer.dataOffset);
      if (dynOff + 1024 > file.size) return { corruptions: 1, leaks: 0, messages: ['dynamic header lies outside the file'] };
      const dyn = parseVhdDynHeader(path, await file.read(1024, dynOff), file.size);
      const blocks = Math.ceil(size / dyn.blockSize);
      if (dyn.maxTableEntries < blocks) bad(`BAT has ${dyn.maxTableEntries} entries, ${blocks} needed`);
      const n = Math.min(blocks, dyn.maxTableEntries);
      const bat = new DataView((await file.read(n * 4, dyn.tableOffset)).buffer);
      const bitmap = roundUp(dyn.blockSize / 512 / 8, 512);
      const span = bitmap + dyn.blockSize;
      const dataEnd = footerAtEnd ? file.size - 512 : roundUp(file.size, 512);
      const batEnd = roundUp(dyn.tableOffset + dyn.maxTableEntries * 4, 512);
      // Metadata and blocks as spans of the file: overlaps are corruption, gaps are leaks.
      const spans: [number, number, string][] = [
        [0, 512, 'the footer copy'],
        [dynOff, dynOff + 1024, 'the dynamic header'],
        [dyn.tableOffset, batEnd, 'the block table'],
      ];
      for (let b = 0; b < n; b++) {
        const e = bat.getUint32(b * 4);
        if (e === VHD_BAT_FREE) continue;
        const from = e * 512;
        if (from + span > dataEnd) bad(`block ${b} lies past the end of the data`);
        else spans.push([from, from + span, `block ${b}`]);
      }
      spans.sort((x, y) => x[0] - y[0]);
      let at = 0;
      let last = '';
      for (const [from, to, what] of spans) {
        if (from < at) bad(`${what} overlaps ${last}`);
        else if (from > at) res.leaks++;
        if (to > at) {
          at = to;
          last = what;
        }
      }
      if (dataEnd > at) res.leaks++;
      if (res.leaks > 0) res.messages.push(`${res.leaks} region(s) of the file are used by no block (leaked space)`);
      if (!footerAtEnd) {
        if (opts.repair && res.corruptions === 0) {
          await file.write(serializeVhdFooter(footer), dataEnd);
          await file.sync();
          res.repaired = 1;
          res.messages.push('footer restored at the end of the file');
        } else bad('the footer at the end of the file is missing (the copy at offset 0 is intact)');
      }
      return res;
    } catch (err) {
      if (err instanceof HangarError && err.code === 'corrupt') {
        res.corruptions++;
        res.messages.push(err.message);
        return res;
      }
      throw err;
    }
  } finally {
    await file.close();
  }
}
