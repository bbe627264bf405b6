// qcow2 consistency check, in QEMU's terms: rebuild every cluster's expected reference count by
// walking the header, tables, snapshots and mappings, then compare with the stored refcounts.
// Stored < expected is corruption (a cluster could be handed out twice); stored > expected is a
// leak (wasted space). Repair rewrites refcounts to the expected values.
import type { CheckOptions, CheckResult } from '../format.ts';
import { HostFile } from '../host-file.ts';
import { unsupported } from '../errors.ts';
import { readHeader, writeHeaderTablePointer } from './qcow2.ts';
import { Refcounts } from './qcow2-refcount.ts';
import { readSnapshots } from './qcow2-snapshots.ts';
import { compressedSpan, decodeL2, l1Offset } from './qcow2-entries.ts';
import { writeU64 } from './qcow2-header.ts';

const MAX_CLUSTERS = 2 ** 26;
const MAX_MESSAGES = 200;

export async function checkQcow2(path: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const first = await checkOnce(path, false);
  if (!opts.repair || (first.corruptions === 0 && first.leaks === 0)) return first;
  await checkOnce(path, true);
  const after = await checkOnce(path, false);
  return { ...after, repaired: first.corruptions + first.leaks - (after.corruptions + after.leaks), messages: [...first.messages, ...after.messages.map((m) => `after repair: ${m}`)] };
}

async function checkOnce(path: string, repair: boolean): Promise<CheckResult> {
  const file = await HostFile.open(path, repair);
  try {
    const { header, fileSize } = await readHeader(file);
    const cs = 2 ** header.clusterBits;
    const nClusters = Math.ceil(fileSize / cs);
    if (nClusters > MAX_CLUSTERS) throw unsupported(path, 'image too large to check');
    const expected = new Uint16Array(nClusters);
    const messages: string[] = [];
    let corruptions = 0;
    const note = (m: string) => {
      if (messages.length < MAX_MESSAGES) messages.push(m);
    };
    const ref = (offset: number, bytes: number, what: string): boolean => {
      const first = Math.floor(offset / cs);
      const last = Math.floor((offset + Math.max(bytes, 1) - 1) / cs);
      if (last >= nClusters) {
        corruptions++;
        note(`ERROR ${what} at offset ${offset} lies past the end of the file`);
        return false;
      }
      for (let c = first; c <= last; c++) if (expected[c]! < 0xffff) expected[c]!++;
      return true;
    };

    ref(0, cs, 'header');
    ref(header.refcountTableOffset, header.refcountTableClusters * cs, 'refcount table');
    const l2Cache = new Map<number, DataView | null>();
    const walkL1 = async (l1off: number, l1Size: number, what: string) => {
      if (l1Size === 0) return;
      if (!ref(l1off, l1Size * 8, what)) return;
      const l1 = new Uint8Array(l1Size * 8);
      await file.readExact(l1, l1off, what);
      const l1dv = new DataView(l1.buffer);
      for (let i = 0; i < l1Size; i++) {
        let l2off: number;
        try {
          l2off = l1Offset(l1dv, i, cs, path);
        } catch (e) {
          corruptions++;
          note(`ERROR ${(e as Error).message}`);
          continue;
        }
        if (l2off === 0) continue;
        if (!ref(l2off, cs, `L2 table (${what} entry ${i})`)) continue;
        let dv = l2Cache.get(l2off);
        if (dv === undefined) {
          const b = new Uint8Array(cs);
          await file.readAt(b, l2off);
          dv = new DataView(b.buffer);
          l2Cache.set(l2off, dv);
        }
        if (!dv) continue;
        for (let j = 0; j < cs / 8; j++) {
          try {
            const m = decodeL2(dv, j, header.clusterBits, header.version, path);
            if (m.kind === 'normal' || (m.kind === 'zero' && m.offset !== 0)) ref(m.offset, cs, 'data cluster');
            else if (m.kind === 'compressed') {
              const s = compressedSpan(m, cs);
              ref(s.first * cs, s.count * cs, 'compressed cluster');
            }
          } catch (e) {
            corruptions++;
            note(`ERROR ${(e as Error).message}`);
          }
        }
      }
    };
    await walkL1(header.l1TableOffset, header.l1Size, 'L1 table');
    if (header.nbSnapshots > 0) {
      const { snapshots, tableBytes } = await readSnapshots(file, header.snapshotsOffset, header.nbSnapshots, cs);
      ref(header.snapshotsOffset, tableBytes, 'snapshot table');
      for (const s of snapshots) await walkL1(s.l1TableOffset, s.l1Size, `snapshot ${s.id} L1 table`);
    }

    const refs = await Refcounts.load(file, header.clusterBits, header.refcountOrder, header.refcountTableOffset, header.refcountTableClusters, fileSize, writeHeaderTablePointer(file));
    const perBlock = 2 ** refs.blockShift;
    let lastCovered = 0;
    for (let b = 0; b < refs.tableEntries; b++) {
      let off: number;
      try {
        off = refs.blockOffset(b);
      } catch (e) {
        corruptions++;
        note(`ERROR ${(e as Error).message}`);
        continue;
      }
      if (off === 0) continue;
      if (ref(off, cs, `refcount block ${b}`)) lastCovered = Math.max(lastCovered, (b + 1) * perBlock);
    }

    let leaks = 0;
    const fixes: [number, number][] = [];
    const scanEnd = Math.max(nClusters, lastCovered);
    for (let c = 0; c < scanEnd; c++) {
      // Skip clusters whose refcount block is missing or broken: they read as 0.
      let stored: number;
      try {
        stored = await refs.get(c);
      } catch {
        stored = 0;
      }
      const want = c < nClusters ? expected[c]! : 0;
      if (stored === want) continue;
      if (stored < want) {
        corruptions++;
        note(`ERROR cluster ${c} refcount=${stored} reference=${want}`);
      } else {
        leaks++;
        note(`Leaked cluster ${c} refcount=${stored} reference=${want}`);
      }
      fixes.push([c, want]);
    }
    if (header.incompatible & 1) note('image is marked dirty (it was not closed cleanly)');

    if (repair) {
      for (const [c, v] of fixes) await refs.set(c, v);
      await file.datasync();
      await refs.writeBack();
      await file.datasync();
      if (header.version === 3 && header.incompatible & 3) {
        const b = new Uint8Array(8);
        writeU64(new DataView(b.buffer), 0, header.incompatible & ~3);
        await file.writeAt(b, 72);
        await file.datasync();
      }
    }
    return { corruptions, leaks, messages };
  } finally {
    await file.close();
  }
}
