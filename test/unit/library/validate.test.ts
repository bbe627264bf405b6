import { describe, expect, it } from 'vitest';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { validateConfig, assertValid, ValidationError } from '../../../src-core/library/validate.ts';
import { OS_PRESETS } from '../../../src-core/library/presets.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';

function base(): MachineConfig {
  return newMachineConfig({ name: 'vm', osType: 'Linux_64' });
}

function issuesAfter(edit: (c: MachineConfig) => void): { field: string; allowed: string; value: unknown }[] {
  const c = base();
  edit(c);
  return validateConfig(c);
}

describe('machine configuration validation', () => {
  it('accepts the defaults of every OS preset', () => {
    for (const p of OS_PRESETS) {
      const c = newMachineConfig({ name: `vm-${p.id}`, osType: p.id });
      expect(validateConfig(c), p.id).toEqual([]);
      expect(c.memoryMiB).toBe(p.memoryMiB);
      expect(c.cpus).toBe(p.cpus);
      expect(c.firmware.type).toBe(p.firmware);
      expect(c.network[0]!.model).toBe(p.nicModel);
    }
  });

  it('requires the presets the product promises', () => {
    const ids = OS_PRESETS.map((p) => p.id);
    for (const id of ['Linux_64', 'Debian_64', 'Ubuntu_64', 'Fedora_64', 'Windows10_64', 'Windows11_64', 'FreeDOS', 'Other']) expect(ids).toContain(id);
  });

  const cases: [string, (c: MachineConfig) => void, string][] = [
    ['name empty', (c) => (c.name = ''), 'name'],
    ['name with slash', (c) => (c.name = 'a/b'), 'name'],
    ['name with dot first', (c) => (c.name = '.hidden'), 'name'],
    ['name too long', (c) => (c.name = 'x'.repeat(65)), 'name'],
    ['uuid malformed', (c) => (c.uuid = 'not-a-uuid'), 'uuid'],
    ['unknown OS type', (c) => (c.osType = 'BeOS'), 'osType'],
    ['group without slash', (c) => (c.group = 'Servers'), 'group'],
    ['group with empty part', (c) => (c.group = '/a//b'), 'group'],
    ['zero CPUs', (c) => (c.cpus = 0), 'cpus'],
    ['fractional CPUs', (c) => (c.cpus = 1.5), 'cpus'],
    ['too many CPUs', (c) => (c.cpus = 65), 'cpus'],
    ['too little memory', (c) => (c.memoryMiB = 3), 'memoryMiB'],
    ['too much memory', (c) => (c.memoryMiB = 65537), 'memoryMiB'],
    ['memory as text', (c) => ((c as unknown as Record<string, unknown>).memoryMiB = '512'), 'memoryMiB'],
    ['unknown firmware', (c) => ((c.firmware as { type: string }).type = 'coreboot'), 'firmware.type'],
    ['linux boot without kernel', (c) => (c.firmware = { type: 'linux' }), 'firmware.kernel'],
    ['kernel with BIOS firmware', (c) => (c.firmware = { type: 'bios', kernel: 'vmlinuz' }), 'firmware.kernel'],
    ['unknown boot device', (c) => ((c.bootOrder as string[]) = ['usb']), 'bootOrder[0]'],
    ['boot device twice', (c) => (c.bootOrder = ['disk', 'disk']), 'bootOrder'],
    ['unknown controller type', (c) => ((c.storage[0] as { type: string }).type = 'floppy'), 'storage[0].type'],
    ['duplicate controller name', (c) => (c.storage[1]!.name = c.storage[0]!.name), 'storage[1].name'],
    ['port out of range', (c) => c.storage[1]!.attachments.push({ port: 4, type: 'optical', path: '' }), 'storage[1].attachments[1].port'],
    ['port used twice', (c) => c.storage[1]!.attachments.push({ port: 2, type: 'optical', path: 'x.iso' }), 'storage[1].attachments[1].port'],
    ['disk without format', (c) => c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'd.img' }), 'storage[0].attachments[0].format'],
    ['disk without path', (c) => c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: '', format: 'raw' }), 'storage[0].attachments[0].path'],
    ['format on optical', (c) => (c.storage[1]!.attachments[0]!.format = 'raw'), 'storage[1].attachments[0].format'],
    ['multicast MAC', (c) => (c.network[0]!.mac = '01:00:5E:00:00:01'), 'network[0].mac'],
    ['lower-case MAC', (c) => (c.network[0]!.mac = '0a:48:47:00:00:01'), 'network[0].mac'],
    ['unknown NIC model', (c) => ((c.network[0] as { model: string }).model = 'ne2000'), 'network[0].model'],
    ['NIC slot 9', (c) => (c.network[0]!.slot = 9), 'network[0].slot'],
    ['forward on a public address', (c) => c.network[0]!.portForwards.push({ name: 'ssh', protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 2222, guestPort: 22 }), 'network[0].portForwards[0].hostIp'],
    ['forward host port 0', (c) => c.network[0]!.portForwards.push({ name: 'ssh', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 22 }), 'network[0].portForwards[0].hostPort'],
    ['same host port twice', (c) => c.network[0]!.portForwards.push(
      { name: 'a', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 },
      { name: 'b', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 23 }), 'network[0].portForwards[1].hostPort'],
    ['serial file without path', (c) => c.serial.push({ port: 'COM1', mode: 'file' }), 'serial[0].path'],
    ['serial tcp on a privileged port', (c) => c.serial.push({ port: 'COM1', mode: 'tcp', tcpPort: 80 }), 'serial[0].tcpPort'],
    ['COM5', (c) => c.serial.push({ port: 'COM5' as 'COM1', mode: 'none' }), 'serial[0].port'],
    ['COM1 twice', (c) => c.serial.push({ port: 'COM1', mode: 'none' }, { port: 'COM1', mode: 'pty' }), 'serial[1].port'],
    ['VRAM 0', (c) => (c.display.vramMiB = 0), 'display.vramMiB'],
    ['unknown display', (c) => ((c.display as { controller: string }).controller = 'qxl'), 'display.controller'],
  ];

  for (const [what, edit, field] of cases) {
    it(`rejects ${what}, naming ${field}`, () => {
      const issues = issuesAfter(edit);
      expect(issues.map((i) => i.field)).toContain(field);
      const issue = issues.find((i) => i.field === field)!;
      expect(issue.allowed.length).toBeGreaterThan(5);
    });
  }

  it('reports field, value and what is allowed in the error message', () => {
    const c = base();
    c.memoryMiB = 3;
    c.cpus = 100;
    let err: unknown;
    try {
      assertValid(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const msg = (err as Error).message;
    expect(msg).toContain('memoryMiB: 3 is not valid; allowed: a whole number from 4 to 65536 MiB');
    expect(msg).toContain('cpus: 100 is not valid; allowed: a whole number from 1 to 64');
  });
});
