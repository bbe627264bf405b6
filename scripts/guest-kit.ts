// The guest kit: real test guests built from Debian 12 packages, without root, for integration
// tests, benchmarks and the demo VM. It produces
//   - the stock Debian amd64 kernel (the package linux-image-amd64 depends on), also unpacked
//     to an ELF vmlinux that Hangar's engine boots without the decompressor,
//   - a gzip'd cpio initramfs of busybox-static whose /init prints HANGAR-GUEST-READY on ttyS0
//     and then powers off (hangar.action=poweroff) or runs a shell on ttyS0 with acpid
//     powering the guest off on the ACPI power button (the button and evdev modules included),
//   - an isolinux ISO booting the same kernel and initramfs with a serial console,
//   - modules.cpio.gz, optional disk/CD/NIC/filesystem drivers to append to the initramfs,
// cached under .cache/guest-kit/<key>/, the key made of the package versions and a hash of the
// recipe, so a second call only checks apt's versions and returns the cached paths.
//
// Usage: npx tsx scripts/guest-kit.ts [--json]   (paths on stdout, progress on stderr)
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadDeb, ensureAptLists, extractDeb, kernelPackageName, resolvePackages, type PackageRef } from './guest-kit/apt.ts';
import { buildInitramfs, INIT_SCRIPT } from './guest-kit/initramfs.ts';
import { buildIso, isolinuxConfig } from './guest-kit/iso.ts';
import { acquireLock } from './guest-kit/lock.ts';
import { ToolMissingError } from './guest-kit/run.ts';
import { extractVmlinux } from './guest-kit/vmlinux.ts';
import { buildModulesArchive, MODULE_PATTERNS, powerButtonEntries, readModules } from './guest-kit/modules.ts';

export interface GuestKit {
  /** The kit's cache folder (also holds the kernel's config and kit.json). */
  dir: string;
  /** bzImage of the Debian kernel. */
  kernel: string;
  /**
   * The same kernel uncompressed (ELF vmlinux), which Hangar's engine boots without running the
   * XZ decompressor; absent when the host had no `xz` when the kit was built.
   */
  vmlinux?: string;
  /** gzip'd cpio newc initramfs with busybox and the Hangar /init. */
  initramfs: string;
  /** Bootable isolinux ISO with the same kernel and initramfs, serial console on ttyS0. */
  iso: string;
  /** Kernel release as `uname -r` prints it in the guest, e.g. 6.1.0-56-amd64. */
  kernelVersion: string;
  /** Debian version of busybox-static, e.g. 1:1.35.0-4+deb12u1+b1. */
  busyboxVersion: string;
}

/**
 * Bump when the recipe changes in a way the hashed inputs below do not capture.
 * 4: the base initramfs carries the power-button modules (evdev, button) and /init runs acpid;
 *    the kit also holds the kernel unpacked to an ELF vmlinux.
 */
const RECIPE_VERSION = 4;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Cache root; HANGAR_GUEST_KIT_CACHE overrides it (e.g. to test a fresh build elsewhere). */
export function guestKitCacheRoot(): string {
  return process.env.HANGAR_GUEST_KIT_CACHE ? resolve(process.env.HANGAR_GUEST_KIT_CACHE) : join(REPO_ROOT, '.cache', 'guest-kit');
}

interface KitPackages {
  kernel: PackageRef;
  busybox: PackageRef;
  isolinux: PackageRef;
  syslinuxCommon: PackageRef;
}

interface KitManifest {
  recipe: number;
  packages: KitPackages;
  kernelVersion: string;
  files: { kernel: string; initramfs: string; iso: string; modules: string; vmlinux?: string };
  modules: string[];
  builtAt: string;
}

const FILES = { kernel: 'vmlinuz', initramfs: 'initramfs.cpio.gz', iso: 'hangar-guest.iso', modules: 'modules.cpio.gz' } as const;
const VMLINUX = 'vmlinux';

/**
 * The kit's optional driver archive (disk, CD, network and filesystem modules; see
 * guest-kit/modules.ts). Append it to the initramfs to get a guest that sees devices:
 * `cat initramfs modules > initrd`, since the kernel unpacks concatenated archives in order.
 */
export function guestKitModules(kit: GuestKit): string {
  return join(kit.dir, FILES.modules);
}

async function resolveKitPackages(log: (msg: string) => void): Promise<KitPackages> {
  let kernelName = await kernelPackageName('linux-image-amd64');
  if (kernelName === null) {
    await ensureAptLists('linux-image-amd64', log);
    kernelName = await kernelPackageName('linux-image-amd64');
    if (kernelName === null) throw new Error(`guest-kit: the Debian package 'linux-image-amd64' is not available from apt`);
  }
  const [kernel, busybox, isolinux, syslinuxCommon] = await resolvePackages([kernelName, 'busybox-static', 'isolinux', 'syslinux-common']);
  return { kernel: kernel!, busybox: busybox!, isolinux: isolinux!, syslinuxCommon: syslinuxCommon! };
}

/** Folder name: readable package versions plus a hash of everything that shapes the output. */
async function kitKey(pkgs: KitPackages): Promise<string> {
  const init = await readFile(INIT_SCRIPT);
  const h = createHash('sha256');
  h.update(JSON.stringify({ RECIPE_VERSION, pkgs, cfg: isolinuxConfig() }));
  h.update(init);
  const safe = (v: string) => v.replace(/^\d+:/, '').replace(/[^A-Za-z0-9.+-]/g, '_');
  return `linux-${safe(pkgs.kernel.version)}_busybox-${safe(pkgs.busybox.version)}_${h.digest('hex').slice(0, 10)}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The kit in `dir` if it is complete (kit.json is written last, just before publishing). */
async function readKit(dir: string): Promise<(GuestKit & { builtAt: string }) | null> {
  let m: KitManifest;
  try {
    m = JSON.parse(await readFile(join(dir, 'kit.json'), 'utf8')) as KitManifest;
  } catch {
    return null;
  }
  const kit = {
    dir,
    kernel: join(dir, m.files.kernel),
    initramfs: join(dir, m.files.initramfs),
    iso: join(dir, m.files.iso),
    kernelVersion: m.kernelVersion,
    busyboxVersion: m.packages.busybox.version,
    builtAt: m.builtAt,
  };
  if (!m.files.modules) return null;
  for (const f of [kit.kernel, kit.initramfs, kit.iso, join(dir, m.files.modules)]) if (!(await exists(f))) return null;
  const vmlinux = m.files.vmlinux ? join(dir, m.files.vmlinux) : undefined;
  if (vmlinux && !(await exists(vmlinux))) return null;
  return { ...kit, ...(vmlinux ? { vmlinux } : {}) };
}

function strip(kit: GuestKit & { builtAt?: string }): GuestKit {
  const { dir, kernel, vmlinux, initramfs, iso, kernelVersion, busyboxVersion } = kit;
  return { dir, kernel, ...(vmlinux ? { vmlinux } : {}), initramfs, iso, kernelVersion, busyboxVersion };
}

/** The newest complete kit in the cache, used when apt cannot be asked (offline machine). */
async function newestCachedKit(root: string): Promise<GuestKit | null> {
  const names = await readdir(root).catch(() => [] as string[]);
  const kits = [];
  for (const n of names) {
    if (n.startsWith('.') || n === 'debs') continue;
    const k = await readKit(join(root, n));
    if (k) kits.push(k);
  }
  kits.sort((a, b) => b.builtAt.localeCompare(a.builtAt));
  return kits[0] ? strip(kits[0]) : null;
}

async function findOne(dir: string, re: RegExp, what: string): Promise<string> {
  const hit = (await readdir(dir).catch(() => [] as string[])).find((f) => re.test(f));
  if (!hit) throw new Error(`guest-kit: ${what} not found in ${dir}`);
  return join(dir, hit);
}

async function build(root: string, dest: string, pkgs: KitPackages, log: (msg: string) => void): Promise<void> {
  const debDir = join(root, 'debs');
  const work = await mkdtemp(join(root, '.build-'));
  try {
    const out = join(work, 'kit');
    await mkdir(out);
    const [kernelDeb, busyboxDeb, isolinuxDeb, syslinuxDeb] = [
      await downloadDeb(pkgs.kernel, debDir, log),
      await downloadDeb(pkgs.busybox, debDir, log),
      await downloadDeb(pkgs.isolinux, debDir, log),
      await downloadDeb(pkgs.syslinuxCommon, debDir, log),
    ];

    log(`extracting the kernel from ${pkgs.kernel.name}`);
    const kx = join(work, 'kernel-pkg');
    await extractDeb(kernelDeb!, kx, ['./boot/vmlinuz-*', './boot/config-*', ...MODULE_PATTERNS]);
    const vmlinuz = await findOne(join(kx, 'boot'), /^vmlinuz-/, `boot/vmlinuz-* of ${pkgs.kernel.name}`);
    const kernelVersion = vmlinuz.slice(vmlinuz.lastIndexOf('/') + 'vmlinuz-'.length + 1);
    await copyFile(vmlinuz, join(out, FILES.kernel));
    let vmlinux: string | undefined = VMLINUX;
    try {
      log('unpacking the kernel to an ELF vmlinux');
      await extractVmlinux(join(out, FILES.kernel), join(out, VMLINUX));
    } catch (e) {
      // Only a missing xz is tolerated: the kit still works, guests boot the bzImage.
      if (!(e instanceof ToolMissingError)) throw e;
      log(`${e.message}; the kit has no vmlinux, guests boot the bzImage`);
      vmlinux = undefined;
    }
    // The config is not part of the interface but tells device authors what is built in.
    // (The package's System.map is a placeholder; the real one is in the -dbg package.)
    await copyFile(join(kx, 'boot', `config-${kernelVersion}`), join(out, 'config')).catch(() => {});

    log('building the driver module archive');
    const koFiles = (await readdir(join(kx, 'lib', 'modules', kernelVersion), { recursive: true }))
      .filter((f) => f.endsWith('.ko'))
      .map((f) => join(kx, 'lib', 'modules', kernelVersion, f));
    const available = await readModules(koFiles);
    const mods = await buildModulesArchive(kernelVersion, available);
    await writeFile(join(out, FILES.modules), mods.archive);

    log('building the initramfs from busybox-static');
    const bx = join(work, 'busybox-pkg');
    await extractDeb(busyboxDeb!, bx, ['./bin/busybox']);
    const initramfs = await buildInitramfs(join(bx, 'bin', 'busybox'), INIT_SCRIPT, powerButtonEntries(kernelVersion, available).entries);
    await writeFile(join(out, FILES.initramfs), initramfs);

    log('building the isolinux ISO with xorriso');
    const ix = join(work, 'isolinux-pkg');
    await extractDeb(isolinuxDeb!, ix, ['./usr/lib/ISOLINUX/isolinux.bin']);
    await extractDeb(syslinuxDeb!, ix, ['./usr/lib/syslinux/modules/bios/ldlinux.c32']);
    await buildIso(
      {
        kernel: join(out, FILES.kernel),
        initramfs: join(out, FILES.initramfs),
        isolinuxBin: join(ix, 'usr/lib/ISOLINUX/isolinux.bin'),
        ldlinuxC32: join(ix, 'usr/lib/syslinux/modules/bios/ldlinux.c32'),
      },
      join(work, 'iso-root'),
      join(out, FILES.iso),
    );

    const manifest: KitManifest = {
      recipe: RECIPE_VERSION,
      packages: pkgs,
      kernelVersion,
      files: { ...FILES, ...(vmlinux ? { vmlinux } : {}) },
      modules: mods.order,
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(out, 'kit.json'), JSON.stringify(manifest, null, 2) + '\n');
    try {
      await rename(out, dest);
    } catch (e) {
      // Another builder published the same key first; its kit is equivalent, keep it.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function ensureGuestKit(opts?: { log?: (msg: string) => void }): Promise<GuestKit> {
  const log = opts?.log ?? ((msg: string) => process.stderr.write(`guest-kit: ${msg}\n`));
  const root = guestKitCacheRoot();
  await mkdir(root, { recursive: true });

  let pkgs: KitPackages;
  try {
    pkgs = await resolveKitPackages(log);
  } catch (e) {
    // Offline or broken apt: a kit built earlier is still a correct guest, so use it rather than
    // stop every test; without one, the apt error is the message.
    const cached = await newestCachedKit(root);
    if (!cached) throw e;
    log(`${(e as Error).message.replace(/^guest-kit: /, '')}; using the cached kit in ${cached.dir}`);
    return cached;
  }

  const dir = join(root, await kitKey(pkgs));
  const ready = await readKit(dir);
  if (ready) {
    log(`cached: ${dir}`);
    return strip(ready);
  }
  const release = await acquireLock(join(root, '.lock'), log);
  try {
    const again = await readKit(dir);
    if (again) {
      log(`cached (built by another process): ${dir}`);
      return strip(again);
    }
    log(`building kit for ${pkgs.kernel.name} ${pkgs.kernel.version}, busybox-static ${pkgs.busybox.version}`);
    if (await exists(dir)) await rm(dir, { recursive: true, force: true }); // incomplete leftover
    await build(root, dir, pkgs, log);
  } finally {
    await release();
  }
  const kit = await readKit(dir);
  if (!kit) throw new Error(`guest-kit: the kit in ${dir} is incomplete after building`);
  log(`built: ${dir}`);
  return strip(kit);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: npx tsx scripts/guest-kit.ts [--json]\n  builds (or finds cached) the test guest kernel, initramfs and ISO and prints their paths\n');
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`guest-kit: unknown argument '${unknown[0]}' (allowed: --json, --help)\n`);
    return 2;
  }
  const kit = await ensureGuestKit();
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify(kit, null, 2) + '\n');
  } else {
    process.stdout.write(
      [
        `dir:             ${kit.dir}`,
        `kernel:          ${kit.kernel}`,
        `vmlinux:         ${kit.vmlinux ?? '(none: xz was missing when the kit was built)'}`,
        `initramfs:       ${kit.initramfs}`,
        `iso:             ${kit.iso}`,
        `kernel version:  ${kit.kernelVersion}`,
        `busybox version: ${kit.busyboxVersion}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
