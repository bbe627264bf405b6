// A library VM on Hangar's own engine with a qcow2 disk and the guest kit's ISO on the PIIX3
// IDE controller. The stock Debian kernel boots with the kit's driver modules appended to the
// initramfs (its /init loads ata_piix, sd_mod, sr_mod, isofs), then, through the serial shell:
// the guest reads the disk and the CD (md5sum of known bytes), mounts the ISO, writes to the
// disk; the CD is taken out and put back while it runs (detach-media / attach-media), and
// query-stats counts the disk traffic. After power-off the qcow2 image holds exactly the
// original bytes plus the guest's write (qemu-img compare against the expected raw image, a
// read through our own BlockDevice, qemu-img check).
//
// One interpreted Linux boot covers everything: it takes minutes on a shared machine (first
// passing run: 2575 s wall, load average 13-17 on 2 cores, the VM process getting ~10% of a
// core; most of it the kernel boot and initramfs unpack, not disk I/O).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGuestKit, guestKitModules } from '../../../scripts/guest-kit.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import { ControlClient } from '../../../src-core/vmm/control-client.ts';
import { DEMO_CMDLINE, demoKernel } from '../../../src-core/vmm/demo-vm.ts';
import type { StatsSample } from '../../../src-core/vmm/stats.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { tempLibrary, waitForEvent } from '../../unit/vmm/helpers.ts';
import { guestShell } from '../../helpers/guest-shell.ts';

const MIN = 60_000;
const PROMPT = 'hangar-guest# ';
const DISK_BYTES = 64 * 1024 * 1024;
const DATA_BYTES = 4 * 1024 * 1024;
const WRITE_SECTOR = 8192;
const WRITTEN = 'HANGAR-DISK-WRITE-42';

const lib = tempLibrary();
const manager = new VmManager(lib);
afterAll(() => manager.shutdown(), 60_000);

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Known disk contents: a seeded byte pattern in the first 4 MiB, zeros after. */
function diskPattern(): Uint8Array {
  const out = new Uint8Array(DISK_BYTES);
  let x = 0x2545f491;
  for (let i = 0; i < DATA_BYTES; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('IDE disk and CD-ROM in a Linux guest on the Hangar engine', () => {
  it('reads and writes a qcow2 disk, reads and mounts the ISO, survives eject and insert, counts disk I/O', async () => {
    const kit = await ensureGuestKit();
    const dir = mkdtempSync(join(tmpdir(), 'hangar-ide-guest-'));
    // Initramfs with the driver modules appended (the kernel unpacks both archives).
    const initrd = join(dir, 'initrd.cpio.gz');
    writeFileSync(initrd, Buffer.concat([readFileSync(kit.initramfs), readFileSync(guestKitModules(kit))]));
    // The disk: known bytes, converted to qcow2 by qemu-img (an independent writer).
    const original = diskPattern();
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, original);
    const disk = join(dir, 'disk.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, disk]);
    const iso = readFileSync(kit.iso);

    const { path, config } = await lib.create({
      name: 'IDE Guest', osType: 'Linux_64', memoryMiB: 256,
      customize: (c) => {
        c.firmware = { type: 'linux', kernel: demoKernel(kit), initrd, cmdline: DEMO_CMDLINE };
        c.bootOrder = [];
        c.network = [];
        c.display.controller = 'none';
        c.serial = [];
        c.storage = [{
          name: 'IDE', type: 'ide', attachments: [
            { port: 0, type: 'disk', path: disk, format: 'qcow2' },
            { port: 2, type: 'optical', path: kit.iso },
          ],
        }];
      },
    });
    const files = vmFiles(path, config.uuid);
    const started = await manager.start(config.name);
    expect(started.state).toBe('Running');
    const c = await ControlClient.connect(files.socket);
    const con = guestShell(c);
    await c.subscribe(['serial', 'state', 'panic'], { backlog: true });
    await con.waitFor(PROMPT, 0, 60 * MIN);
    expect(con.text()).toContain('HANGAR-MODULES-LOADED');
    expect(con.text()).toMatch(/ata\d+\.00: ATA-\d+: HANGAR HARDDISK/);
    expect(con.text()).toMatch(/ata\d+\.00: ATAPI: HANGAR DVD-ROM/);

    // Reads: the disk's first MiB and the CD's first 128 KiB, bytes as the host has them.
    const sizes = await con.run('cat /sys/block/sda/size /sys/block/sr0/size');
    expect(sizes).toContain(`${DISK_BYTES / 512}`);
    expect(sizes).toContain(`${iso.length / 512}`);
    expect(await con.run('dd if=/dev/sda bs=4096 count=256 2>/dev/null | md5sum')).toContain(md5(original.subarray(0, 1 << 20)));
    expect(await con.run('dd if=/dev/sr0 bs=2048 count=64 2>/dev/null | md5sum')).toContain(md5(iso.subarray(0, 128 * 1024)));
    const listing = await con.run('mkdir -p /mnt && mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt && umount /mnt');
    expect(listing).toContain('isolinux');

    // A write, flushed by sync (FLUSH CACHE), then read back past the page cache.
    await con.run(`printf HANGAR-DISK-WRITE-%s 42 > /tmp/w && dd if=/tmp/w of=/dev/sda bs=512 seek=${WRITE_SECTOR} conv=sync 2>/dev/null && sync`);
    const back = await con.run(`echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/sda bs=512 skip=${WRITE_SECTOR} count=1 2>/dev/null | head -c 20; echo`);
    expect(back).toContain(WRITTEN);

    // Take the CD out while the guest runs: it sees an empty drive; put it back: it reads again.
    const removed = await c.request<{ removed: string }>('detach-media', { controller: 'IDE', port: 2 });
    expect(removed.removed).toBe(kit.iso);
    expect(await con.run('dd if=/dev/sr0 bs=2048 count=1 of=/dev/null')).toMatch(/No medium found/);
    const inserted = await c.request<{ path: string }>('attach-media', { controller: 'IDE', port: 2, path: kit.iso });
    expect(inserted.path).toBe(kit.iso);
    // The first open after a change may still be settling the UNIT ATTENTION: allow one retry.
    let again = await con.run('dd if=/dev/sr0 bs=2048 count=64 2>/dev/null | md5sum');
    if (!again.includes(md5(iso.subarray(0, 128 * 1024)))) again = await con.run('dd if=/dev/sr0 bs=2048 count=64 2>/dev/null | md5sum');
    expect(again).toContain(md5(iso.subarray(0, 128 * 1024)));
    await expect(c.request('attach-media', { controller: 'IDE', port: 0, path: kit.iso })).rejects.toThrow(/hard disk; only optical drives/);

    // Statistics: the disk traffic the guest caused (reads of >= 1 MiB + 256 KiB, one write at least).
    await new Promise((r) => setTimeout(r, 1500));
    const stats = await c.request<{ current: StatsSample }>('query-stats');
    expect(stats.current.disk).not.toBeNull();
    expect(stats.current.disk!.readBytes).toBeGreaterThanOrEqual((1 << 20) + 256 * 1024);
    expect(stats.current.disk!.readOps).toBeGreaterThan(0);
    expect(stats.current.disk!.writeBytes).toBeGreaterThanOrEqual(512);
    expect(stats.current.disk!.writeOps).toBeGreaterThan(0);

    const off = waitForEvent(c, (ev) => ev.event === 'state' && ev.state === 'PoweredOff', 5 * MIN);
    await c.request('poweroff');
    await off;
    await started.vm!.exited;

    // The image now holds the original bytes with the guest's sector, nothing else changed.
    const expected = original.slice();
    const sector = new Uint8Array(512);
    sector.set(Buffer.from(WRITTEN));
    expected.set(sector, WRITE_SECTOR * 512);
    const expectedRaw = join(dir, 'expected.raw');
    writeFileSync(expectedRaw, expected);
    const cmp = execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', expectedRaw, disk], { encoding: 'utf8' });
    expect(cmp).toContain('Images are identical');
    execFileSync('qemu-img', ['check', '-f', 'qcow2', disk]);
    const img = await openImage(disk, 'qcow2', { readOnly: true });
    try {
      const got = new Uint8Array(512);
      await img.read(got, WRITE_SECTOR * 512);
      expect(Buffer.from(got.subarray(0, WRITTEN.length)).toString()).toBe(WRITTEN);
    } finally {
      await img.close();
    }
  }, 120 * MIN);
});
