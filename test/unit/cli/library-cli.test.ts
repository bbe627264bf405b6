// The `hangar` library commands end to end, through child processes, as the README shows them.
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runHangar, tempDir } from '../../helpers/cli.ts';

let home: string;
const hangar = (...args: string[]) => runHangar(args, { HANGAR_HOME: home });

beforeEach(() => {
  home = tempDir();
});

describe('hangar library commands', { timeout: 180_000 }, () => {
  it('create, list, show, modify, clone, delete', async () => {
    let r = await hangar('create', '--name', 'demo', '--ostype', 'Linux_64', '--memory', '512', '--cpus', '2');
    expect(r.code, r.stderr).toBe(0);
    const cfgPath = join(home, 'Machines', 'demo', 'demo.hangar');
    expect(existsSync(cfgPath)).toBe(true);
    expect(existsSync(join(home, 'Machines', 'demo', 'Logs'))).toBe(true);
    expect(existsSync(join(home, 'Machines', 'demo', 'Snapshots'))).toBe(true);

    r = await hangar('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+UUID\s+OS TYPE/);
    expect(r.stdout).toMatch(/demo\s+[0-9a-f-]{36}\s+Linux_64\s+2\s+512 MiB/);

    r = await hangar('show', 'demo', '--json');
    const shown = JSON.parse(r.stdout) as { config: { uuid: string; memoryMiB: number; cpus: number; network: { mac: string }[] } };
    expect(shown.config.memoryMiB).toBe(512);
    expect(shown.config.cpus).toBe(2);
    const uuid = shown.config.uuid;

    r = await hangar('modify', 'demo', '--memory', '1024', '--cpus', '4', '--description', 'test box', '--group', '/Lab',
      '--natpf', '1:ssh,tcp,,2222,,22', '--serial', 'COM1:tcp:5555', '--boot-order', 'disk,optical', '--vram', '32');
    expect(r.code, r.stderr).toBe(0);
    r = await hangar('show', uuid);
    expect(r.stdout).toContain('Memory:');
    expect(r.stdout).toContain('1024 MiB');
    expect(r.stdout).toMatch(/forward ssh:\s+tcp 127\.0\.0\.1:2222 -> guest:22/);
    expect(r.stdout).toMatch(/Serial COM1:\s+tcp 127\.0\.0\.1:5555/);
    expect(r.stdout).toMatch(/Boot order:\s+disk, optical/);
    expect(r.stdout).toMatch(/Group:\s+\/Lab/);
    expect(existsSync(`${cfgPath}.prev`)).toBe(true);

    r = await hangar('clone', 'demo', '--name', 'demo-copy');
    expect(r.code, r.stderr).toBe(0);
    const copy = JSON.parse((await hangar('show', 'demo-copy', '--json')).stdout) as typeof shown;
    expect(copy.config.uuid).not.toBe(uuid);
    expect(copy.config.network[0]!.mac).not.toBe(shown.config.network[0]!.mac);
    expect(copy.config.memoryMiB).toBe(1024);

    r = await hangar('delete', 'demo-copy');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(home, 'Machines', 'demo-copy'))).toBe(false);
    r = await hangar('list', '--json');
    expect((JSON.parse(r.stdout) as { name: string }[]).map((m) => m.name)).toEqual(['demo']);
  });

  it('renames a VM together with its folder and file', async () => {
    await hangar('create', '--name', 'old');
    const r = await hangar('modify', 'old', '--name', 'new');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(home, 'Machines', 'new', 'new.hangar'))).toBe(true);
    expect(existsSync(join(home, 'Machines', 'old'))).toBe(false);
    expect((await hangar('show', 'new')).code).toBe(0);
  });

  it('exit code 2 and a message naming field, value and range for invalid values', async () => {
    await hangar('create', '--name', 'demo');
    let r = await hangar('modify', 'demo', '--memory', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--memory: 3 is not valid; allowed: a whole number from 4 to 65536');
    r = await hangar('modify', 'demo', '--memory', 'lots');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--memory: "lots" is not valid');
    r = await hangar('create', '--name', 'x', '--ostype', 'BeOS');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/osType: "BeOS" is not valid; allowed: one of Linux_64, .*Windows11_64/);
    r = await hangar('modify', 'demo', '--natpf', '1:web,tcp,0.0.0.0,8080,,80');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hostIp: "0.0.0.0" is not valid; allowed: 127.0.0.1');
    r = await hangar('create', '--name', 'bad/name');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('name: "bad/name" is not valid');
    r = await hangar('frobnicate');
    expect(r.code).toBe(2);
    r = await hangar('create');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--name <name>'");
  });

  it('exit code 1 for operational errors: unknown VM, duplicate name', async () => {
    let r = await hangar('show', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no VM named or with UUID "nope"');
    await hangar('create', '--name', 'twin');
    r = await hangar('create', '--name', 'twin');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a VM named "twin" is already registered');
  });

  it('lists a VM whose folder moved as inaccessible, and register brings it back', async () => {
    await hangar('create', '--name', 'mover');
    await hangar('create', '--name', 'stayer');
    const elsewhere = join(tempDir(), 'mover');
    renameSync(join(home, 'Machines', 'mover'), elsewhere);
    let r = await hangar('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(inaccessible)');
    expect(r.stdout).toMatch(/stayer\s+/);
    const listed = JSON.parse((await hangar('list', '--json')).stdout) as { accessible: boolean; uuid: string }[];
    const lost = listed.find((m) => !m.accessible)!;
    r = await hangar('unregister', lost.uuid);
    expect(r.code, r.stderr).toBe(0);
    r = await hangar('register', join(elsewhere, 'mover.hangar'));
    expect(r.code, r.stderr).toBe(0);
    expect((await hangar('show', 'mover')).code).toBe(0);
  });

  it('reports a damaged .hangar with its path and the parse error, and recover restores .prev', async () => {
    await hangar('create', '--name', 'fragile');
    await hangar('modify', 'fragile', '--memory', '700');
    await hangar('modify', 'fragile', '--memory', '800');
    const p = join(home, 'Machines', 'fragile', 'fragile.hangar');
    writeFileSync(p, readFileSync(p, 'utf8').slice(0, 100));
    let r = await hangar('show', 'fragile');
    expect(r.code).toBe(1);
    r = await hangar('list');
    expect(r.stdout).toContain(`${p} is damaged: not valid JSON`);
    const listed = JSON.parse((await hangar('list', '--json')).stdout) as { error: string; uuid: string }[];
    expect(listed[0]!.error).toContain(`hangar recover ${p}`);
    r = await hangar('show', listed[0]!.uuid);
    expect(r.stderr).toContain('.prev');
    r = await hangar('recover', p);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse((await hangar('show', 'fragile', '--json')).stdout) as { config: { memoryMiB: number } };
    expect(shown.config.memoryMiB).toBe(700);
  });

  it('concurrent creates from several processes all land in the registry', async () => {
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((n) => hangar('create', '--name', n)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse((await hangar('list', '--json')).stdout) as { name: string }[];
    expect(listed.map((m) => m.name).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('delete removes disks inside the VM folder and keeps the ones outside', async () => {
    await hangar('create', '--name', 'disky');
    const folder = join(home, 'Machines', 'disky');
    writeFileSync(join(folder, 'inner.img'), Buffer.alloc(4096));
    const outerDir = tempDir();
    mkdirSync(outerDir, { recursive: true });
    writeFileSync(join(outerDir, 'outer.img'), Buffer.alloc(4096));
    let r = await hangar('modify', 'disky',
      '--attach', 'controller=SATA,port=0,type=disk,path=inner.img,format=raw',
      '--attach', `controller=SATA,port=1,type=disk,path=${join(outerDir, 'outer.img')},format=raw`);
    expect(r.code, r.stderr).toBe(0);
    r = await hangar('modify', 'disky', '--attach', 'controller=SATA,port=2,type=disk,path=missing.img,format=raw');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing.img does not exist');
    r = await hangar('delete', 'disky');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(folder, 'inner.img'))).toBe(false);
    expect(existsSync(join(outerDir, 'outer.img'))).toBe(true);
    expect(r.stdout).toContain(`kept ${join(outerDir, 'outer.img')}`);
  });

  it('ostypes lists the presets with their defaults', async () => {
    const r = await hangar('ostypes', '--json');
    const presets = JSON.parse(r.stdout) as { id: string; memoryMiB: number }[];
    expect(presets.find((p) => p.id === 'Windows11_64')!.memoryMiB).toBe(4096);
  });
});
