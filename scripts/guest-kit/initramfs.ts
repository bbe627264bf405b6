// Builds the test guest's initramfs: busybox-static, one symlink per applet, the /init script
// from init.sh, the few device nodes the kernel and init need before devtmpfs is mounted, and
// the power-button modules (modules.ts) the caller passes in.
// The archive is cpio newc (our own writer) compressed with gzip, which the Debian kernel
// unpacks natively.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCpioNewc, type CpioEntry } from './cpio-newc.ts';
import { runOk } from './run.ts';

const BASE_DIRS = ['bin', 'dev', 'etc', 'proc', 'root', 'run', 'sbin', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'var'];

/**
 * The kernel opens /dev/console for init before anything is mounted; the rest let init write
 * the marker even if devtmpfs could not be mounted.
 */
const DEVICE_NODES: CpioEntry[] = [
  { type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
  { type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
  { type: 'chardev', path: 'dev/ttyS0', major: 4, minor: 64, mode: 0o660 },
];

/**
 * Asks the (static, amd64) busybox binary for its applets with their install paths, e.g.
 * "/bin/sh", "/sbin/poweroff". Running it on the host avoids hard-coding a list that changes
 * with the busybox version.
 */
export async function busyboxApplets(busybox: string): Promise<string[]> {
  const r = await runOk(busybox, ['--list-full'], { hint: 'the extracted busybox-static binary' });
  const applets = r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/^\/+/, ''))
    .filter((l) => l !== '' && l.includes('/'));
  // acpid and insmod: /init answers the ACPI power button with them.
  for (const need of ['sh', 'poweroff', 'acpid', 'insmod']) {
    if (!applets.some((a) => a.endsWith(`/${need}`))) throw new Error(`guest-kit: ${busybox} lacks the ${need} applet the test guest needs`);
  }
  return applets;
}

/**
 * All archive entries for the guest, parents before children, in a stable order. `extra` adds
 * files of the caller's (the power-button modules); a path it shares with the base is an error.
 */
export function initramfsEntries(busybox: Uint8Array, applets: readonly string[], init: Uint8Array, extra: readonly CpioEntry[] = []): CpioEntry[] {
  const entries = new Map<string, CpioEntry>();
  for (const d of BASE_DIRS) entries.set(d, { type: 'dir', path: d, mode: d === 'root' ? 0o700 : d === 'tmp' ? 0o1777 : 0o755 });
  for (const n of DEVICE_NODES) entries.set(n.path, n);
  entries.set('init', { type: 'file', path: 'init', data: init, mode: 0o755 });
  entries.set('bin/busybox', { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  const text = (s: string) => new TextEncoder().encode(s);
  entries.set('etc/passwd', { type: 'file', path: 'etc/passwd', data: text('root:x:0:0:root:/root:/bin/sh\n') });
  entries.set('etc/group', { type: 'file', path: 'etc/group', data: text('root:x:0:\n') });
  for (const a of applets) {
    const dir = a.slice(0, a.lastIndexOf('/'));
    // Only applets that live in the standard folders; never replace a file set above.
    if (!BASE_DIRS.includes(dir) || entries.has(a)) continue;
    entries.set(a, { type: 'symlink', path: a, target: '/bin/busybox' });
  }
  for (const e of extra) {
    const had = entries.get(e.path);
    if (had && !(had.type === 'dir' && e.type === 'dir')) throw new Error(`guest-kit: initramfs entry '${e.path}' is given twice`);
    entries.set(e.path, e);
  }
  return [...entries.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** The gzip-compressed newc archive. Deterministic: same inputs give the same bytes. */
export async function buildInitramfs(busyboxPath: string, initScriptPath: string, extra: readonly CpioEntry[] = []): Promise<Uint8Array> {
  const [busybox, init, applets] = await Promise.all([
    readFile(busyboxPath),
    readFile(initScriptPath),
    busyboxApplets(busyboxPath),
  ]);
  const cpio = writeCpioNewc(initramfsEntries(busybox, applets, init, extra));
  // zlib writes mtime 0 and a fixed OS byte into the gzip header, keeping the output stable.
  return gzipSync(cpio, { level: 9 });
}

export const INIT_SCRIPT = join(import.meta.dirname, 'init.sh');
