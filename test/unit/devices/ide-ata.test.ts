import { afterEach, describe, expect, it } from 'vitest';
import { BM, IdeRig, pattern, PRI, PRI_CTL, SEC } from './ide-rig.ts';

const ST_BSY = 0x80;
const ST_DRDY = 0x40;
const ST_DRQ = 0x08;
const ST_ERR = 0x01;

let rig: IdeRig;
afterEach(async () => {
  await rig?.close();
});

function words(b: Uint8Array, i: number): number {
  return b[2 * i]! | (b[2 * i + 1]! << 8);
}

function ataString(b: Uint8Array, first: number, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += String.fromCharCode(b[2 * (first + i) + 1]!, b[2 * (first + i)]!);
  return s.trim();
}

describe('PIIX3 IDE: PCI function and registers', () => {
  it('is 8086:7010 at 00:01.1, compatibility-mode bus-master IDE, BAR4 at 0xC000 with decode enabled', () => {
    rig = new IdeRig();
    const cfg = (reg: number) => {
      rig.out32(0xcf8, (0x80000000 | (1 << 11) | (1 << 8) | reg) >>> 0);
      return rig.in32(0xcfc) >>> 0;
    };
    expect(cfg(0)).toBe(0x70108086);
    expect(cfg(8) >>> 8).toBe(0x010180);
    expect(cfg(0x20)).toBe(0xc001);
    expect((cfg(0x40) & 0x8000_8000) >>> 0).toBe(0x8000_8000); // IDETIM decode enable, both channels
    // BAR sizing: 16 I/O ports
    rig.out32(0xcf8, (0x80000000 | (1 << 11) | (1 << 8) | 0x20) >>> 0);
    rig.out32(0xcfc, 0xffffffff);
    expect(rig.in32(0xcfc) >>> 0).toBe(0xfffffff1);
    // Moving BAR4 moves the bus-master registers.
    rig.out32(0xcfc, 0xd001);
    expect(rig.io.ownerOf(0xd000)).toBe('ide-bmdma');
    expect(rig.io.ownerOf(0xc000)).toBeUndefined();
  });

  it('a channel without drives floats (0xFF); an absent slave reads status 0 with an empty signature', async () => {
    rig = new IdeRig();
    expect(rig.in8(PRI + 7)).toBe(0xff);
    rig.ide.attachDisk(0, await rig.rawImage('d.img', 1024 * 1024));
    expect(rig.status()).toBe(ST_DRDY | 0x10);
    rig.select(1);
    expect(rig.status()).toBe(0);
    expect(rig.in8(SEC + 7)).toBe(0xff);
    // Task-file registers read back what was written (libata's device check).
    rig.out8(PRI + 2, 0x55);
    rig.out8(PRI + 3, 0xaa);
    expect(rig.in8(PRI + 2)).toBe(0x55);
    expect(rig.in8(PRI + 3)).toBe(0xaa);
  });

  it('software reset leaves the ATA signature and diagnostic code', async () => {
    rig = new IdeRig();
    rig.ide.attachDisk(0, await rig.rawImage('d.img', 1024 * 1024));
    rig.out8(PRI + 4, 0x12);
    rig.out8(PRI_CTL, 0x04);
    expect(rig.in8(PRI_CTL)).toBe(ST_BSY);
    rig.out8(PRI_CTL, 0x00);
    expect([rig.in8(PRI + 1), rig.in8(PRI + 2), rig.in8(PRI + 3), rig.in8(PRI + 4), rig.in8(PRI + 5)]).toEqual([1, 1, 1, 0, 0]);
  });
});

describe('ATA disk', () => {
  it('IDENTIFY DEVICE reports the model, LBA28/LBA48 sizes, DMA and LBA48 support', async () => {
    rig = new IdeRig();
    const sectors = 20480 + 7;
    rig.ide.attachDisk(0, await rig.rawImage('d.img', sectors * 512));
    rig.select(0);
    rig.out8(PRI + 7, 0xec);
    expect(rig.irq14.level).toBe(true);
    expect(rig.status() & ST_DRQ).toBe(ST_DRQ);
    expect(rig.irq14.level).toBe(false); // status read acknowledges
    const id = rig.readData(512);
    expect(rig.status()).toBe(ST_DRDY | 0x10);
    expect(words(id, 0)).toBe(0x0040);
    expect(ataString(id, 27, 20)).toBe('HANGAR HARDDISK');
    expect(ataString(id, 10, 10)).toBe('HGR-DISK-0');
    expect(words(id, 60) | (words(id, 61) << 16)).toBe(sectors);
    expect(words(id, 100) + words(id, 101) * 65536).toBe(sectors);
    expect(words(id, 49) & 0x0300).toBe(0x0300);
    expect(words(id, 83) & 0x0400).toBe(0x0400);
    expect(words(id, 47) & 0xff).toBe(16);
  });

  it('READ SECTORS by PIO: BSY until the image read completes, an interrupt per sector, data from the image', async () => {
    rig = new IdeRig();
    const data = pattern(64 * 512, 7);
    rig.ide.attachDisk(0, await rig.rawImage('d.img', data));
    rig.lba28(10, 3);
    const edges = rig.irq14.edges;
    rig.out8(PRI + 7, 0x20);
    expect(rig.in8(PRI_CTL) & ST_BSY).toBe(ST_BSY);
    await rig.ide.drain();
    const got: Uint8Array[] = [];
    for (let s = 0; s < 3; s++) {
      expect(rig.irq14.level).toBe(true);
      expect(rig.status() & (ST_BSY | ST_DRQ)).toBe(ST_DRQ);
      got.push(rig.readData(512));
    }
    expect(rig.irq14.edges - edges).toBe(3);
    expect(rig.status() & ST_DRQ).toBe(0);
    expect(Buffer.concat(got)).toEqual(Buffer.from(data.subarray(10 * 512, 13 * 512)));
    expect(rig.ide.counters()).toEqual({ readBytes: 1536, writeBytes: 0, readOps: 1, writeOps: 0 });
  });

  it('WRITE SECTORS by PIO reaches the image; READ MULTIPLE after SET MULTIPLE hands out 4-sector blocks', async () => {
    rig = new IdeRig();
    const img = await rig.rawImage('d.img', 64 * 512);
    rig.ide.attachDisk(0, img);
    const payload = pattern(2 * 512, 99);
    rig.lba28(5, 2);
    rig.out8(PRI + 7, 0x30);
    expect(rig.status() & ST_DRQ).toBe(ST_DRQ); // first block without interrupt
    rig.writeData(payload.subarray(0, 512));
    expect(rig.irq14.level).toBe(true); // asks for the next block
    rig.writeData(payload.subarray(512));
    expect(rig.in8(PRI_CTL) & ST_BSY).toBe(ST_BSY);
    expect((await rig.settle()) & (ST_BSY | ST_ERR | ST_DRQ)).toBe(0);
    const back = new Uint8Array(1024);
    await img.read(back, 5 * 512);
    expect(back).toEqual(payload);

    rig.out8(PRI + 2, 4);
    rig.out8(PRI + 7, 0xc6); // SET MULTIPLE 4
    expect(rig.status() & ST_ERR).toBe(0);
    rig.lba28(4, 8);
    rig.out8(PRI + 7, 0xc4);
    await rig.ide.drain();
    expect(rig.status() & ST_DRQ).toBe(ST_DRQ); // acknowledges the first block's interrupt
    const edges = rig.irq14.edges;
    const first = rig.readData(4 * 512);
    expect(rig.irq14.edges - edges).toBe(1); // one interrupt for the second 4-sector block
    expect(rig.status() & ST_DRQ).toBe(ST_DRQ);
    rig.readData(4 * 512);
    expect(rig.irq14.edges - edges).toBe(1);
    expect(rig.status() & ST_DRQ).toBe(0);
    expect(first.subarray(512, 1536)).toEqual(payload);
    expect(rig.ide.counters().writeOps).toBe(1);
    expect(rig.ide.counters().writeBytes).toBe(1024);
  });

  it('LBA48: WRITE SECTORS EXT and READ SECTORS EXT beyond the 28-bit limit (sparse 130 GiB image)', async () => {
    rig = new IdeRig();
    const size = 130 * 1024 ** 3;
    const img = await rig.rawImage('big.img', size);
    rig.ide.attachDisk(0, img);
    const lba = 2 ** 28 + 12345;
    const payload = pattern(512, 5);
    rig.lba48(lba, 1);
    rig.out8(PRI + 7, 0x34);
    rig.writeData(payload);
    expect((await rig.settle()) & ST_ERR).toBe(0);
    const back = new Uint8Array(512);
    await img.read(back, lba * 512);
    expect(back).toEqual(payload);
    rig.lba48(lba, 1);
    rig.out8(PRI + 7, 0x24);
    await rig.ide.drain();
    expect(rig.readData(512)).toEqual(payload);
    // READ NATIVE MAX ADDRESS EXT reports the last sector in all six LBA bytes.
    rig.select(0);
    rig.out8(PRI + 7, 0x27);
    const low = rig.in8(PRI + 3) | (rig.in8(PRI + 4) << 8) | (rig.in8(PRI + 5) << 16);
    rig.out8(PRI_CTL, 0x80);
    const high = rig.in8(PRI + 3) | (rig.in8(PRI + 4) << 8) | (rig.in8(PRI + 5) << 16);
    rig.out8(PRI_CTL, 0);
    expect(high * 2 ** 24 + low).toBe(size / 512 - 1);
  });

  it('out-of-range LBAs fail with IDNF, unknown commands with ABRT, writes to a read-only image with ABRT', async () => {
    rig = new IdeRig();
    rig.ide.attachDisk(0, await rig.rawImage('d.img', 16 * 512));
    rig.lba28(15, 2);
    rig.out8(PRI + 7, 0x20);
    expect(rig.status() & ST_ERR).toBe(ST_ERR);
    expect(rig.in8(PRI + 1)).toBe(0x10);
    rig.lba48(16, 1);
    rig.out8(PRI + 7, 0x25);
    expect(rig.in8(PRI + 1)).toBe(0x10);
    rig.select(0);
    rig.out8(PRI + 7, 0xfd);
    expect(rig.status() & ST_ERR).toBe(ST_ERR);
    expect(rig.in8(PRI + 1)).toBe(0x04);
    rig.ide.attachDisk(1, await rig.rawImage('ro.img', 16 * 512, true));
    rig.lba28(0, 1, PRI, 1);
    rig.out8(PRI + 7, 0x30);
    expect(rig.status() & ST_ERR).toBe(ST_ERR);
    expect(rig.in8(PRI + 1)).toBe(0x04);
    expect(rig.ide.counters().writeOps).toBe(0);
  });

  it('READ DMA through a two-entry PRD table into RAM; WRITE DMA EXT from RAM to the image', async () => {
    rig = new IdeRig();
    const data = pattern(32 * 512, 3);
    const img = await rig.rawImage('d.img', data);
    rig.ide.attachDisk(0, img);
    rig.prd(0x10000, [[0x20000, 1024], [0x30000, 3 * 512]]);
    rig.out32(BM + 4, 0x10000);
    rig.lba28(2, 5);
    rig.out8(PRI + 7, 0xc8);
    rig.out8(BM, 0x09); // start, to memory
    await rig.ide.drain();
    expect(rig.in8(BM + 2) & 0x07).toBe(0x04); // not active, no error, interrupt
    expect(rig.irq14.level).toBe(true);
    expect(rig.status() & (ST_BSY | ST_DRQ | ST_ERR)).toBe(0);
    expect(rig.memory.readBytes(0x20000, 1024)).toEqual(data.subarray(1024, 2048));
    expect(rig.memory.readBytes(0x30000, 1536)).toEqual(data.subarray(2048, 3584));
    rig.out8(BM + 2, 0x04); // write one to clear
    expect(rig.in8(BM + 2) & 0x04).toBe(0);
    rig.out8(BM, 0);

    // Start before the command this time; DMA from RAM.
    const payload = pattern(2048, 11);
    rig.memory.writeBytes(0x40000, payload);
    rig.prd(0x10000, [[0x40000, 2048]]);
    rig.out8(BM, 0x01); // start, from memory
    rig.lba48(20, 4);
    rig.out8(PRI + 7, 0x35);
    expect((await rig.settle()) & ST_ERR).toBe(0);
    const back = new Uint8Array(2048);
    await img.read(back, 20 * 512);
    expect(back).toEqual(payload);
    expect(rig.ide.counters()).toEqual({ readBytes: 2560, writeBytes: 2048, readOps: 1, writeOps: 1 });
  });

  it('a PRD table shorter than the transfer sets the bus-master error bit and aborts the command', async () => {
    rig = new IdeRig();
    rig.ide.attachDisk(0, await rig.rawImage('d.img', pattern(8 * 512)));
    rig.prd(0x10000, [[0x20000, 512]]);
    rig.out32(BM + 4, 0x10000);
    rig.lba28(0, 2);
    rig.out8(PRI + 7, 0xc8);
    rig.out8(BM, 0x09);
    await rig.ide.drain();
    expect(rig.in8(BM + 2) & 0x02).toBe(0x02);
    expect(rig.status() & ST_ERR).toBe(ST_ERR);
  });

  it('FLUSH CACHE and SET FEATURES (transfer mode) complete; IDENTIFY shows the selected MWDMA mode', async () => {
    rig = new IdeRig();
    rig.ide.attachDisk(0, await rig.rawImage('d.img', 8 * 512));
    rig.select(0);
    rig.out8(PRI + 7, 0xe7);
    expect((await rig.settle()) & (ST_ERR | ST_BSY)).toBe(0);
    rig.out8(PRI + 1, 0x03);
    rig.out8(PRI + 2, 0x21); // MWDMA1
    rig.out8(PRI + 7, 0xef);
    expect(rig.status() & ST_ERR).toBe(0);
    rig.out8(PRI + 7, 0xec);
    const id = rig.readData(512);
    expect(words(id, 63)).toBe(0x0207);
  });

  it('saves and restores the channel in the middle of a PIO read', async () => {
    rig = new IdeRig();
    const data = pattern(8 * 512, 21);
    rig.ide.attachDisk(0, await rig.rawImage('d.img', data));
    rig.lba28(0, 2);
    rig.out8(PRI + 7, 0x20);
    await rig.ide.drain();
    const firstHalf = rig.readData(256);
    const saved = structuredClone(rig.ide.saveState());
    const other = new IdeRig();
    try {
      other.ide.attachDisk(0, await other.rawImage('d.img', data));
      other.ide.loadState(saved);
      const rest = other.readData(256);
      expect(Buffer.concat([firstHalf, rest])).toEqual(Buffer.from(data.subarray(0, 512)));
    } finally {
      await other.close();
    }
  });
});

describe('IDE channel with one drive', () => {
  it('after reset an absent slave shows the empty signature (FFh) even beside an ATAPI master', async () => {
    rig = new IdeRig();
    rig.ide.attachCdrom(0);
    rig.out8(PRI_CTL, 0x04);
    rig.out8(PRI_CTL, 0x00);
    expect([rig.in8(PRI + 4), rig.in8(PRI + 5)]).toEqual([0x14, 0xeb]);
    rig.select(1);
    expect([rig.in8(PRI + 2), rig.in8(PRI + 3), rig.in8(PRI + 4), rig.in8(PRI + 5)]).toEqual([1, 1, 0xff, 0xff]);
    expect(rig.status()).toBe(0);
    // Guest writes still reach both copies.
    rig.out8(PRI + 4, 0x33);
    expect(rig.in8(PRI + 4)).toBe(0x33);
    rig.select(0);
    expect(rig.in8(PRI + 4)).toBe(0x33);
  });
});
