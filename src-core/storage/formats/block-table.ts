// Block tables of 32-bit entries (VDI block map, VHD BAT) are written back at flush one 512-byte
// sector at a time: only the sectors holding entries that changed since the last flush.

const PER_SECTOR = 512 / 4;

/** The table sectors (numbered from the table's start) that hold the given entries, ascending. */
export function dirtyTableSectors(entries: Iterable<number>): number[] {
  const sectors = new Set<number>();
  for (const e of entries) sectors.add(Math.floor(e / PER_SECTOR));
  return [...sectors].sort((a, b) => a - b);
}

/** Entries [from, to) of the table as bytes (clipped to the table's end). */
export function encodeTableEntries(table: Uint32Array, from: number, to: number, littleEndian: boolean): Uint8Array {
  const end = Math.min(to, table.length);
  const out = new Uint8Array(Math.max(0, end - from) * 4);
  const dv = new DataView(out.buffer);
  for (let i = from; i < end; i++) dv.setUint32((i - from) * 4, table[i]!, littleEndian);
  return out;
}

/** Entries of table sector s, as bytes. */
export function encodeTableSector(table: Uint32Array, s: number, littleEndian: boolean): Uint8Array {
  return encodeTableEntries(table, s * PER_SECTOR, (s + 1) * PER_SECTOR, littleEndian);
}
