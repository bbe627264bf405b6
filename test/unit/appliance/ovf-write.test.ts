import { describe, expect, it } from 'vitest';
import { planImport } from '../../../src-core/appliance/map-import.ts';
import { NS } from '../../../src-core/appliance/ovf-model.ts';
import { parseOvf } from '../../../src-core/appliance/ovf-parse.ts';
import { writeOvf, type ExportMachine } from '../../../src-core/appliance/ovf-write.ts';
import { elements, parseXml } from '../../../src-core/appliance/xml.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';

function machine(): ExportMachine {
  const config: MachineConfig = newMachineConfig({ name: 'web & db (1)', osType: 'Debian_64', cpus: 3, memoryMiB: 1536, description: 'line one\nline "two"' });
  config.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'web.qcow2', format: 'qcow2' });
  config.storage[0]!.attachments.push({ port: 3, type: 'disk', path: 'data.vdi', format: 'vdi' });
  config.storage.push({ name: 'SCSI', type: 'scsi', attachments: [{ port: 5, type: 'disk', path: '/abs/s.raw', format: 'raw' }] });
  config.storage.push({ name: 'VIRTIO', type: 'virtio', attachments: [] });
  config.network.push({ slot: 2, enabled: false, attachment: 'nat', model: 'rtl8139', mac: '0A:48:47:00:00:02', portForwards: [{ name: 'ssh', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 }] });
  config.serial.push({ port: 'COM1', mode: 'tcp', tcpPort: 4555 });
  config.firmware = { type: 'uefi' };
  const disks = new Map([
    ['SATA:0', { diskId: 'vmdisk1', fileId: 'file1', href: 'a-disk1.vmdk', size: 1000, capacity: 2 ** 30, populatedSize: 4096 }],
    ['SATA:3', { diskId: 'vmdisk2', fileId: 'file2', href: 'a-disk2.vmdk', size: 2000, capacity: 2 ** 20, populatedSize: 0 }],
    ['SCSI:5', { diskId: 'vmdisk3', fileId: 'file3', href: 'a-disk3.vmdk', size: 3000, capacity: 2 ** 21, populatedSize: 512 }],
  ]);
  return { config, disks };
}

function withoutHangarSection(text: string): string {
  return text.replace(/ *<hangar:Machine[\s\S]*?<\/hangar:Machine>\n/, '');
}

describe('OVF writer', () => {
  for (const ovf20 of [false, true]) {
    const v = ovf20 ? '2.0' : '1.0';
    it(`OVF ${v}: the Hangar section restores the exact configuration`, () => {
      const m = machine();
      const text = writeOvf({ ovf20, machines: [m], product: { vendor: 'ACME', product: 'Web', version: '1.2', eula: 'Be nice & <fair>.' } });
      const env = parseOvf(text, 'out.ovf');
      expect(env.version).toBe(v);
      expect(env.files.map((f) => [f.href, f.size])).toEqual([['a-disk1.vmdk', 1000], ['a-disk2.vmdk', 2000], ['a-disk3.vmdk', 3000]]);
      expect(env.disks.map((d) => d.capacity)).toEqual([2 ** 30, 2 ** 20, 2 ** 21]);
      const vs = env.systems[0]!;
      expect(vs.products[0]).toMatchObject({ vendor: 'ACME', product: 'Web', version: '1.2' });
      expect(vs.eulas).toEqual(['Be nice & <fair>.']);
      // Without --disk-format each disk keeps its format; only its file name changes.
      const plan = planImport(env, vs, {});
      const expected = structuredClone(m.config);
      const paths = ['web & db (1)-disk1.qcow2', 'web & db (1)-disk2.vdi', 'web & db (1)-disk3.raw'];
      let i = 0;
      for (const ctl of expected.storage) for (const a of ctl.attachments) if (a.type === 'disk') a.path = paths[i++]!;
      expect(plan.config).toEqual(expected);
      expect(plan.disks.map((d) => [d.disk.diskId, d.format])).toEqual([['vmdisk1', 'qcow2'], ['vmdisk2', 'vdi'], ['vmdisk3', 'raw']]);
      const vdi = planImport(env, vs, { diskFormat: 'vdi' });
      expect(vdi.config.storage.flatMap((c) => c.attachments).filter((a) => a.type === 'disk').map((a) => a.format)).toEqual(['vdi', 'vdi', 'vdi']);
    });

    it(`OVF ${v}: other tools' view (no Hangar section) maps the same hardware`, () => {
      const m = machine();
      const env = parseOvf(withoutHangarSection(writeOvf({ ovf20, machines: [m] })), 'out.ovf');
      const vs = env.systems[0]!;
      expect(vs.hangarConfig).toBeUndefined();
      if (ovf20) {
        expect(vs.items.filter((it) => it.element === 'StorageItem').map((it) => it.resourceType)).toEqual([17, 17, 15, 17]);
        expect(vs.items.filter((it) => it.element === 'EthernetPortItem')).toHaveLength(2);
      }
      const c = planImport(env, vs, { diskFormat: 'vdi' }).config;
      expect(c).toMatchObject({ name: m.config.name, osType: 'Debian_64', cpus: 3, memoryMiB: 1536, firmware: { type: 'uefi' }, description: m.config.description });
      expect(c.storage.map((s) => [s.type, s.attachments.map((a) => [a.port, a.type])])).toEqual([
        ['sata', [[0, 'disk'], [3, 'disk']]], ['ide', [[2, 'optical']]], ['scsi', [[5, 'disk']]], ['virtio', []],
      ]);
      expect(c.network.map((n) => [n.model, n.mac, n.enabled])).toEqual(m.config.network.map((n) => [n.model, n.mac, n.enabled]));
      expect(c.serial.map((s) => s.port)).toEqual(['COM1']);
    });
  }

  it('writes CIM fields in alphabetical order and a VirtualSystemCollection for several machines', () => {
    const a = machine();
    const b = machine();
    b.config.name = 'second';
    b.disks = new Map([...b.disks].map(([k, d]) => [k, { ...d, diskId: d.diskId + 'b', fileId: d.fileId + 'b', href: 'b' + d.href }]));
    const text = writeOvf({ ovf20: false, machines: [a, b] });
    const root = parseXml(text, 'c.ovf');
    const coll = elements(root).find((e) => e.local === 'VirtualSystemCollection')!;
    expect(elements(coll).filter((e) => e.local === 'VirtualSystem')).toHaveLength(2);
    const env = parseOvf(text, 'c.ovf');
    expect(env.systems.map((s) => s.id)).toEqual([a.config.name, 'second']);
    for (const it of elements(elements(elements(coll).find((e) => e.local === 'VirtualSystem')!).find((e) => e.local === 'VirtualHardwareSection')!).filter((e) => e.local === 'Item')) {
      const names = elements(it).filter((e) => e.ns === NS.rasd).map((e) => e.local);
      expect(names).toEqual([...names].sort());
    }
  });
});

describe('embedded configuration checks', () => {
  const text = writeOvf({ ovf20: false, machines: [machine()] });
  const swap = (from: RegExp, to: string) => {
    const env = parseOvf(text.replace(from, to), 'x.ovf');
    return () => planImport(env, env.systems[0]!, { diskFormat: 'qcow2' });
  };
  it('refuses a configuration from a newer Hangar, broken JSON, and invalid values', () => {
    expect(swap(/"schemaVersion":1/, '"schemaVersion":99')).toThrow(/embedded Hangar configuration written by a newer Hangar \(schema version 99/);
    expect(swap(/"schemaVersion":1,/, '"schemaVersion":1,,')).toThrow(/embedded Hangar configuration is not valid JSON/);
    expect(swap(/"cpus":3/, '"cpus":300')).toThrow(/cpus: 300 is not valid/);
    expect(swap(/"path":"ovf:\/disk\/vmdisk2"/, '"path":"ovf:/disk/nothere"')).toThrow(/attaches disk "nothere", which is not in the DiskSection/);
    expect(swap(/"path":"ovf:\/disk\/vmdisk1"/, '"path":"/etc/shadow"')).toThrow(/embedded disk "\/etc\/shadow" on SATA port 0 does not refer to a disk of the package/);
  });
});
