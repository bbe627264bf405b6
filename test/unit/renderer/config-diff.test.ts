import { describe, expect, it } from 'vitest';
import { diffConfig } from '../../../src-renderer/src/lib/config-diff.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { applyEdit } from '../../../src-core/library/edits.ts';
import { validateConfig } from '../../../src-core/library/validate.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';

function roundTrip(before: MachineConfig, after: MachineConfig): MachineConfig {
  const cfg = structuredClone(before);
  for (const e of diffConfig(before, after)) applyEdit(cfg, e);
  return cfg;
}

describe('settings dialog diff', () => {
  const base = newMachineConfig({ name: 'vm', osType: 'Debian_64' });

  it('sends nothing when nothing changed', () => {
    expect(diffConfig(base, structuredClone(base))).toEqual([]);
  });

  it('turns a draft with changes on every page into edits the library applies to the same result', () => {
    const draft = structuredClone(base);
    draft.name = 'renamed';
    draft.group = '/Servers';
    draft.description = 'web';
    draft.memoryMiB = 768;
    draft.cpus = 1;
    draft.firmware = { type: 'linux', kernel: '/k/bzImage', initrd: '/k/initrd', cmdline: 'console=ttyS0' };
    draft.bootOrder = ['disk'];
    draft.display = { controller: 'none', vramMiB: 32 };
    draft.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'vm.qcow2', format: 'qcow2' });
    draft.storage[0]!.attachments.sort((a, b) => a.port - b.port);
    draft.storage[1]!.attachments = [];
    draft.storage.push({ name: 'NVMe', type: 'virtio', attachments: [{ port: 3, type: 'disk', path: '/d.raw', format: 'raw', readOnly: true }] });
    draft.network[0]!.model = 'e1000';
    draft.network[0]!.portForwards.push({ name: 'ssh', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 });
    draft.network.push({ slot: 2, enabled: false, attachment: 'nat', model: 'rtl8139', mac: '0A:48:47:00:00:01', portForwards: [] });
    draft.serial.push({ port: 'COM1', mode: 'tcp', tcpPort: 4555 });
    const result = roundTrip(base, draft);
    expect(result).toEqual(draft);
    expect(validateConfig(result)).toEqual([]);
  });

  it('removes what the draft dropped and changes a controller type by replacing it', () => {
    const before = structuredClone(base);
    before.serial = [{ port: 'COM2', mode: 'file', path: '/tmp/out' }];
    before.network[0]!.portForwards = [{ name: 'a', protocol: 'udp', hostIp: '127.0.0.1', hostPort: 53, guestPort: 53 }];
    const draft = structuredClone(before);
    draft.serial = [];
    draft.network[0]!.portForwards = [];
    draft.storage[1]!.type = 'sata';
    const edits = diffConfig(before, draft);
    expect(edits).toContainEqual({ kind: 'removeSerial', port: 'COM2' });
    expect(edits).toContainEqual({ kind: 'removePortForward', slot: 1, name: 'a' });
    expect(edits).toContainEqual({ kind: 'removeController', name: 'IDE' });
    expect(roundTrip(before, draft)).toEqual(draft);
  });

  it('leaves a new adapter\'s MAC to the library when the draft has none', () => {
    const draft = structuredClone(base);
    draft.network.push({ slot: 3, enabled: true, attachment: 'nat', model: 'e1000', mac: '', portForwards: [] });
    const result = roundTrip(base, draft);
    expect(result.network[1]!.mac).toMatch(/^0A:48:47:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/);
  });

  it('switching firmware away from linux drops the kernel settings', () => {
    const before = structuredClone(base);
    before.firmware = { type: 'linux', kernel: '/k' };
    const draft = structuredClone(before);
    draft.firmware = { type: 'uefi' };
    expect(roundTrip(before, draft).firmware).toEqual({ type: 'uefi' });
  });
});
