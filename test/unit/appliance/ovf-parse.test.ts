import { describe, expect, it } from 'vitest';
import { parseOvf } from '../../../src-core/appliance/ovf-parse.ts';
import { byteMultiplier } from '../../../src-core/appliance/units.ts';
import { fixture } from './fixtures.ts';

describe('OVF parser on real descriptors', () => {
  it('reads the OVF 0.9 dialect (Section xsi:type, Content, InstanceId)', () => {
    const env = parseOvf(fixture('v0.9.ovf'), 'v0.9.ovf');
    expect(env.version).toBe('0.9');
    expect(env.disks).toEqual([{ diskId: 'vmdisk1', fileRef: 'file1', capacity: 2 ** 30, populatedSize: undefined, format: 'http://www.vmware.com/specifications/vmdk.html#sparse' }]);
    expect(env.networks.map((n) => n.name)).toEqual(['bridged']);
    const vs = env.systems[0]!;
    expect(vs.id).toBe('v0.9');
    expect(vs.os?.id).toBe(107);
    expect(vs.items.map((i) => i.resourceType)).toEqual([3, 4, 23, 6, 5, 15, 17, 10]);
    expect(vs.items.every((i) => i.instanceId !== '')).toBe(true);
    expect(vs.eulas[0]).toMatch(/^Licensing text, oh licensing text!/);
    expect(vs.annotation).toMatch(/^Hello world!/);
  });

  it('reads VMware OVF 1.0 with ovf: prefixes, byte * 2^30 capacity and vmw:Config', () => {
    const env = parseOvf(fixture('vmware.ovf'), 'vmware.ovf');
    expect(env.version).toBe('1.0');
    expect(env.files).toEqual([{ id: 'file1', href: 'input.vmdk', size: 152576, compression: undefined }]);
    expect(env.disks[0]!.capacity).toBe(2 ** 30);
    expect(env.disks[0]!.populatedSize).toBe(293011456);
    const vs = env.systems[0]!;
    expect(vs.name).toBe('vmw');
    expect(vs.systemTypes).toEqual(['vmx-08']);
    expect(vs.vmwConfig.firmware).toBe('bios');
    expect(vs.items.filter((i) => i.resourceType === 10)).toHaveLength(4);
    expect(vs.items.find((i) => i.resourceType === 24)!.vmwConfig.videoRamSizeInKB).toBe('8192');
    expect(vs.products[0]!.properties).toEqual([{ key: 'custom-property', type: 'string', value: 'custom-value', label: undefined, description: undefined }]);
  });

  it('reads OVF 2.0 StorageItem and EthernetPortItem elements', () => {
    const env = parseOvf(fixture('ubuntu.2.0.ovf'), 'ubuntu.2.0.ovf');
    expect(env.version).toBe('2.0');
    const vs = env.systems[0]!;
    expect(vs.items.find((i) => i.resourceType === 17)).toMatchObject({ element: 'StorageItem', hostResources: ['/disk/vmdisk1'], fields: { Parent: '5' } });
    expect(vs.items.find((i) => i.resourceType === 10)).toMatchObject({ element: 'EthernetPortItem', connections: ['NAT'] });
    expect(vs.os).toMatchObject({ id: 94, vboxType: 'Ubuntu_64' });
    expect(vs.hasVboxMachine).toBe(true);
  });

  it('reads a VirtualBox export with a default namespace', () => {
    const env = parseOvf(fixture('virtualbox-vm.ovf'), 'virtualbox-vm.ovf');
    expect(env.disks[0]!.capacity).toBe(68719476736);
    expect(env.files[0]!.href).toBe('centos7-disk001.vmdk');
    expect(env.systems[0]!.items).toHaveLength(8);
  });

  it('reads the minimal envelope', () => {
    const env = parseOvf(fixture('minimal.ovf'), 'minimal.ovf');
    expect(env.systems).toHaveLength(1);
    expect(env.files).toEqual([]);
  });

  it('refuses invalid.ovf, naming every broken reference', () => {
    let msg = '';
    try {
      parseOvf(fixture('invalid.ovf'), 'invalid.ovf');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^invalid\.ovf: invalid OVF descriptor/);
    expect(msg).toContain('disk "flash2" refers to file "flash2", which is not in References');
    expect(msg).toContain('HostResource "nonexistent.vmdk" does not name a disk');
    expect(msg).toContain('Parent 27 is not a controller');
  });

  it('refuses non-OVF roots and unsafe hrefs', () => {
    expect(() => parseOvf('<Envelope xmlns="urn:other"/>', 'x.ovf')).toThrow(/not an OVF descriptor/);
    const env = (href: string) => `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
      <References><File ovf:id="f" ovf:href="${href}"/></References>
      <VirtualSystem ovf:id="v"><Info/><VirtualHardwareSection><Info/></VirtualHardwareSection></VirtualSystem></Envelope>`;
    expect(() => parseOvf(env('../etc/passwd'), 'x.ovf')).toThrow(/contains "\.\."/);
    expect(() => parseOvf(env('/etc/passwd'), 'x.ovf')).toThrow(/absolute path/);
    expect(() => parseOvf(env('http://example.invalid/d.vmdk'), 'x.ovf')).toThrow(/URL/);
    expect(() => parseOvf(env('ok.vmdk'), 'x.ovf')).not.toThrow();
  });

  it('understands programmatic and named allocation units', () => {
    expect(byteMultiplier('byte * 2^20')).toBe(2 ** 20);
    expect(byteMultiplier('byte*10^6')).toBe(1e6);
    expect(byteMultiplier('MegaBytes')).toBe(2 ** 20);
    expect(byteMultiplier('GigaBytes')).toBe(2 ** 30);
    expect(byteMultiplier('hertz * 10^6')).toBeUndefined();
  });
});
