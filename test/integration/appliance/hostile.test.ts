// Hostile packages are refused with a message naming the problem, and leave nothing behind:
// no VM folder, no registry entry, no temporary file.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAppliance } from '../../../src-core/appliance/import.ts';
import { fileHeader } from '../../../src-core/appliance/tar-header.ts';
import { TarWriter } from '../../../src-core/appliance/tar-write.ts';
import { Library } from '../../../src-core/library/library.ts';
import { cleanup, leftovers, makeDataDisk, qemuImg, streamVmdkFrom, tempDir } from './helpers.ts';

const root = tempDir('appliance-hostile');
afterAll(() => cleanup(root));

const CAPACITY = 16 << 20;
let disk: Buffer;
let source: string;

beforeAll(async () => {
  source = join(root, 'src.qcow2');
  makeDataDisk(source, '16M', [[0x5a, '1M', '1M']]);
  await streamVmdkFrom(source, join(root, 'd.vmdk'));
  disk = readFileSync(join(root, 'd.vmdk'));
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function descriptor(files: { href: string; size?: number; gzip?: boolean }[]): string {
  const refs = files.map((f, i) => `<File ovf:id="f${i}" ovf:href="${f.href}"${f.size !== undefined ? ` ovf:size="${f.size}"` : ''}${f.gzip ? ' ovf:compression="gzip"' : ''}/>`).join('');
  const disks = files.map((_, i) => `<Disk ovf:diskId="d${i}" ovf:fileRef="f${i}" ovf:capacity="${CAPACITY}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`).join('');
  const items = files.map((_, i) => `<Item><rasd:AddressOnParent>${i}</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/d${i}</rasd:HostResource><rasd:InstanceID>${10 + i}</rasd:InstanceID><rasd:Parent>1</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>`).join('');
  return `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
<References>${refs}</References><DiskSection><Info/>${disks}</DiskSection>
<VirtualSystem ovf:id="evil"><Info/><VirtualHardwareSection><Info/>
<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceSubType>AHCI</rasd:ResourceSubType><rasd:ResourceType>20</rasd:ResourceType></Item>${items}
</VirtualHardwareSection></VirtualSystem></Envelope>`;
}

async function tarOf(path: string, members: [name: string, data: Buffer][]): Promise<string> {
  const fh = await open(path, 'w');
  const w = new TarWriter(fh, path);
  for (const [n, d] of members) await w.addBuffer(n, d);
  await w.finish();
  await fh.close();
  return path;
}

let n = 0;
async function refused(file: string, message: RegExp): Promise<void> {
  const lib = new Library(join(root, `home-${n++}`));
  const err = await importAppliance({ file, library: lib }).then(() => undefined, (e: Error) => e);
  expect(err?.message).toMatch(message);
  expect(await leftovers(lib)).toEqual([]);
  if (existsSync(lib.home)) expect(execFileSync('find', [lib.home, '-name', '*.tmp'], { encoding: 'utf8' }).trim()).toBe('');
}

describe('hostile appliances', () => {
  it('the well-formed package these variants start from imports', async () => {
    const ovf = descriptor([{ href: 'd.vmdk', size: disk.length }]);
    const mf = `SHA256(a.ovf)= ${sha(ovf)}\nSHA256(d.vmdk)= ${sha(disk)}\n`;
    const file = await tarOf(join(root, 'good.ova'), [['a.ovf', Buffer.from(ovf)], ['a.mf', Buffer.from(mf)], ['d.vmdk', disk]]);
    const lib = new Library(join(root, 'home-good'));
    const res = await importAppliance({ file, library: lib });
    expect(res.notes).toEqual([]);
    const vm = await lib.get('evil');
    expect(qemuImg('compare', '-s', source, join(vm.path, '..', 'evil-disk1.qcow2')).status).toBe(0);
  });

  it('path traversal and absolute member names', async () => {
    for (const href of ['../d.vmdk', '/tmp/d.vmdk']) {
      const ovf = descriptor([{ href: 'd.vmdk' }]);
      await refused(await tarOf(join(root, 'trav.ova'), [['a.ovf', Buffer.from(ovf)], [href, disk]]), /member "(\.\.\/d\.vmdk|\/tmp\/d\.vmdk)" (contains "\.\."|is an absolute path)/);
    }
    // A descriptor that itself points outside the package.
    await refused(await tarOf(join(root, 'trav2.ova'), [['a.ovf', Buffer.from(descriptor([{ href: '../../etc/passwd' }]))]]), /href "\.\.\/\.\.\/etc\/passwd" contains "\.\."/);
  });

  it('a symbolic link named like the disk (OVA and folder)', async () => {
    const dir = join(root, 'sym');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.ovf'), descriptor([{ href: 'd.vmdk' }]));
    symlinkSync(join(root, 'd.vmdk'), join(dir, 'd.vmdk'));
    execFileSync('tar', ['-C', dir, '-cf', join(root, 'sym.ova'), 'a.ovf', 'd.vmdk']);
    await refused(join(root, 'sym.ova'), /"d\.vmdk" is a symbolic link/);
    await refused(join(dir, 'a.ovf'), /d\.vmdk is a symbolic link/);
  });

  it('a hard link', async () => {
    const dir = join(root, 'hard');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.ovf'), descriptor([{ href: 'd.vmdk' }, { href: 'e.vmdk' }]));
    writeFileSync(join(dir, 'd.vmdk'), disk);
    linkSync(join(dir, 'd.vmdk'), join(dir, 'e.vmdk'));
    execFileSync('tar', ['-C', dir, '-cf', join(root, 'hard.ova'), 'a.ovf', 'd.vmdk', 'e.vmdk']);
    await refused(join(root, 'hard.ova'), /"e\.vmdk" is a hard link/);
  });

  it('duplicate names', async () => {
    const ovf = descriptor([{ href: 'd.vmdk' }]);
    await refused(await tarOf(join(root, 'dup.ova'), [['a.ovf', Buffer.from(ovf)], ['d.vmdk', disk], ['d.vmdk', disk]]), /"d\.vmdk" appears twice/);
  });

  it('a manifest that lies about the disk, and one that lies about the descriptor', async () => {
    const ovf = descriptor([{ href: 'd.vmdk' }]);
    const lie = `SHA256(a.ovf)= ${sha(ovf)}\nSHA256(d.vmdk)= ${sha('something else').toUpperCase()}\n`;
    await refused(await tarOf(join(root, 'lie.ova'), [['a.ovf', Buffer.from(ovf)], ['a.mf', Buffer.from(lie)], ['d.vmdk', disk]]), /^d\.vmdk: SHA256 digest does not match a\.mf/);
    const lie2 = `SHA1 (a.ovf) = ${'0'.repeat(40)}\n`;
    await refused(await tarOf(join(root, 'lie2.ova'), [['a.ovf', Buffer.from(ovf)], ['a.mf', Buffer.from(lie2)], ['d.vmdk', disk]]), /^a\.ovf: SHA1 digest does not match a\.mf/);
    const ghost = `SHA256(a.ovf)= ${sha(ovf)}\nSHA256(d.vmdk)= ${sha(disk)}\nSHA256(ghost.iso)= ${sha('')}\n`;
    await refused(await tarOf(join(root, 'ghost.ova'), [['a.ovf', Buffer.from(ovf)], ['a.mf', Buffer.from(ghost)], ['d.vmdk', disk]]), /ghost\.iso: listed in a\.mf but missing/);
  });

  it('a truncated archive', async () => {
    const ovf = descriptor([{ href: 'd.vmdk' }]);
    const whole = readFileSync(await tarOf(join(root, 'whole.ova'), [['a.ovf', Buffer.from(ovf)], ['d.vmdk', disk]]));
    writeFileSync(join(root, 'cut.ova'), whole.subarray(0, whole.length - 1024 - 512 - 3000));
    await refused(join(root, 'cut.ova'), /truncated archive( or lying header)?: "d\.vmdk" (is cut short|declares \d+ bytes but only)/);
    writeFileSync(join(root, 'cut2.ova'), whole.subarray(0, whole.length - 1024));
    await refused(join(root, 'cut2.ova'), /truncated archive: no end-of-archive marker/);
  });

  it('a declared size far larger than the file, in the tar header and against References', async () => {
    const ovf = Buffer.from(descriptor([{ href: 'd.vmdk' }]));
    const head = await tarOf(join(root, 'head.ova'), [['a.ovf', ovf]]);
    const body = readFileSync(head).subarray(0, -1024); // drop the end-of-archive blocks
    writeFileSync(join(root, 'huge.ova'), Buffer.concat([body, fileHeader('d.vmdk', 40 * 2 ** 30), disk]));
    await refused(join(root, 'huge.ova'), /truncated archive or lying header: "d\.vmdk" declares 42949672960 bytes but only \d+ remain/);
    const small = descriptor([{ href: 'd.vmdk', size: 1000 }]);
    await refused(await tarOf(join(root, 'small.ova'), [['a.ovf', Buffer.from(small)], ['d.vmdk', disk]]), /d\.vmdk is \d+ bytes but the descriptor declares 1000; refusing a file larger than declared/);
  });

  it('files the descriptor does not name, and a descriptor that is not first', async () => {
    const ovf = Buffer.from(descriptor([{ href: 'd.vmdk' }]));
    await refused(await tarOf(join(root, 'extra.ova'), [['a.ovf', ovf], ['run.sh', Buffer.from('#!/bin/sh')], ['d.vmdk', disk]]), /"run\.sh" is not named in the descriptor's References/);
    await refused(await tarOf(join(root, 'order.ova'), [['d.vmdk', disk], ['a.ovf', ovf]]), /the first file must be the \.ovf descriptor, found "d\.vmdk"/);
  });

  it('a gzip-compressed disk (ovf:compression="gzip") imports; a gzip bomb is stopped', async () => {
    const gz = gzipSync(disk);
    const ovf = descriptor([{ href: 'd.vmdk', size: gz.length, gzip: true }]);
    const mf = `SHA256(a.ovf)= ${sha(ovf)}\nSHA256(d.vmdk)= ${sha(gz)}\n`;
    const file = await tarOf(join(root, 'gz.ova'), [['a.ovf', Buffer.from(ovf)], ['a.mf', Buffer.from(mf)], ['d.vmdk', gz]]);
    const lib = new Library(join(root, 'home-gz'));
    await importAppliance({ file, library: lib });
    const vm = await lib.get('evil');
    expect(qemuImg('compare', '-s', source, join(vm.path, '..', 'evil-disk1.qcow2')).status).toBe(0);
    const bomb = gzipSync(Buffer.alloc(CAPACITY * 2 + (80 << 20)));
    const bombOvf = descriptor([{ href: 'd.vmdk', gzip: true }]);
    await refused(await tarOf(join(root, 'bomb.ova'), [['a.ovf', Buffer.from(bombOvf)], ['d.vmdk', bomb]]), /decompresses to more than \d+ bytes/);
  });

  it('a VMDK descriptor whose extent names a host file, and a disk missing from an .ovf folder', async () => {
    const vmdk = Buffer.from('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\nRW 32768 FLAT "/etc/hostname" 0\n\nddb.virtualHWVersion = "4"\n');
    const ovf = descriptor([{ href: 'd.vmdk' }]);
    await refused(await tarOf(join(root, 'extent.ova'), [['a.ovf', Buffer.from(ovf)], ['d.vmdk', vmdk]]), /^d\.vmdk: VMDK extent "\/etc\/hostname" lies outside the image.s folder/);
    const dir = join(root, 'missing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.ovf'), ovf);
    await refused(join(dir, 'a.ovf'), /d\.vmdk: named in References and used by a disk, but missing from the package/);
  });

  it('a certificate is accepted and reported as not verified', async () => {
    const ovf = descriptor([{ href: 'd.vmdk' }]);
    const file = await tarOf(join(root, 'cert.ova'), [['a.ovf', Buffer.from(ovf)], ['a.cert', Buffer.from('-----BEGIN CERTIFICATE-----\n')], ['d.vmdk', disk]]);
    const res = await importAppliance({ file, library: new Library(join(root, 'home-cert')) });
    expect(res.notes).toEqual(['a.cert: the package is signed; the signature was not verified (certificate checking is not implemented)']);
  });

  it('an ISO named in References is copied into the VM folder and attached to its optical drive', async () => {
    const iso = Buffer.alloc(300_000, 0x43);
    const ovf = descriptor([{ href: 'd.vmdk' }]).replace('</References>', '<File ovf:id="iso" ovf:href="tools dir/../x/tools.iso"/></References>')
      .replace('</VirtualHardwareSection>', '<Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:HostResource>ovf:/file/iso</rasd:HostResource><rasd:InstanceID>30</rasd:InstanceID><rasd:Parent>1</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item></VirtualHardwareSection>');
    // An href with ".." is refused outright, whatever it names.
    await refused(await tarOf(join(root, 'isobad.ova'), [['a.ovf', Buffer.from(ovf)], ['d.vmdk', disk]]), /href "tools dir\/\.\.\/x\/tools\.iso" contains "\.\."/);
    const good = ovf.replace('tools dir/../x/tools.iso', 'media/tools &amp; more.iso');
    const file = await tarOf(join(root, 'iso.ova'), [['a.ovf', Buffer.from(good)], ['d.vmdk', disk], ['media/tools & more.iso', iso]]);
    const lib = new Library(join(root, 'home-iso'));
    const res = await importAppliance({ file, library: lib });
    expect(res.plans[0]!.plan.report.of('mapped').map((e) => e.detail)).toContain('optical drive with media/tools & more.iso (copied to evil-tools___more.iso) on SATA port 7');
    const vm = await lib.get('evil');
    expect(vm.config.storage[0]!.attachments.find((a) => a.type === 'optical')).toEqual({ port: 7, type: 'optical', path: 'evil-tools___more.iso' });
    expect(readFileSync(join(vm.path, '..', 'evil-tools___more.iso')).equals(iso)).toBe(true);
    // Named but absent: refused, nothing left.
    await refused(await tarOf(join(root, 'isomissing.ova'), [['a.ovf', Buffer.from(good)], ['d.vmdk', disk]]), /media\/tools & more\.iso: named in References and attached to an optical drive, but missing/);
  });
});
