// Shared set-up for the appliance integration tests: a throw-away HANGAR_HOME, VMs with real
// disks written by qemu-io, and the external oracles (GNU tar, qemu-img, vmdkinfo, Python's expat).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../../src-core/library/library.ts';
import { convertImage } from '../../../src-core/storage/tools/convert.ts';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `hangar-${tag}-`));
}

export function qemuImg(...args: string[]): { status: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`qemu-img is needed by this test: ${r.error.message}`);
  return { status: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** A qcow2 disk with recognisable data at a few offsets (and holes between them). */
export function makeDataDisk(path: string, size: string, writes: [pattern: number, offset: string, length: string][]): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, size]);
  const cmds = writes.flatMap(([p, off, len]) => ['-c', `write -P ${p} ${off} ${len}`]);
  execFileSync('qemu-io', ['-f', 'qcow2', ...cmds, path], { stdio: 'ignore' });
}

/** A streamOptimized VMDK holding the data of a qcow2 image, written by Hangar's VMDK writer. */
export async function streamVmdkFrom(src: string, dst: string): Promise<void> {
  await convertImage({ src, srcFormat: 'qcow2', dst, dstFormat: 'vmdk', subformat: 'streamOptimized' });
}

export async function vmWithDisks(lib: Library, name: string, disks: number): Promise<{ path: string; disks: string[] }> {
  const { path } = await lib.create({ name, osType: 'Debian_64', cpus: 2, memoryMiB: 768, description: `test VM ${name}` });
  const folder = join(path, '..');
  const files: string[] = [];
  for (let i = 0; i < disks; i++) {
    const f = join(folder, `d${i}.qcow2`);
    makeDataDisk(f, `${64 + 32 * i}M`, [[0x40 + i, '1M', '2M'], [0x61, `${40 + i}M`, '64k']]);
    files.push(f);
  }
  await lib.modify(name, (cfg) => {
    files.forEach((f, i) => cfg.storage[0]!.attachments.push({ port: i === 0 ? 0 : i + 1, type: 'disk', path: `d${i}.qcow2`, format: 'qcow2' }));
  });
  return { path, disks: files };
}

/** Everything a failed import could have left: VM folders and registry entries. */
export async function leftovers(lib: Library): Promise<string[]> {
  const machines = join(lib.home, 'Machines');
  const folders = existsSync(machines) ? readdirSync(machines) : [];
  const registered = (await lib.list()).map((m) => m.path);
  return [...folders, ...registered];
}

export function isWellFormedByExpat(path: string): string {
  const r = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1]); print("ok")', path], { encoding: 'utf8' });
  if (r.error) throw new Error(`python3 (for an independent XML parser) is needed: ${r.error.message}`);
  return (r.stdout + r.stderr).trim();
}

export function cleanup(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
