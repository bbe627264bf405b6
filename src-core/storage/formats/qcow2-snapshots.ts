// The qcow2 internal snapshot table: read for `info` and for the consistency check (snapshot L1
// tables hold references). Hangar does not create or apply internal snapshots.
import type { HostFile } from '../host-file.ts';
import { corrupt } from '../errors.ts';
import { MAX_L1_BYTES, MAX_HOST_OFFSET } from './qcow2-header.ts';

export interface Qcow2Snapshot {
  id: string;
  name: string;
  l1TableOffset: number;
  l1Size: number;
  vmStateSize: number;
  date: Date;
  diskSize?: number;
}

const MAX_TABLE_BYTES = 64 << 20;

export async function readSnapshots(file: HostFile, offset: number, count: number, cs: number): Promise<{ snapshots: Qcow2Snapshot[]; tableBytes: number }> {
  const snapshots: Qcow2Snapshot[] = [];
  let pos = offset;
  const dec = new TextDecoder();
  for (let i = 0; i < count; i++) {
    const fixed = new Uint8Array(40);
    await file.readExact(fixed, pos, `snapshot ${i} header`);
    const dv = new DataView(fixed.buffer);
    const l1Off = dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
    const l1Size = dv.getUint32(8);
    const idLen = dv.getUint16(12);
    const nameLen = dv.getUint16(14);
    const sec = dv.getUint32(16);
    const vmState = dv.getUint32(32);
    const extraLen = dv.getUint32(36);
    if (extraLen > 1024) throw corrupt(file.path, `snapshot ${i} extra data of ${extraLen} bytes is too large`);
    if (l1Off % cs !== 0 || l1Off > MAX_HOST_OFFSET) throw corrupt(file.path, `snapshot ${i} L1 table offset ${l1Off} is invalid`);
    if (l1Size * 8 > MAX_L1_BYTES) throw corrupt(file.path, `snapshot ${i} L1 table size ${l1Size} is too large`);
    const rest = new Uint8Array(extraLen + idLen + nameLen);
    await file.readExact(rest, pos + 40, `snapshot ${i} data`);
    const rv = new DataView(rest.buffer);
    let vmStateSize = vmState;
    let diskSize: number | undefined;
    if (extraLen >= 8) vmStateSize = rv.getUint32(0) * 2 ** 32 + rv.getUint32(4);
    if (extraLen >= 16) diskSize = rv.getUint32(8) * 2 ** 32 + rv.getUint32(12);
    snapshots.push({
      id: dec.decode(rest.subarray(extraLen, extraLen + idLen)),
      name: dec.decode(rest.subarray(extraLen + idLen, extraLen + idLen + nameLen)),
      l1TableOffset: l1Off,
      l1Size,
      vmStateSize,
      date: new Date(sec * 1000),
      diskSize,
    });
    pos += 40 + rest.length;
    pos = Math.ceil(pos / 8) * 8;
    if (pos - offset > MAX_TABLE_BYTES) throw corrupt(file.path, 'snapshot table is too large');
  }
  return { snapshots, tableBytes: pos - offset };
}
