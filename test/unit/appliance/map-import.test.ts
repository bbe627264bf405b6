import { describe, expect, it } from 'vitest';
import { planImport } from '../../../src-core/appliance/map-import.ts';
import { parseOvf } from '../../../src-core/appliance/ovf-parse.ts';
import type { MappingReport } from '../../../src-core/appliance/report.ts';
import { validateConfig } from '../../../src-core/library/validate.ts';
import { fixture } from './fixtures.ts';

function plan(name: string, opts: Partial<Parameters<typeof planImport>[2]> = {}) {
  const env = parseOvf(fixture(name), name);
  return planImport(env, env.systems[0]!, { diskFormat: 'qcow2', ...opts });
}

const subjects = (r: MappingReport, status: 'mapped' | 'adjusted' | 'dropped') => r.of(status).map((e) => e.subject);

describe('OVF → MachineConfig mapping', () => {
  it('maps VMware hardware: 2 CPUs, 1536 MiB, SCSI disk, merged IDE, four NICs, VMCI dropped', () => {
    const p = plan('vmware.ovf');
    const c = p.config;
    expect(validateConfig(c)).toEqual([]);
    expect(c.name).toBe('vmw');
    expect(c.cpus).toBe(2);
    expect(c.memoryMiB).toBe(1536);
    expect(c.osType).toBe('Linux_64');
    expect(c.storage.map((s) => [s.name, s.type])).toEqual([['SCSI', 'scsi'], ['IDE', 'ide']]);
    expect(c.storage[0]!.attachments).toEqual([{ port: 0, type: 'disk', path: 'vmw-disk1.qcow2', format: 'qcow2' }]);
    expect(c.network.map((n) => [n.slot, n.model])).toEqual([[1, 'e1000'], [2, 'e1000'], [3, 'e1000'], [4, 'e1000']]);
    expect(c.display.vramMiB).toBe(8);
    expect(p.disks.map((d) => [d.disk.diskId, d.file?.href, d.target])).toEqual([['vmdisk1', 'input.vmdk', 'vmw-disk1.qcow2']]);
    expect(subjects(p.report, 'dropped')).toContain('item 7 (VMCI device)');
    expect(p.report.of('adjusted').find((e) => e.subject === 'item 9 (Network adapter 1)')!.reason).toMatch(/lanethernet0.*NAT/);
    expect(p.report.of('adjusted').find((e) => e.subject === 'operating system')!.detail).toBe('Linux_64');
  });

  it('maps the OVF 2.0 VirtualBox appliance: SATA disk, IDE optical, USB and sound dropped', () => {
    const p = plan('ubuntu.2.0.ovf');
    expect(p.config.osType).toBe('Ubuntu_64');
    expect(p.config.memoryMiB).toBe(512);
    const sata = p.config.storage.find((s) => s.type === 'sata')!;
    expect(sata.attachments).toEqual([{ port: 0, type: 'disk', path: 'ubuntu-disk1.qcow2', format: 'qcow2' }]);
    // cdrom1 sits on ideController1 (channel 1), address 0: Hangar IDE port 2.
    expect(p.config.storage.find((s) => s.type === 'ide')!.attachments).toEqual([{ port: 2, type: 'optical', path: '' }]);
    expect(subjects(p.report, 'dropped')).toEqual(['item 6 (usb)', 'item 7 (sound)', 'vbox:Machine']);
    expect(p.report.of('dropped')[1]!.reason).toBe('Hangar has no sound device');
    expect(subjects(p.report, 'mapped')).toContain('operating system');
  });

  it('maps OVF 0.9: 8 GiB of memory, PCNet32 adjusted to e1000, bridged to NAT', () => {
    const p = plan('v0.9.ovf');
    expect(p.config.memoryMiB).toBe(8192);
    expect(p.config.network[0]!.model).toBe('e1000');
    expect(p.report.of('adjusted').find((e) => e.subject === 'item 8 (ethernet0)')!.reason).toMatch(/PCNet32 is not emulated.*"bridged"/);
    expect(subjects(p.report, 'dropped')).toEqual(['item 3 (usb)']);
  });

  it('maps the VirtualBox 1.0 export and the minimal envelope', () => {
    const vb = plan('virtualbox-vm.ovf');
    expect(vb.config.name).toBe('centos7');
    expect(vb.disks[0]!.disk.capacity).toBe(64 * 2 ** 30);
    expect(vb.config.storage.find((s) => s.type === 'sata')!.attachments[0]!.type).toBe('disk');
    const min = plan('minimal.ovf');
    expect(min.config.storage).toEqual([]);
    expect(min.disks).toEqual([]);
    expect(subjects(min.report, 'adjusted')).toEqual(['operating system', 'CPUs', 'memory']);
  });

  it('applies --name, --memory and --cpus and reports them as adjustments', () => {
    const p = plan('vmware.ovf', { name: 'web', memoryMiB: 512, cpus: 4, diskFormat: 'vdi' });
    expect(p.config).toMatchObject({ name: 'web', memoryMiB: 512, cpus: 4 });
    expect(p.disks[0]!.target).toBe('web-disk1.vdi');
    expect(p.report.of('adjusted').find((e) => e.subject === 'memory')!.reason).toMatch(/--memory \(the appliance says 1536 MiB\)/);
    expect(() => plan('vmware.ovf', { name: 'a/b' })).toThrow(/--name: "a\/b" is not a valid VM name/);
  });

  it('clamps impossible quantities and says why', () => {
    const text = fixture('vmware.ovf').replace('<rasd:VirtualQuantity>2</rasd:VirtualQuantity>', '<rasd:VirtualQuantity>500</rasd:VirtualQuantity>')
      .replace('<rasd:VirtualQuantity>1536</rasd:VirtualQuantity>', '<rasd:VirtualQuantity>100000</rasd:VirtualQuantity>');
    const env = parseOvf(text, 'big.ovf');
    const p = planImport(env, env.systems[0]!, { diskFormat: 'qcow2' });
    expect(p.config.cpus).toBe(64);
    expect(p.config.memoryMiB).toBe(65536);
    expect(p.report.of('adjusted').find((e) => e.subject === 'CPUs')!.reason).toMatch(/asks for 500/);
  });
});
