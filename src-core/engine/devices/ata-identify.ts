// IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data (ATA/ATAPI-7 word layout): 256 little-endian
// words. Strings are space-padded with the two bytes of each word swapped, as ATA specifies.

export interface IdentityStrings {
  model: string;
  serial: string;
  firmware: string;
}

function putString(words: Uint16Array, first: number, count: number, text: string): void {
  const s = text.padEnd(count * 2, ' ').slice(0, count * 2);
  for (let i = 0; i < count; i++) words[first + i] = (s.charCodeAt(2 * i) << 8) | s.charCodeAt(2 * i + 1);
}

function toBytes(words: Uint16Array): Uint8Array {
  const out = new Uint8Array(512);
  for (let i = 0; i < 256; i++) {
    out[2 * i] = words[i]! & 0xff;
    out[2 * i + 1] = words[i]! >> 8;
  }
  return out;
}

export const MAX_MULTIPLE = 16;

/** Logical CHS geometry for a disk of `sectors` 512-byte sectors (16 heads, 63 sectors/track). */
export function chsGeometry(sectors: number): { cylinders: number; heads: number; spt: number } {
  return { cylinders: Math.max(1, Math.min(16383, Math.floor(sectors / (16 * 63)))), heads: 16, spt: 63 };
}

export function ataIdentify(id: IdentityStrings, sectors: number, state: { multiple: number; dmaMode: number; writeCache: boolean }): Uint8Array {
  const w = new Uint16Array(256);
  const g = chsGeometry(sectors);
  w[0] = 0x0040; // fixed disk
  w[1] = g.cylinders;
  w[3] = g.heads;
  w[6] = g.spt;
  putString(w, 10, 10, id.serial);
  putString(w, 23, 4, id.firmware);
  putString(w, 27, 20, id.model);
  w[47] = 0x8000 | MAX_MULTIPLE;
  w[49] = 0x0300; // LBA, DMA
  w[50] = 0x4000;
  w[51] = 0x0200; // PIO timing mode 2
  w[53] = 0x0007; // words 54-58, 64-70 and 88 are valid
  const chsSectors = g.cylinders * g.heads * g.spt;
  w[54] = g.cylinders;
  w[55] = g.heads;
  w[56] = g.spt;
  w[57] = chsSectors & 0xffff;
  w[58] = chsSectors >>> 16;
  w[59] = state.multiple ? 0x0100 | state.multiple : 0;
  const lba28 = Math.min(sectors, 0x0fffffff);
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  // Multiword DMA 0-2; the selected mode in the high byte (dmaMode: 0x20|n MWDMA, 0x40|n UDMA).
  w[63] = 0x0007 | ((state.dmaMode & 0xf0) === 0x20 ? 0x100 << (state.dmaMode & 7) : 0);
  w[64] = 0x0003; // PIO 3 and 4
  w[65] = w[66] = w[67] = w[68] = 120;
  w[80] = 0x00f0; // ATA-4 to ATA-7
  w[82] = 0x0020; // write cache
  w[83] = 0x4000 | 0x0400 | 0x1000 | 0x2000; // LBA48, FLUSH CACHE, FLUSH CACHE EXT
  w[84] = 0x4000;
  w[85] = state.writeCache ? 0x0020 : 0;
  w[86] = 0x0400 | 0x1000 | 0x2000;
  w[87] = 0x4000;
  w[88] = 0x003f | ((state.dmaMode & 0xf0) === 0x40 ? 0x100 << (state.dmaMode & 7) : 0); // UDMA 0-5
  w[93] = 0x4000 | 0x2000 | 0x0001; // 80-wire cable detected, device 0 passed diagnostics
  const hi = Math.floor(sectors / 2 ** 32);
  w[100] = sectors & 0xffff;
  w[101] = Math.floor(sectors / 0x10000) & 0xffff;
  w[102] = hi & 0xffff;
  w[103] = Math.floor(hi / 0x10000) & 0xffff;
  return toBytes(w);
}

export function atapiIdentify(id: IdentityStrings, state: { dmaMode: number }): Uint8Array {
  const w = new Uint16Array(256);
  // ATAPI, CD-ROM device type, removable, accelerated DRQ, 12-byte packets.
  w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
  putString(w, 10, 10, id.serial);
  putString(w, 23, 4, id.firmware);
  putString(w, 27, 20, id.model);
  w[49] = 0x0300; // LBA, DMA
  w[53] = 0x0007;
  w[63] = 0x0007 | ((state.dmaMode & 0xf0) === 0x20 ? 0x100 << (state.dmaMode & 7) : 0);
  w[64] = 0x0003;
  w[65] = w[66] = w[67] = w[68] = 120;
  w[71] = 30;
  w[72] = 30;
  w[80] = 0x001e; // ATA/ATAPI-1 to -4
  w[82] = 0x0010; // PACKET feature set
  w[84] = 0x4000;
  w[85] = 0x0010;
  w[87] = 0x4000;
  w[88] = 0x003f | ((state.dmaMode & 0xf0) === 0x40 ? 0x100 << (state.dmaMode & 7) : 0);
  return toBytes(w);
}
