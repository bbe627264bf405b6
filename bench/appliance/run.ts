// Appliance benchmark: export and import of a VM with a 1 GiB disk of realistic sparse content,
// against `qemu-img convert -O vmdk -o subformat=streamOptimized` + `tar` of the same data in
// the same run. Prints times and the ratio (target: Hangar export within 1.3x of QEMU + tar).
// Run: npx tsx bench/appliance/run.ts [size-in-MiB]   (default 1024)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportAppliance } from '../../src-core/appliance/export.ts';
import { importAppliance } from '../../src-core/appliance/import.ts';
import { Library } from '../../src-core/library/library.ts';
import { convertImage } from '../../src-core/storage/tools/convert.ts';

const sizeMiB = Number(process.argv[2] ?? 1024);
const root = mkdtempSync(join(tmpdir(), 'hangar-bench-appliance-'));

/**
 * What an installed system disk looks like to a converter: about a third allocated, in runs of
 * a few MiB; of that, text-like data (compressible), binaries (partly), random data (none), and
 * holes everywhere else.
 */
function makeContent(path: string): void {
  const fd = openSync(path, 'w');
  const total = sizeMiB << 20;
  const text = Buffer.from('Lorem ipsum dolor sit amet, /usr/lib/x86_64-linux-gnu/libc.so.6 0x7f3a2c00 ELF\n'.repeat(13108)).subarray(0, 1 << 20);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let off = 0; off < total; ) {
    const run = Math.min(total - off, (1 + Math.floor(rnd() * 8)) << 20);
    if (rnd() < 0.35) {
      const kind = rnd();
      for (let o = 0; o < run; o += 1 << 20) {
        const chunk = kind < 0.5 ? text : kind < 0.8 ? Buffer.concat([randomBytes(256 << 10), Buffer.alloc(768 << 10, 0x90)]) : randomBytes(1 << 20);
        writeSync(fd, chunk, 0, Math.min(chunk.length, run - o), off + o);
      }
    }
    off += run;
  }
  closeSync(fd);
  execFileSync('truncate', ['-s', String(total), path]);
}

function time<T>(fn: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

try {
  const lib = new Library(join(root, 'home'));
  const { path } = await lib.create({ name: 'bench', osType: 'Debian_64' });
  const folder = join(path, '..');
  const raw = join(root, 'content.raw');
  makeContent(raw);
  const disk = join(folder, 'disk.qcow2');
  execFileSync('qemu-img', ['convert', '-O', 'qcow2', raw, disk]);
  rmSync(raw);
  await lib.modify('bench', (c) => c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'disk.qcow2', format: 'qcow2' }));
  const allocated = Number(/"actual-size": (\d+)/.exec(execFileSync('qemu-img', ['info', '--output=json', disk], { encoding: 'utf8' }))![1]);
  console.log(`disk: ${sizeMiB} MiB virtual, ${(allocated / 2 ** 20).toFixed(0)} MiB allocated (qcow2)`);

  // QEMU baseline: convert to streamOptimized, then tar it with a descriptor-sized file first.
  const q = join(root, 'qemu');
  mkdirSync(q);
  execFileSync('sh', ['-c', `printf '%07000d' 0 > ${join(q, 'bench.ovf')}`]);
  execFileSync('sync');
  const [, tQemuConvert] = time(() => execFileSync('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', disk, join(q, 'bench-disk1.vmdk')]));
  const [, tTar] = time(() => execFileSync('tar', ['-C', q, '-cf', join(root, 'qemu.ova'), 'bench.ovf', 'bench-disk1.vmdk']));
  const tQemu = tQemuConvert + tTar;

  // Warm-up: a small conversion first so JIT compilation and zlib's thread pool start-up are not
  // charged to the export (QEMU's binary has no such start-up cost).
  const warm = join(root, 'warm.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', warm, '64M']);
  execFileSync('qemu-io', ['-c', 'write -P 0x61 0 32M', warm], { stdio: 'ignore' });
  await convertImage({ src: warm, srcFormat: 'qcow2', dst: join(root, 'warm.vmdk'), dstFormat: 'vmdk', subformat: 'streamOptimized' });

  const out = join(root, 'bench.ova');
  const [, tExport] = await timeAsync(() => exportAppliance({ library: lib, machines: ['bench'], output: out }));

  // The storage layer's conversion alone, to show how much of the export is the VMDK writer.
  const [, tConvert] = await timeAsync(() => convertImage({ src: disk, srcFormat: 'qcow2', dst: join(root, 'alone.vmdk'), dstFormat: 'vmdk', subformat: 'streamOptimized' }));

  const lib2 = new Library(join(root, 'home2'));
  const [, tImport] = await timeAsync(() => importAppliance({ file: out, library: lib2 }));
  const [, tQemuImport] = time(() => {
    execFileSync('tar', ['-C', q, '-xf', join(root, 'qemu.ova'), 'bench-disk1.vmdk']);
    execFileSync('qemu-img', ['convert', '-O', 'qcow2', join(q, 'bench-disk1.vmdk'), join(q, 'back.qcow2')]);
  });
  const same = execFileSync('qemu-img', ['compare', disk, join(lib2.home, 'Machines', 'bench', 'bench-disk1.qcow2')], { encoding: 'utf8' }).trim();

  console.log(`qemu-img convert (streamOptimized): ${tQemuConvert.toFixed(2)} s, tar: ${tTar.toFixed(2)} s, total ${tQemu.toFixed(2)} s, ova ${(statSync(join(root, 'qemu.ova')).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`hangar export: ${tExport.toFixed(2)} s, ova ${(statSync(out).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`export ratio hangar / (qemu-img + tar): ${(tExport / tQemu).toFixed(2)}x (target <= 1.3x)`);
  console.log(`  of which storage convert to streamOptimized alone: ${tConvert.toFixed(2)} s (${(tConvert / tQemuConvert).toFixed(2)}x qemu-img convert); appliance overhead ~${Math.max(0, tExport - tConvert).toFixed(2)} s`);
  console.log(`hangar import (to qcow2): ${tImport.toFixed(2)} s; tar x + qemu-img convert to qcow2: ${tQemuImport.toFixed(2)} s; ratio ${(tImport / tQemuImport).toFixed(2)}x`);
  console.log(`round trip: ${same}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
