// Every real descriptor under ../shared/fixtures/ovf imports with small generated disks (or,
// for invalid.ovf, is refused clearly), from the folder and as an OVA, and its report is checked.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importAppliance } from '../../../src-core/appliance/import.ts';
import { parseOvf } from '../../../src-core/appliance/ovf-parse.ts';
import { Library } from '../../../src-core/library/library.ts';
import { fixture, fixtureDir } from '../../unit/appliance/fixtures.ts';
import { cleanup, leftovers, makeDataDisk, qemuImg, streamVmdkFrom, tempDir } from './helpers.ts';

const root = tempDir('appliance-fx');
afterAll(() => cleanup(root));

/** A folder holding the fixture descriptor and a streamOptimized VMDK for each referenced disk. */
async function stage(name: string): Promise<{ dir: string; ovf: string; sources: Map<string, string> }> {
  const dir = join(root, name.replace(/\.ovf$/, ''));
  mkdirSync(dir, { recursive: true });
  const ovf = join(dir, name);
  copyFileSync(join(fixtureDir(), name), ovf);
  const env = parseOvf(fixture(name), name);
  const sources = new Map<string, string>();
  for (const d of env.disks) {
    const file = env.files.find((f) => f.id === d.fileRef)!;
    const src = join(root, `${name}-${d.diskId}.qcow2`);
    makeDataDisk(src, String(d.capacity), [[0x33, '0', '512k'], [0x77, '5M', '1M']]);
    const dst = join(dir, file.href);
    // Where the descriptor declares a file size, the VMDK must fit in it: Hangar's writer keeps
    // empty grain tables out of the file; otherwise QEMU's writer makes the disk.
    if (file.size !== undefined) await streamVmdkFrom(src, dst);
    else execFileSync('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src, dst]);
    sources.set(d.diskId, src);
  }
  return { dir, ovf, sources };
}

function ova(dir: string, members: string[], out: string): string {
  execFileSync('tar', ['-C', dir, '--format=ustar', '-cf', out, ...members]);
  return out;
}

const expected: Record<string, { cpus: number; memoryMiB: number; osType: string; dropped: string[]; nics: number }> = {
  'vmware.ovf': { cpus: 2, memoryMiB: 1536, osType: 'Linux_64', dropped: ['item 7 (VMCI device)', 'product properties'], nics: 4 },
  'v0.9.ovf': { cpus: 1, memoryMiB: 8192, osType: 'Linux_64', dropped: ['item 3 (usb)'], nics: 1 },
  'ubuntu.2.0.ovf': { cpus: 1, memoryMiB: 512, osType: 'Ubuntu_64', dropped: ['item 6 (usb)', 'item 7 (sound)', 'vbox:Machine'], nics: 1 },
  'virtualbox-vm.ovf': { cpus: 1, memoryMiB: 512, osType: 'Linux_64', dropped: ['item 6 (sound)', 'vbox:Machine'], nics: 1 },
  'minimal.ovf': { cpus: 1, memoryMiB: 512, osType: 'Other', dropped: [], nics: 0 },
};

describe('fixture descriptors', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`${name} imports from its folder and as an OVA`, async () => {
      const { dir, ovf, sources } = await stage(name);
      if (name === 'ubuntu.2.0.ovf') rmSync(join(dir, 'ubuntu.2.0.mf'), { force: true });
      const env = parseOvf(fixture(name), name);
      for (const [i, file] of [ovf, ova(dir, [name, ...env.files.map((f) => f.href)], join(root, `${name}.ova`))].entries()) {
        const lib = new Library(join(root, `home-${name}-${i}`));
        const res = await importAppliance({ file, library: lib });
        const plan = res.plans[0]!.plan;
        expect(plan.report.of('dropped').map((e) => e.subject)).toEqual(want.dropped);
        const vm = await lib.get(plan.config.name);
        expect(vm.config).toMatchObject({ cpus: want.cpus, memoryMiB: want.memoryMiB, osType: want.osType });
        expect(vm.config.network).toHaveLength(want.nics);
        const attached = vm.config.storage.flatMap((c) => c.attachments).filter((a) => a.type === 'disk');
        expect(attached).toHaveLength(env.disks.length);
        for (const [k, d] of plan.disks.entries()) {
          const imported = join(vm.path, '..', d.target);
          expect(qemuImg('compare', '-s', sources.get(d.disk.diskId)!, imported).status, `${name} disk ${k}`).toBe(0);
        }
      }
    });
  }

  it('ubuntu.2.0 with its real manifest: the descriptor verifies, the generated disk is refused by name', async () => {
    const { ovf } = await stage('ubuntu.2.0.ovf');
    copyFileSync(join(fixtureDir(), 'ubuntu.2.0.mf'), join(ovf, '..', 'ubuntu.2.0.mf'));
    const lib = new Library(join(root, 'home-ubuntu-mf'));
    await expect(importAppliance({ file: ovf, library: lib })).rejects.toThrow(/^ubuntu\.2\.0-disk1\.vmdk: SHA256 digest does not match ubuntu\.2\.0\.mf/);
    expect(await leftovers(lib)).toEqual([]);
  });

  it('invalid.ovf is refused with every problem named, and nothing is written', async () => {
    const dir = join(root, 'invalid');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(fixtureDir(), 'invalid.ovf'), join(dir, 'invalid.ovf'));
    const lib = new Library(join(root, 'home-invalid'));
    const err = await importAppliance({ file: join(dir, 'invalid.ovf'), library: lib }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/invalid OVF descriptor[\s\S]*flash2[\s\S]*nonexistent\.vmdk[\s\S]*Parent 27 is not a controller/);
    expect(await leftovers(lib)).toEqual([]);
  });
});
