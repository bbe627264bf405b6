import { afterEach, describe, expect, it } from 'vitest';
import { BM, IdeRig, pattern, PRI } from './ide-rig.ts';

const ST_DRDY = 0x40;
const ST_DRQ = 0x08;
const ST_ERR = 0x01;

let rig: IdeRig;
afterEach(async () => {
  await rig?.close();
});

/** Run a packet to completion by PIO; returns the data and the final status/error. */
async function pio(r: IdeRig, cdb: number[], limit = 0xfffe): Promise<{ data: Uint8Array; status: number; error: number; blocks: number[] }> {
  r.packet(cdb, { limit });
  await r.ide.drain();
  const parts: Uint8Array[] = [];
  const blocks: number[] = [];
  for (;;) {
    const st = r.status();
    if (!(st & ST_DRQ)) {
      expect(r.in8(PRI + 2) & 3).toBe(3); // status phase: I/O and C/D
      return { data: new Uint8Array(Buffer.concat(parts)), status: st, error: r.in8(PRI + 1), blocks };
    }
    expect(r.in8(PRI + 2) & 3).toBe(2); // data phase to the host
    const n = r.byteCount();
    blocks.push(n);
    parts.push(r.readData(n));
  }
}

async function sense(r: IdeRig): Promise<[number, number, number]> {
  const s = await pio(r, [0x03, 0, 0, 0, 18, 0]);
  return [s.data[2]! & 0xf, s.data[12]!, s.data[13]!];
}

async function cdrom(r: IdeRig, sectors = 64) {
  const iso = pattern(sectors * 2048, 42);
  const img = await r.rawImage('disc.iso', iso, true);
  const drive = r.ide.attachCdrom(0, img, r.file('disc.iso'));
  return { iso, drive };
}

describe('ATAPI CD-ROM', () => {
  it('shows the packet signature, aborts IDENTIFY DEVICE and answers IDENTIFY PACKET DEVICE', async () => {
    rig = new IdeRig();
    await cdrom(rig);
    expect([rig.in8(PRI + 4), rig.in8(PRI + 5)]).toEqual([0x14, 0xeb]);
    rig.select(0);
    rig.out8(PRI + 7, 0xec);
    expect(rig.status() & ST_ERR).toBe(ST_ERR);
    expect([rig.in8(PRI + 4), rig.in8(PRI + 5)]).toEqual([0x14, 0xeb]);
    rig.out8(PRI + 7, 0xa1);
    const id = rig.readData(512);
    expect(id[0]! | (id[1]! << 8)).toBe(0x85c0);
    expect(String.fromCharCode(...Array.from({ length: 14 }, (_, i) => id[54 + (i ^ 1)]!))).toBe('HANGAR DVD-ROM');
  });

  it('INQUIRY describes a removable CD/DVD device; READ CAPACITY gives the last LBA and 2048-byte blocks', async () => {
    rig = new IdeRig();
    await cdrom(rig, 300);
    const inq = await pio(rig, [0x12, 0, 0, 0, 36, 0]);
    expect(inq.data.length).toBe(36);
    expect(inq.data[0]).toBe(0x05);
    expect(inq.data[1]).toBe(0x80);
    expect(Buffer.from(inq.data.subarray(8, 16)).toString()).toBe('HANGAR  ');
    // A disc present at power-on is no news: no UNIT ATTENTION.
    const cap = await pio(rig, [0x25]);
    expect(cap.status & ST_ERR).toBe(0);
    expect(Buffer.from(cap.data).readUInt32BE(0)).toBe(299);
    expect(Buffer.from(cap.data).readUInt32BE(4)).toBe(2048);
  });

  it('READ(10) by PIO in byte-count-limited blocks returns the image bytes; READ(12) too', async () => {
    rig = new IdeRig();
    const { iso, drive } = await cdrom(rig);
    await pio(rig, [0x00]); // consume the unit attention
    const r = await pio(rig, [0x28, 0, 0, 0, 0, 5, 0, 0, 3, 0], 0x1000);
    expect(r.status & ST_ERR).toBe(0);
    expect(r.blocks).toEqual([4096, 2048]);
    expect(r.data).toEqual(iso.subarray(5 * 2048, 8 * 2048));
    const r12 = await pio(rig, [0xa8, 0, 0, 0, 0, 63, 0, 0, 0, 1]);
    expect(r12.data).toEqual(iso.subarray(63 * 2048));
    expect(drive.counters).toEqual({ readBytes: 4 * 2048, writeBytes: 0, readOps: 2, writeOps: 0 });
  });

  it('READ(10) past the end is ILLEGAL REQUEST / LBA out of range', async () => {
    rig = new IdeRig();
    await cdrom(rig, 16);
    await pio(rig, [0x00]);
    const r = await pio(rig, [0x28, 0, 0, 0, 0, 15, 0, 0, 2, 0]);
    expect(r.status & ST_ERR).toBe(ST_ERR);
    expect(r.error >> 4).toBe(5);
    expect(await sense(rig)).toEqual([5, 0x21, 0]);
  });

  it('READ(10) by DMA lands in RAM through the PRD table', async () => {
    rig = new IdeRig();
    const { iso } = await cdrom(rig);
    await pio(rig, [0x00]);
    rig.prd(0x8000, [[0x50000, 4096]]);
    rig.out32(BM + 4, 0x8000);
    rig.packet([0x28, 0, 0, 0, 0, 10, 0, 0, 2, 0], { dma: true });
    rig.out8(BM, 0x09);
    await rig.ide.drain();
    expect(rig.irq14.level).toBe(true);
    expect(rig.status() & (ST_ERR | ST_DRQ)).toBe(0);
    expect(rig.in8(PRI + 2) & 3).toBe(3);
    expect(rig.memory.readBytes(0x50000, 4096)).toEqual(iso.subarray(10 * 2048, 12 * 2048));
  });

  it('eject and insert while running: NOT READY without a disc, UNIT ATTENTION and media events on change', async () => {
    rig = new IdeRig();
    const { drive } = await cdrom(rig);
    const gesn = async () => (await pio(rig, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0])).data;
    expect(Array.from((await gesn()).subarray(2, 6))).toEqual([0x04, 0x10, 0, 0x02]); // no event, media present
    const old = drive.eject();
    await old?.close();
    expect(Array.from((await gesn()).subarray(4, 6))).toEqual([3, 0x00]); // removal, no media
    const tur = await pio(rig, [0x00]);
    expect(tur.status & ST_ERR).toBe(ST_ERR);
    expect(await sense(rig)).toEqual([6, 0x28, 0]);
    expect((await pio(rig, [0x00])).status & ST_ERR).toBe(ST_ERR);
    expect(await sense(rig)).toEqual([2, 0x3a, 0]);
    expect(await sense(rig)).toEqual([0, 0, 0]);
    const iso2 = pattern(20 * 2048, 77);
    drive.insert(await rig.rawImage('other.iso', iso2, true), rig.file('other.iso'));
    expect((await pio(rig, [0x00])).status & ST_ERR).toBe(ST_ERR);
    expect(await sense(rig)).toEqual([6, 0x28, 0]);
    expect((await pio(rig, [0x00])).status & ST_ERR).toBe(0);
    expect((await gesn())[4]).toBe(2); // new media
    expect((await gesn())[4]).toBe(0); // reported once
    const r = await pio(rig, [0x28, 0, 0, 0, 0, 19, 0, 0, 1, 0]);
    expect(r.data).toEqual(iso2.subarray(19 * 2048));
  });

  it('PREVENT MEDIUM REMOVAL makes a guest eject fail; ALLOW lets START STOP UNIT eject the disc', async () => {
    rig = new IdeRig();
    const { drive } = await cdrom(rig);
    await pio(rig, [0x00]);
    await pio(rig, [0x1e, 0, 0, 0, 1, 0]);
    const denied = await pio(rig, [0x1b, 0, 0, 0, 0x02, 0]);
    expect(denied.status & ST_ERR).toBe(ST_ERR);
    expect(await sense(rig)).toEqual([5, 0x53, 0x02]);
    expect(drive.medium).toBeDefined();
    await pio(rig, [0x1e, 0, 0, 0, 0, 0]);
    const ok = await pio(rig, [0x1b, 0, 0, 0, 0x02, 0]);
    expect(ok.status & ST_ERR).toBe(0);
    expect(drive.medium).toBeUndefined();
    expect(drive.ejected.length).toBe(1);
  });

  it('MODE SENSE(10) page 2Ah, GET CONFIGURATION and READ TOC describe the drive and the disc', async () => {
    rig = new IdeRig();
    await cdrom(rig, 1000);
    await pio(rig, [0x00]);
    const ms = await pio(rig, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128, 0]);
    expect(ms.data.length).toBe(28);
    expect(ms.data[8]).toBe(0x2a);
    expect(ms.data[9]).toBe(18);
    const bad = await pio(rig, [0x5a, 0, 0x05, 0, 0, 0, 0, 0, 128, 0]);
    expect(bad.status & ST_ERR).toBe(ST_ERR);
    const cfg = await pio(rig, [0x46, 0, 0, 0, 0, 0, 0, 0, 255, 0]);
    expect(Buffer.from(cfg.data).readUInt16BE(6)).toBe(0x0008); // CD-ROM profile current
    expect(Buffer.from(cfg.data).readUInt32BE(0)).toBe(cfg.data.length - 4);
    const one = await pio(rig, [0x46, 2, 0, 1, 0, 0, 0, 0, 255, 0]);
    expect(one.data.length).toBe(8 + 12);
    expect(Buffer.from(one.data).readUInt16BE(8)).toBe(1);
    const toc = await pio(rig, [0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0]);
    expect(Buffer.from(toc.data).readUInt16BE(0)).toBe(18);
    expect(toc.data[14]).toBe(0xaa);
    expect(Buffer.from(toc.data).readUInt32BE(16)).toBe(1000);
    const msf = await pio(rig, [0x43, 2, 0, 0, 0, 0, 0, 0, 100, 0]);
    expect(Array.from(msf.data.subarray(17, 20))).toEqual([0, 15, 25]); // 1150 frames = 00:15:25
    const unknown = await pio(rig, [0xd9]);
    expect(unknown.status & ST_ERR).toBe(ST_ERR);
    expect(await sense(rig)).toEqual([5, 0x20, 0]);
  });

  it('an empty drive answers INQUIRY but READ CAPACITY is NOT READY / medium not present', async () => {
    rig = new IdeRig();
    rig.ide.attachCdrom(0);
    expect((await pio(rig, [0x12, 0, 0, 0, 36, 0])).data[0]).toBe(5);
    const r = await pio(rig, [0x25]);
    expect(r.status & (ST_ERR | ST_DRDY)).toBe(ST_ERR | ST_DRDY);
    expect(await sense(rig)).toEqual([2, 0x3a, 0]);
  });
});
