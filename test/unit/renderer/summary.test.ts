import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src-renderer/src/lib/summary.ts';
import { issuesUnder, pageOf } from '../../../src-renderer/src/lib/issues.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { OS_PRESETS } from '../../../src-core/library/presets.ts';

describe('details pane summary', () => {
  it('summarises a VM section by section as VirtualBox does', () => {
    const c = newMachineConfig({ name: 'deb', osType: 'Debian_64', memoryMiB: 512 });
    c.firmware = { type: 'linux', kernel: '/k/bzImage' };
    c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'deb.qcow2', format: 'qcow2' });
    c.network[0]!.portForwards.push({ name: 'ssh', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 });
    c.serial.push({ port: 'COM1', mode: 'tcp', tcpPort: 4555 });
    const s = summarize('/vms/deb/deb.hangar', c, OS_PRESETS);
    expect(s.map((x) => x.title)).toEqual(['General', 'System', 'Display', 'Storage', 'Network', 'Serial Ports']);
    expect(s[0]!.rows).toContainEqual(['Operating System', 'Debian (64-bit)']);
    expect(s[1]!.rows).toEqual([
      ['Base Memory', '512 MB'], ['Processors', '2'], ['Boot Order', 'Optical, Hard Disk'], ['Firmware', 'Linux direct boot'],
      ['Kernel', '/k/bzImage'], ['Initrd', 'None'],
    ]);
    expect(s[3]!.rows).toEqual([
      ['Controller: SATA (SATA)', ''], ['  SATA Port 0', 'deb.qcow2 (qcow2)'], ['Controller: IDE (IDE)', ''], ['  IDE Port 2', '[Optical Drive] Empty'],
    ]);
    expect(s[4]!.rows).toEqual([['Adapter 1', 'virtio-net (NAT, 1 port forward)']]);
    expect(s[5]!.rows).toEqual([['Port COM1', 'TCP (127.0.0.1:4555)']]);
  });

  it('sorts validation issues onto settings pages', () => {
    expect(pageOf('memoryMiB')).toBe('system');
    expect(pageOf('network[0].portForwards[1].hostPort')).toBe('network');
    expect(pageOf('storage[1].attachments[0].path')).toBe('storage');
    expect(pageOf('name')).toBe('general');
    const issues = [{ field: 'network[0].mac', message: 'x' }, { field: 'networkish', message: 'y' }];
    expect(issuesUnder(issues, ['network'])).toEqual([issues[0]]);
  });
});
