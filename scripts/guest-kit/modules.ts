// Optional driver modules for the test guest. The Debian kernel builds its disk, CD, network
// and filesystem drivers as modules, so a guest booted from the base initramfs sees no disks.
// The kit therefore also makes modules.cpio.gz: the drivers below plus everything they depend
// on, and a load order that /init follows (after printing the marker, and only for the
// interactive guest). The kernel accepts concatenated initramfs archives, so a caller that
// wants devices boots with `initramfs + modules.cpio.gz` as one initrd.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCpioNewc, type CpioEntry } from './cpio-newc.ts';

/**
 * Drivers for the devices a Hangar (or QEMU) PC offers: PIIX IDE and AHCI disks and CDs,
 * virtio-pci block and network, e1000, and the ext4 and ISO 9660 filesystems. crc32c is loaded
 * explicitly because ext4 asks the crypto API for it at mount time, not as a module dependency.
 */
export const GUEST_MODULES = [
  'ata_piix',
  'ahci',
  'sd_mod',
  'sr_mod',
  'virtio_pci',
  'virtio_blk',
  'virtio_net',
  'e1000',
  'crc32c_generic',
  'ext4',
  'isofs',
] as const;

/**
 * Where those modules and their dependencies live inside the kernel package, as tar patterns
 * (matched with --no-wildcards-match-slash, so `*` stays inside one folder).
 */
export const MODULE_PATTERNS = [
  './lib/modules/*/kernel/drivers/ata/*.ko',
  './lib/modules/*/kernel/drivers/scsi/*.ko',
  './lib/modules/*/kernel/drivers/cdrom/*.ko',
  './lib/modules/*/kernel/drivers/block/*.ko',
  './lib/modules/*/kernel/drivers/virtio/*.ko',
  './lib/modules/*/kernel/drivers/net/*.ko',
  './lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/*.ko',
  './lib/modules/*/kernel/fs/*.ko',
  './lib/modules/*/kernel/fs/ext4/*.ko',
  './lib/modules/*/kernel/fs/jbd2/*.ko',
  './lib/modules/*/kernel/fs/isofs/*.ko',
  './lib/modules/*/kernel/lib/*.ko',
  './lib/modules/*/kernel/crypto/*.ko',
  './lib/modules/*/kernel/block/*.ko',
  './lib/modules/*/kernel/net/core/*.ko',
  './lib/modules/*/kernel/drivers/acpi/*.ko',
  './lib/modules/*/kernel/drivers/input/*.ko',
];

/**
 * Built into the base initramfs rather than the optional archive, so every kit guest (demo VM,
 * ISO) answers the ACPI power button: `button` turns the fixed power-button event into a
 * KEY_POWER input event and `evdev` exposes it as /dev/input/event*, where busybox acpid
 * (started by /init) reads it. Both are modules in Debian's kernel (CONFIG_ACPI_BUTTON=m,
 * CONFIG_INPUT_EVDEV=m), neither has dependencies.
 */
export const POWER_BUTTON_MODULES = ['evdev', 'button'] as const;

/** Module names treat '-' and '_' alike (t10-pi.ko is "t10_pi"). */
export function moduleName(file: string): string {
  return basename(file).replace(/\.ko$/, '').replace(/-/g, '_');
}

/**
 * Reads the `depends=` entry of a module's .modinfo ELF section: the modules that must be
 * loaded first. Debian ships no modules.dep (depmod runs at install), so this is the source.
 */
export function moduleDepends(ko: Uint8Array, file = 'module'): string[] {
  const buf = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error(`guest-kit: ${file} is not a 64-bit little-endian ELF module`);
  }
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) {
    throw new Error(`guest-kit: ${file} has a section header table outside the file`);
  }
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: buf.readUInt32LE(at), offset: Number(buf.readBigUInt64LE(at + 0x18)), size: Number(buf.readBigUInt64LE(at + 0x20)) };
  };
  const strtab = section(shstrndx);
  const nameOf = (off: number) => {
    const start = strtab.offset + off;
    const end = buf.indexOf(0, start);
    return buf.toString('latin1', start, end < 0 ? start : end);
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== '.modinfo') continue;
    if (s.offset + s.size > buf.length) throw new Error(`guest-kit: ${file} has a .modinfo section outside the file`);
    for (const field of buf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      if (field.startsWith('depends=')) {
        return field.slice('depends='.length).split(',').filter((d) => d !== '').map((d) => d.replace(/-/g, '_'));
      }
    }
    return [];
  }
  throw new Error(`guest-kit: ${file} has no .modinfo section`);
}

/**
 * Load order for `wanted`: every module after all of its dependencies, each once. `available`
 * maps module names to their bytes; a missing dependency is an error naming who needs it.
 */
export function moduleLoadOrder(wanted: readonly string[], available: ReadonlyMap<string, Uint8Array>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, neededBy: string | null): void => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`guest-kit: module dependency cycle through '${name}'`);
    const ko = available.get(name);
    if (!ko) {
      throw new Error(`guest-kit: kernel module '${name}'${neededBy ? ` (needed by '${neededBy}')` : ''} is not in the extracted kernel package`);
    }
    state.set(name, 'visiting');
    for (const dep of moduleDepends(ko, `${name}.ko`)) visit(dep, name);
    state.set(name, 'done');
    order.push(name);
  };
  for (const w of wanted) visit(w, null);
  return order;
}

/** The load-order file inside the archive; /init reads it. */
export function loadOrderPath(kernelVersion: string): string {
  return `lib/modules/${kernelVersion}/hangar-load-order`;
}

/** The base initramfs's own load order (the power-button modules); /init loads it first. */
export function baseLoadOrderPath(kernelVersion: string): string {
  return `lib/modules/${kernelVersion}/hangar-base-load-order`;
}

/** Module bytes by module name, read from `.ko` files (absolute paths). */
export async function readModules(moduleFiles: readonly string[]): Promise<Map<string, Uint8Array>> {
  const available = new Map<string, Uint8Array>();
  for (const f of moduleFiles) available.set(moduleName(f), await readFile(f));
  return available;
}

/** Archive entries for `order` (already dependency-sorted) plus its load-order file at `orderPath`. */
function moduleEntries(kernelVersion: string, order: readonly string[], available: ReadonlyMap<string, Uint8Array>, orderPath: string): CpioEntry[] {
  const base = `lib/modules/${kernelVersion}`;
  return [
    { type: 'dir', path: 'lib' },
    { type: 'dir', path: 'lib/modules' },
    { type: 'dir', path: base },
    ...order.map((name): CpioEntry => ({ type: 'file', path: `${base}/${name}.ko`, data: available.get(name)! })),
    { type: 'file', path: orderPath, data: new TextEncoder().encode(order.map((n) => `/${base}/${n}.ko\n`).join('')) },
  ];
}

/**
 * Entries the base initramfs gets for the power button: the modules of POWER_BUTTON_MODULES
 * (with any dependencies) and their load order at baseLoadOrderPath.
 */
export function powerButtonEntries(kernelVersion: string, available: ReadonlyMap<string, Uint8Array>): { entries: CpioEntry[]; order: string[] } {
  const order = moduleLoadOrder(POWER_BUTTON_MODULES, available);
  return { entries: moduleEntries(kernelVersion, order, available, baseLoadOrderPath(kernelVersion)), order };
}

/**
 * modules.cpio.gz from the `.ko` files found under `moduleFiles` (absolute paths): the modules
 * flat in /lib/modules/<version>/ and the load order as absolute guest paths, one per line.
 */
export async function buildModulesArchive(kernelVersion: string, moduleFiles: readonly string[] | ReadonlyMap<string, Uint8Array>): Promise<{ archive: Uint8Array; order: string[] }> {
  const available = moduleFiles instanceof Map ? moduleFiles : await readModules(moduleFiles as readonly string[]);
  const order = moduleLoadOrder(GUEST_MODULES, available);
  const entries = moduleEntries(kernelVersion, order, available, loadOrderPath(kernelVersion));
  return { archive: gzipSync(writeCpioNewc(entries), { level: 9 }), order };
}

