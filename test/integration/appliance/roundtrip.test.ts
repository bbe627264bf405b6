// Export → import through real files: the OVA is checked with GNU tar, the VMDKs with qemu-img
// check and vmdkinfo, the descriptor with Python's expat, and the disks with qemu-img compare.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportAppliance } from '../../../src-core/appliance/export.ts';
import { importAppliance } from '../../../src-core/appliance/import.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';
import { Library } from '../../../src-core/library/library.ts';
import { cleanup, isWellFormedByExpat, leftovers, makeDataDisk, qemuImg, tempDir, vmWithDisks } from './helpers.ts';

const root = tempDir('appliance-rt');
afterAll(() => cleanup(root));

function withoutDiskPaths(c: MachineConfig): MachineConfig {
  const copy = structuredClone(c);
  for (const ctl of copy.storage) for (const a of ctl.attachments) if (a.type === 'disk') a.path = '';
  return copy;
}

describe('appliance round trip', () => {
  const srcLib = new Library(join(root, 'src-home'));
  let vm: { path: string; disks: string[] };
  const ova = join(root, 'out', 'web.ova');

  it('exports a VM with two disks to an OVA that GNU tar, qemu-img, vmdkinfo and expat accept', async () => {
    vm = await vmWithDisks(srcLib, 'web', 2);
    mkdirSync(join(root, 'out'));
    const phases = new Set<string>();
    const res = await exportAppliance({ library: srcLib, machines: ['web'], output: ova, product: { vendor: 'ACME', product: 'Web', version: '2.1', eula: 'No warranty.' }, onProgress: (p) => phases.add(p) });
    expect(res.files.map((f) => f.name)).toEqual(['web.ovf', 'web.mf', 'web-disk1.vmdk', 'web-disk2.vmdk']);
    expect([...phases]).toContain('disk 1/2 (web)');
    const listing = execFileSync('tar', ['-tf', ova], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(['web.ovf', 'web.mf', 'web-disk1.vmdk', 'web-disk2.vmdk']);
    const unpacked = join(root, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-C', unpacked, '-xf', ova]);
    expect(isWellFormedByExpat(join(unpacked, 'web.ovf'))).toBe('ok');
    for (let i = 0; i < 2; i++) {
      const vmdk = join(unpacked, `web-disk${i + 1}.vmdk`);
      expect(qemuImg('check', vmdk).status).toBe(0);
      const info = spawnSync('vmdkinfo', [vmdk], { encoding: 'utf8' });
      expect(info.status).toBe(0);
      expect(info.stdout).toMatch(/Stream optimized/);
      expect(qemuImg('compare', '-f', 'qcow2', '-F', 'vmdk', vm.disks[i]!, vmdk).status).toBe(0);
      // VMware's layout: version 3 header, compressed grains, footer.
      expect(readFileSync(vmdk).readUInt32LE(4)).toBe(3);
    }
    const mf = readFileSync(join(unpacked, 'web.mf'), 'utf8');
    const sums = execFileSync('sha256sum', ['web.ovf', 'web-disk1.vmdk', 'web-disk2.vmdk'], { cwd: unpacked, encoding: 'utf8' });
    for (const line of sums.trim().split('\n')) {
      const [hex, file] = line.split(/\s+/);
      expect(mf).toContain(`SHA256(${file})= ${hex}`);
    }
  });

  it('imports the OVA into another library: same configuration, identical disks', async () => {
    const dstLib = new Library(join(root, 'dst-home'));
    const res = await importAppliance({ file: ova, library: dstLib });
    expect(res.registered).toHaveLength(1);
    const src = await srcLib.get('web');
    const dst = await dstLib.get('web');
    expect(withoutDiskPaths(dst.config)).toEqual(withoutDiskPaths(src.config));
    expect(dst.config.uuid).toBe(src.config.uuid);
    const disks = dst.config.storage[0]!.attachments.filter((a) => a.type === 'disk');
    expect(disks.map((a) => [a.path, a.format])).toEqual([['web-disk1.qcow2', 'qcow2'], ['web-disk2.qcow2', 'qcow2']]);
    for (let i = 0; i < 2; i++) {
      expect(qemuImg('compare', '-s', vm.disks[i]!, join(dst.path, '..', disks[i]!.path)).out).toMatch(/identical/);
    }
  });

  it('imports the unpacked folder (.ovf) too, into VDI with a new name and UUID', async () => {
    const lib = new Library(join(root, 'dst2-home'));
    const res = await importAppliance({ file: join(root, 'unpacked', 'web.ovf'), library: lib, name: 'web-copy', newUuid: true, diskFormat: 'vdi' });
    expect(res.plans[0]!.plan.report.of('adjusted').map((e) => e.subject)).toEqual(['UUID']);
    const dst = await lib.get('web-copy');
    const src = await srcLib.get('web');
    expect(dst.config.uuid).not.toBe(src.config.uuid);
    expect(dst.config.network[0]!.mac).not.toBe(src.config.network[0]!.mac);
    const d = dst.config.storage[0]!.attachments[0]!;
    expect(d).toMatchObject({ path: 'web-copy-disk1.vdi', format: 'vdi' });
    expect(qemuImg('compare', '-f', 'qcow2', '-F', 'vdi', vm.disks[0]!, join(dst.path, '..', d.path)).status).toBe(0);
  });

  it('a second import of the same appliance is refused (name and UUID taken) and leaves the library as it was', async () => {
    const lib = new Library(join(root, 'dst-home'));
    const before = await leftovers(lib);
    await expect(importAppliance({ file: ova, library: lib })).rejects.toThrow(/a VM named "web" is already registered; import with --name/);
    await expect(importAppliance({ file: ova, library: lib, name: 'other' })).rejects.toThrow(/UUID .* is already registered; import with --new-uuid/);
    expect(await leftovers(lib)).toEqual(before);
  });

  it('OVF 2.0 and several VMs: a VirtualSystemCollection; --vsys picks one; without a manifest', async () => {
    await vmWithDisks(srcLib, 'db', 1);
    const out = join(root, 'out', 'pair.ova');
    await exportAppliance({ library: srcLib, machines: ['web', 'db'], output: out, ovf20: true, manifest: false });
    expect(execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n')).toEqual(['pair.ovf', 'pair-disk1.vmdk', 'pair-disk2.vmdk', 'pair-disk3.vmdk']);
    const text = execFileSync('tar', ['-xOf', out, 'pair.ovf'], { encoding: 'utf8' });
    expect(text).toContain('xmlns="http://schemas.dmtf.org/ovf/envelope/2"');
    expect(text).toContain('<ovf:VirtualSystemCollection');
    expect(text).toContain('<ovf:StorageItem>');
    const lib = new Library(join(root, 'pair-home'));
    const dry = await importAppliance({ file: out, library: lib, dryRun: true });
    expect(dry.plans.map((p) => p.plan.config.name)).toEqual(['web', 'db']);
    expect(await leftovers(lib)).toEqual([]);
    const one = await importAppliance({ file: out, library: lib, vsys: 1 });
    expect(one.registered).toHaveLength(1);
    const db = await lib.get('db');
    const srcDb = await srcLib.get('db');
    expect(qemuImg('compare', join(srcDb.path, '..', 'd0.qcow2'), join(db.path, '..', 'db-disk1.qcow2')).status).toBe(0);
    const both = await importAppliance({ file: out, library: new Library(join(root, 'pair2-home')) });
    expect(both.registered).toHaveLength(2);
  });

  it('the OVF form writes the descriptor, manifest and disks beside each other', async () => {
    const out = join(root, 'ovfout');
    mkdirSync(out);
    await exportAppliance({ library: srcLib, machines: ['db'], output: join(out, 'db.ovf') });
    expect(execFileSync('ls', [out], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['db-disk1.vmdk', 'db.mf', 'db.ovf']);
    await expect(exportAppliance({ library: srcLib, machines: ['db'], output: join(out, 'db.ovf') })).rejects.toThrow(/already exists/);
  });

  it('a VDI disk comes back as VDI (each disk keeps its format unless --disk-format says otherwise)', async () => {
    const { path } = await srcLib.create({ name: 'vd', osType: 'Other_64' });
    const q = join(root, 'vd.qcow2');
    makeDataDisk(q, '48M', [[0x7e, '3M', '1M']]);
    execFileSync('qemu-img', ['convert', '-O', 'vdi', q, join(path, '..', 'vd.vdi')]);
    await srcLib.modify('vd', (c) => c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'vd.vdi', format: 'vdi' }));
    const out = join(root, 'out', 'vd.ova');
    await exportAppliance({ library: srcLib, machines: ['vd'], output: out });
    const lib = new Library(join(root, 'vd-home'));
    await importAppliance({ file: out, library: lib });
    const vm = await lib.get('vd');
    expect(withoutDiskPaths(vm.config)).toEqual(withoutDiskPaths((await srcLib.get('vd')).config));
    expect(vm.config.storage[0]!.attachments[0]).toMatchObject({ path: 'vd-disk1.vdi', format: 'vdi' });
    expect(qemuImg('compare', '-f', 'qcow2', '-F', 'vdi', q, join(vm.path, '..', 'vd-disk1.vdi')).status).toBe(0);
  });
});
