// The optional driver archive: dependencies read from the modules' own .modinfo, a load order
// that respects them, and a real boot under QEMU where the guest, given initramfs + modules,
// mounts an ext4 virtio disk, reads an IDE disk through ata_piix and sees the e1000 NIC.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuSession, READY_MARKER } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit, guestKitModules, type GuestKit } from '../../../scripts/guest-kit.ts';
import { GUEST_MODULES, loadOrderPath, moduleDepends, moduleLoadOrder } from '../../../scripts/guest-kit/modules.ts';

const run = promisify(execFile);
const BOOT_TIMEOUT = Number(process.env.HANGAR_GUEST_BOOT_TIMEOUT_MS) || 30_000;
const STEP_TIMEOUT = Math.round(BOOT_TIMEOUT / 2);

let kit: GuestKit;
let files: Map<string, Buffer>;
let tmp: string;

/** Regular files of a newc archive by path. */
function newcFiles(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  for (;;) {
    const h = buf.toString('latin1', off, off + 110);
    const f = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const name = buf.toString('latin1', off + 110, off + 110 + f(11) - 1);
    if (name === 'TRAILER!!!') return out;
    const data = Math.ceil((off + 110 + f(11)) / 4) * 4;
    if ((f(1) & 0o170000) === 0o100000) out.set(name, buf.subarray(data, data + f(6)));
    off = Math.ceil((data + f(6)) / 4) * 4;
  }
}

beforeAll(async () => {
  kit = await ensureGuestKit({ log: () => {} });
  files = newcFiles(gunzipSync(await readFile(guestKitModules(kit))));
  tmp = await mkdtemp(join(tmpdir(), 'hangar-gk-mod-'));
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('guest kit driver modules', () => {
  it('holds every wanted driver and a load order with each module after its dependencies', () => {
    const base = `lib/modules/${kit.kernelVersion}`;
    const order = files.get(loadOrderPath(kit.kernelVersion))!.toString().trim().split('\n');
    const names = order.map((p) => p.slice(p.lastIndexOf('/') + 1, -3));
    for (const m of GUEST_MODULES) expect(names).toContain(m);
    expect(new Set(names).size).toBe(names.length);
    for (const [i, name] of names.entries()) {
      const ko = files.get(`${base}/${name}.ko`)!;
      expect(order[i]).toBe(`/${base}/${name}.ko`);
      for (const dep of moduleDepends(ko, name)) expect(names.indexOf(dep), `${dep} before ${name}`).toBeLessThan(i);
    }
    // Known facts about this kernel's modules, read from their .modinfo.
    expect(moduleDepends(files.get(`${base}/ext4.ko`)!).sort()).toEqual(['crc16', 'jbd2', 'mbcache']);
    expect(moduleDepends(files.get(`${base}/ata_piix.ko`)!)).toEqual(['libata']);
  });

  it('names a missing dependency and the module that needs it; rejects non-modules', () => {
    const base = `lib/modules/${kit.kernelVersion}`;
    const some = new Map([['ext4', files.get(`${base}/ext4.ko`)!], ['crc16', files.get(`${base}/crc16.ko`)!]]);
    expect(() => moduleLoadOrder(['ext4'], some)).toThrow(/kernel module '(jbd2|mbcache)' \(needed by 'ext4'\) is not in the extracted kernel package/);
    expect(moduleLoadOrder(['crc16'], some)).toEqual(['crc16']);
    expect(() => moduleDepends(new TextEncoder().encode('#!/bin/sh\n'.repeat(10)), 'x.ko')).toThrow(/x.ko is not a 64-bit little-endian ELF module/);
  });

  it('a guest booted with initramfs + modules mounts ext4 on virtio, reads IDE and sees the NIC', async () => {
    // Host side: an ext4 image with a known file, and a raw disk with a known first sector.
    const root = join(tmp, 'root');
    await mkdir(root);
    await writeFile(join(root, 'hello.txt'), 'hello from ext4 on virtio\n');
    const ext4 = join(tmp, 'ext4.img');
    await run('mkfs.ext4', ['-q', '-F', '-d', root, ext4, '16M']);
    const raw = join(tmp, 'ide.img');
    const sector = Buffer.alloc(1 << 20);
    sector.write('HANGAR-IDE-SECTOR0', 0, 'latin1');
    await writeFile(raw, sector);
    const initrd = join(tmp, 'initrd');
    await writeFile(initrd, Buffer.concat([await readFile(kit.initramfs), await readFile(guestKitModules(kit))]));

    const s = new QemuSession({
      kernel: kit.kernel,
      initrd,
      append: 'console=ttyS0 panic=-1',
      memoryMiB: 256,
      extraArgs: [
        '-drive', `file=${ext4},if=virtio,format=raw`,
        '-drive', `file=${raw},if=ide,index=0,media=disk,format=raw`,
        '-nic', 'user,model=e1000',
      ],
    });
    try {
      await s.waitFor(READY_MARKER, BOOT_TIMEOUT);
      await s.waitFor('HANGAR-MODULES-LOADED', STEP_TIMEOUT);
      await s.waitFor('hangar-guest# ', STEP_TIMEOUT);
      expect(s.output).not.toContain('could not load');
      let from = s.output.length;
      s.send('mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt; echo EXT4-$((1+1))\n');
      await s.waitFor(/EXT4-2\r?\n/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toContain('\nhello from ext4 on virtio');
      from = s.output.length;
      s.send('head -c 18 /dev/sda; echo; echo IDE-$((2+1))\n');
      await s.waitFor(/IDE-3\r?\n/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toContain('\nHANGAR-IDE-SECTOR0');
      from = s.output.length;
      s.send('basename $(readlink /sys/class/net/eth0/device/driver); echo NIC-$((3+1))\n');
      await s.waitFor(/NIC-4\r?\n/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toMatch(/\ne1000\r?\n/);
    } finally {
      await s.kill();
    }
  });
});
