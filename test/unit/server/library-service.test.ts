import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../../src-core/library/library.ts';
import { createLibraryService, type LibraryService } from '../../../src-core/server/library-service.ts';
import { dispatch } from '../../../src-core/server/dispatch.ts';
import type { HangarEvent, HangarService } from '../../../src-core/api/service.ts';

let dir: string;
let lib: Library;
let svc: LibraryService;
let events: HangarEvent[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-svc-'));
  lib = new Library(join(dir, 'home'));
  events = [];
  svc = createLibraryService(lib, { onEvent: (e) => events.push(e) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('library service', () => {
  it('reports the same validation messages as the CLI for a new VM, without creating it', async () => {
    const issues = await svc.checkNewMachine({ name: 'a', osType: 'Linux_64', memoryMiB: 2 });
    expect(issues).toEqual([{ field: 'memoryMiB', message: 'memoryMiB: 2 is not valid; allowed: a whole number from 4 to 65536 MiB' }]);
    expect(await lib.list()).toEqual([]);
    const nameIssues = await svc.checkNewMachine({ name: 'bad/name', osType: 'Linux_64' });
    expect(nameIssues[0]!.field).toBe('name');
    expect(nameIssues[0]!.message).toContain('"bad/name" is not valid');
  });

  it('flags more CPUs than the host has and missing boot files', async () => {
    const host = await svc.hostInfo({});
    const issues = await svc.checkNewMachine({
      name: 'a', osType: 'Linux_64', cpus: host.cpus + 1,
      edits: [{ kind: 'firmware', type: 'linux', kernel: join(dir, 'missing-bzImage') }],
    });
    expect(issues.map((i) => i.field)).toEqual(['cpus', 'firmware.kernel']);
    expect(issues[0]!.message).toContain(`more than this host's ${host.cpus} CPU cores`);
    expect(issues[1]!.message).toContain('missing-bzImage does not exist');
  });

  it('creates a VM with Linux boot media and an ISO from the wizard edits', async () => {
    await writeFile(join(dir, 'bzImage'), 'k');
    await writeFile(join(dir, 'initrd.img'), 'i');
    await writeFile(join(dir, 'boot.iso'), 'iso');
    const res = await svc.createMachine({
      name: 'deb', osType: 'Debian_64', memoryMiB: 256, cpus: 1, baseFolder: join(dir, 'vms'),
      edits: [
        { kind: 'firmware', type: 'linux', kernel: join(dir, 'bzImage'), initrd: join(dir, 'initrd.img'), cmdline: 'console=ttyS0' },
        { kind: 'attach', controller: 'IDE', port: 2, type: 'optical', path: join(dir, 'boot.iso') },
      ],
    });
    expect(res.path).toBe(join(dir, 'vms', 'deb', 'deb.hangar'));
    const back = await lib.get('deb');
    expect(back.config.firmware).toEqual({ type: 'linux', kernel: join(dir, 'bzImage'), initrd: join(dir, 'initrd.img'), cmdline: 'console=ttyS0' });
    expect(back.config.storage.find((c) => c.name === 'IDE')!.attachments).toEqual([{ port: 2, type: 'optical', path: join(dir, 'boot.iso') }]);
    expect(events).toEqual([{ type: 'machines-changed', uuid: res.config.uuid }]);
  });

  it('checks edits without writing, then modifies, clones and deletes', async () => {
    await svc.createMachine({ name: 'vm', osType: 'Linux_64' });
    const edits = [{ kind: 'addPortForward' as const, slot: 1, rule: { name: 'ssh', protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 70000, guestPort: 22 } }];
    const issues = await svc.checkEdits({ ref: 'vm', edits });
    expect(issues).toEqual([{ field: 'network[0].portForwards[0].hostPort', message: 'network[0].portForwards[0].hostPort: 70000 is not valid; allowed: a whole number from 1 to 65535' }]);
    expect((await lib.get('vm')).config.network[0]!.portForwards).toEqual([]);
    edits[0]!.rule.hostPort = 2222;
    expect(await svc.checkEdits({ ref: 'vm', edits })).toEqual([]);
    await svc.modifyMachine({ ref: 'vm', edits });
    expect((await lib.get('vm')).config.network[0]!.portForwards[0]!.hostPort).toBe(2222);
    const copy = await svc.cloneMachine({ ref: 'vm', name: 'vm2' });
    expect(copy.config.network[0]!.mac).not.toBe((await lib.get('vm')).config.network[0]!.mac);
    expect((await svc.deleteMachine({ ref: 'vm' })).removed.length).toBeGreaterThan(0);
    expect((await svc.listMachines({})).map((m) => m.uuid)).toEqual([copy.config.uuid]);
  });

  it('dispatch checks parameters with the schemas and maps errors to {code, message}', async () => {
    expect(await dispatch(svc, 'getMachine', { ref: 'x', extra: 1 })).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await dispatch(svc, 'createMachine', { name: 'n', osType: 'Linux_64', edits: [{ kind: 'set', field: 'name', value: 'other' }] }))
      .toMatchObject({ ok: false, error: { code: 'usage', message: 'createMachine: give the name in "name", not as an edit' } });
    expect(await dispatch(svc, 'getMachine', { ref: 'x' })).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await dispatch(svc, 'osTypes', {})).toMatchObject({ ok: true });
  });
});

describe('library service: wizard disks and boot media', () => {
  it('creates a new disk image in the VM folder and attaches it with the ISO', async () => {
    await writeFile(join(dir, 'live.iso'), 'iso');
    const host = await svc.hostInfo({});
    expect(host.creatableDiskFormats).toContain('qcow2');
    const res = await svc.createMachine({ name: 'withdisk', osType: 'Linux_64', iso: join(dir, 'live.iso'), disk: { kind: 'new', format: 'qcow2', sizeGiB: 2 } });
    const sata = res.config.storage.find((c) => c.name === 'SATA')!;
    expect(sata.attachments).toEqual([{ port: 0, type: 'disk', path: 'withdisk.qcow2', format: 'qcow2' }]);
    expect(res.config.storage.find((c) => c.name === 'IDE')!.attachments).toEqual([{ port: 2, type: 'optical', path: join(dir, 'live.iso') }]);
    const { imageInfo } = await import('../../../src-core/storage/tools/info.ts');
    const info = await imageInfo(join(dir, 'home', 'Machines', 'withdisk', 'withdisk.qcow2'));
    expect(info.format).toBe('qcow2');
    expect(info.virtualSize).toBe(2 * 1024 ** 3);
  });

  it('reports missing boot files and bad disk sizes under the wizard fields', async () => {
    const issues = await svc.checkNewMachine({ name: 'x', osType: 'Linux_64', iso: join(dir, 'none.iso'), disk: { kind: 'new', format: 'qcow2', sizeGiB: 0 } });
    expect(issues.map((i) => i.field)).toEqual(['iso', 'disk.sizeGiB']);
    await expect(svc.createMachine({ name: 'x', osType: 'Linux_64', iso: join(dir, 'none.iso') })).rejects.toMatchObject({ code: 'not-found' });
    expect(await lib.list()).toEqual([]);
  });
});
