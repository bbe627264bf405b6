// The VMM's storage wiring on a real Machine (no guest running): configured media land on the
// IDE positions, media of unemulated controllers take the free ones, optical media change at
// run time, errors name what was wrong, and closing flushes the images.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import type { AtaDisk } from '../../../src-core/engine/devices/ata-disk.ts';
import type { AtapiCdrom } from '../../../src-core/engine/devices/atapi-cdrom.ts';
import { Machine } from '../../../src-core/engine/machine.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';
import { VmStorage } from '../../../src-core/vmm/engines/vm-storage.ts';
import { tempLibrary } from '../vmm/helpers.ts';
import { pattern } from './ide-rig.ts';

let storage: VmStorage | undefined;
afterEach(async () => {
  await storage?.close();
  storage = undefined;
});

function machine(): Machine {
  return new Machine({ memoryMiB: 16, createCpu: ({ memory, io }) => new Cpu(memory, io) });
}

async function setup(storageCfg: (dir: string) => MachineConfig['storage']) {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-vmstorage-'));
  const lib = tempLibrary();
  const { path, config } = await lib.create({
    name: `S${Math.random().toString(36).slice(2, 8)}`, osType: 'Other_64', memoryMiB: 16,
    customize: (c) => {
      c.network = [];
      c.display.controller = 'none';
      c.storage = storageCfg(dir);
    },
  });
  return { dir, path, config };
}

describe('VM storage wiring (VmStorage)', () => {
  it('places IDE media by port and SATA media on the free positions, with a warning; a qcow2 disk reads its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-vmstorage-'));
    const data = pattern(1024 * 1024, 9);
    writeFileSync(join(dir, 'd.raw'), data);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(dir, 'd.raw'), join(dir, 'd.qcow2')]);
    writeFileSync(join(dir, 'cd.iso'), pattern(40 * 2048, 3));
    const { path, config } = await setup(() => [
      { name: 'SATA', type: 'sata', attachments: [{ port: 0, type: 'disk', path: join(dir, 'd.qcow2'), format: 'qcow2' }] },
      { name: 'IDE', type: 'ide', attachments: [{ port: 2, type: 'optical', path: join(dir, 'cd.iso') }] },
    ]);
    const m = machine();
    storage = await VmStorage.open(m, config, path);
    expect(storage.drives.map((d) => [d.controller, d.port, d.position, d.type])).toEqual([['IDE', 2, 2, 'optical'], ['SATA', 0, 0, 'disk']]);
    expect(storage.warnings.join('\n')).toMatch(/SATA port 0 .*no sata controller yet; attached to the IDE primary master/);
    expect(storage.describe()).toHaveLength(2);
    const disk = m.ide.drive(0) as AtaDisk;
    expect(disk.kind).toBe('disk');
    const got = new Uint8Array(4096);
    await disk.block.read(got, 8192);
    expect(got).toEqual(data.subarray(8192, 8192 + 4096));
    expect((m.ide.drive(2) as AtapiCdrom).sectors).toBe(40);
    expect(storage.counters()).toEqual({ readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 });
  });

  it('a VM without drives reports no disk counters (null)', async () => {
    const { path, config } = await setup(() => []);
    storage = await VmStorage.open(machine(), config, path);
    expect(storage.counters()).toBeNull();
  });

  it('attach-media / detach-media change the disc; errors name the drive, the file or the problem', async () => {
    const { dir, path, config } = await setup((d) => {
      writeFileSync(join(d, 'disk.img'), new Uint8Array(64 * 1024));
      return [{ name: 'IDE', type: 'ide', attachments: [
        { port: 0, type: 'disk', path: join(d, 'disk.img'), format: 'raw' },
        { port: 3, type: 'optical', path: '' },
      ] }];
    });
    void dir;
    const m = machine();
    storage = await VmStorage.open(m, config, path);
    const cd = m.ide.drive(3) as AtapiCdrom;
    expect(cd.medium).toBeUndefined();
    const isoDir = mkdtempSync(join(tmpdir(), 'hangar-iso-'));
    writeFileSync(join(isoDir, 'a.iso'), pattern(10 * 2048, 1));
    writeFileSync(join(isoDir, 'odd.bin'), new Uint8Array(3000));
    const r = await storage.attachMedia('IDE', 3, join(isoDir, 'a.iso'));
    expect(r).toEqual({ controller: 'IDE', port: 3, path: join(isoDir, 'a.iso'), replaced: '' });
    expect(cd.sectors).toBe(10);
    expect(cd.mediumPath).toBe(join(isoDir, 'a.iso'));
    await expect(storage.attachMedia('IDE', 0, join(isoDir, 'a.iso'))).rejects.toThrow(/IDE port 0 is a hard disk; only optical drives/);
    await expect(storage.attachMedia('IDE', 1, join(isoDir, 'a.iso'))).rejects.toThrow(/no drive at controller "IDE" port 1; attached drives: IDE port 0 \(disk\), IDE port 3 \(optical\)/);
    await expect(storage.attachMedia('IDE', 3, join(isoDir, 'missing.iso'))).rejects.toThrow(/cannot open .*missing.iso/);
    await expect(storage.attachMedia('IDE', 3, join(isoDir, 'odd.bin'))).rejects.toThrow(/3000 bytes, not a whole number of 2048-byte CD sectors/);
    expect(cd.sectors).toBe(10); // failed attaches leave the disc in place
    expect(await storage.detachMedia('IDE', 3)).toEqual({ controller: 'IDE', port: 3, removed: join(isoDir, 'a.iso') });
    expect(cd.medium).toBeUndefined();
  });

  it('a missing disk image fails the start with the controller, port and path', async () => {
    const { path, config } = await setup((d) => [{ name: 'IDE', type: 'ide', attachments: [{ port: 0, type: 'disk', path: join(d, 'nope.qcow2'), format: 'qcow2' }] }]);
    await expect(VmStorage.open(machine(), config, path)).rejects.toThrow(/storage IDE port 0: cannot open disk .*nope.qcow2/);
  });

  it('restoreMedia puts back the disc a saved state had in the drive', async () => {
    const isoDir = mkdtempSync(join(tmpdir(), 'hangar-iso-'));
    writeFileSync(join(isoDir, 'a.iso'), pattern(4 * 2048, 1));
    writeFileSync(join(isoDir, 'b.iso'), pattern(6 * 2048, 2));
    const { path, config } = await setup(() => [{ name: 'IDE', type: 'ide', attachments: [{ port: 2, type: 'optical', path: join(isoDir, 'a.iso') }] }]);
    const m1 = machine();
    const s1 = await VmStorage.open(m1, config, path);
    await s1.attachMedia('IDE', 2, join(isoDir, 'b.iso'));
    const saved = structuredClone(m1.saveState({ ram: false }));
    await s1.close();
    const m2 = machine();
    storage = await VmStorage.open(m2, config, path);
    expect((m2.ide.drive(2) as AtapiCdrom).sectors).toBe(4);
    await storage.restoreMedia(saved);
    m2.loadState(saved);
    expect((m2.ide.drive(2) as AtapiCdrom).sectors).toBe(6);
    expect(storage.drives[0]!.path).toBe(join(isoDir, 'b.iso'));
  });
});
