// The guest kit's artefacts, checked against their formats: a bzImage, a gzip'd newc archive
// holding busybox and our /init, an El Torito ISO with isolinux and the same kernel; the cache
// (second call only reports it is cached); the CLI; and the error messages for apt problems.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureGuestKit, type GuestKit } from '../../../scripts/guest-kit.ts';
import { downloadDeb, extractDeb, kernelPackageName, resolvePackages } from '../../../scripts/guest-kit/apt.ts';
import { buildInitramfs, INIT_SCRIPT } from '../../../scripts/guest-kit/initramfs.ts';
import { MODULE_PATTERNS, powerButtonEntries, readModules } from '../../../scripts/guest-kit/modules.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..', '..');

let kit: GuestKit;
beforeAll(async () => {
  kit = await ensureGuestKit({ log: () => {} });
});

/** Names and modes of a newc archive (enough to check what the guest will see). */
function listNewc(buf: Buffer): Map<string, { mode: number; data: Buffer; rdev: [number, number] }> {
  const out = new Map<string, { mode: number; data: Buffer; rdev: [number, number] }>();
  let off = 0;
  for (;;) {
    const h = buf.toString('latin1', off, off + 110);
    if (!h.startsWith('070701')) throw new Error(`bad newc magic at ${off}`);
    const f = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const name = buf.toString('latin1', off + 110, off + 110 + f(11) - 1);
    const dataStart = Math.ceil((off + 110 + f(11)) / 4) * 4;
    if (name === 'TRAILER!!!') return out;
    out.set(name, { mode: f(1), data: buf.subarray(dataStart, dataStart + f(6)), rdev: [f(9), f(10)] });
    off = Math.ceil((dataStart + f(6)) / 4) * 4;
  }
}

describe('guest kit', () => {
  it('returns absolute paths inside the ignored cache and the versions', () => {
    for (const p of [kit.dir, kit.kernel, kit.initramfs, kit.iso]) expect(isAbsolute(p)).toBe(true);
    expect(kit.dir.startsWith(join(REPO, '.cache', 'guest-kit') + '/')).toBe(true);
    for (const p of [kit.kernel, kit.initramfs, kit.iso]) expect(p.startsWith(kit.dir + '/')).toBe(true);
    expect(kit.kernelVersion).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(kit.busyboxVersion).toMatch(/^(\d+:)?1\.\d+/);
  });

  it('names the kit folder after the package versions apt resolves', async () => {
    const kernelPkg = await kernelPackageName();
    expect(kernelPkg).toBe(`linux-image-${kit.kernelVersion}`);
    const [k, b] = await resolvePackages([kernelPkg!, 'busybox-static']);
    expect(b!.version).toBe(kit.busyboxVersion);
    const base = kit.dir.slice(kit.dir.lastIndexOf('/') + 1);
    expect(base).toContain(`linux-${k!.version.replace(/^\d+:/, '')}_`);
    expect(base).toContain(`busybox-${b!.version.replace(/^\d+:/, '')}_`);
  });

  it('kernel is an x86 bzImage with a 64-bit entry', async () => {
    const k = await readFile(kit.kernel);
    expect(k.toString('latin1', 0x202, 0x206)).toBe('HdrS');
    expect(k.readUInt16LE(0x1fe)).toBe(0xaa55);
    expect(k.readUInt16LE(0x206)).toBeGreaterThanOrEqual(0x20c); // boot protocol 2.12+
    expect(k.readUInt16LE(0x236) & 1).toBe(1); // xloadflags XLF_KERNEL_64
    expect(k.length).toBeGreaterThan(4 << 20);
  });

  it('initramfs is a gzip newc archive with busybox, applets, device nodes and the /init', async () => {
    const gz = await readFile(kit.initramfs);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const files = listNewc(gunzipSync(gz));
    const init = files.get('init')!;
    expect(init.mode).toBe(0o100755);
    expect(init.data.equals(await readFile(INIT_SCRIPT))).toBe(true);
    const text = init.data.toString();
    expect(text).toContain('HANGAR-GUEST-READY');
    expect(text).toContain('mount -t devtmpfs devtmpfs /dev');
    expect(text).toContain('hangar.action=');
    const bb = files.get('bin/busybox')!;
    expect(bb.mode).toBe(0o100755);
    expect(bb.data.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    for (const applet of ['bin/sh', 'bin/mount', 'sbin/poweroff', 'usr/bin/setsid', 'bin/cat']) {
      expect(files.get(applet)?.mode, applet).toBe(0o120777);
      expect(files.get(applet)!.data.toString()).toBe('/bin/busybox');
    }
    expect(files.get('dev/console')).toMatchObject({ mode: 0o020600, rdev: [5, 1] });
    for (const d of ['proc', 'sys', 'dev', 'tmp']) expect(files.get(d)!.mode & 0o170000).toBe(0o040000);
  });

  it('initramfs is exactly what the recipe rebuilds from the cached busybox and kernel packages', async () => {
    const debDir = join(REPO, '.cache', 'guest-kit', 'debs');
    const tmp = await mkdtemp(join(tmpdir(), 'hangar-gk-'));
    try {
      const deb = await downloadDeb({ name: 'busybox-static', version: kit.busyboxVersion }, debDir, () => {});
      await extractDeb(deb, tmp, ['./bin/busybox']);
      // The power-button modules (evdev, button) come from the kernel package.
      const [kernel] = await resolvePackages([`linux-image-${kit.kernelVersion}`]);
      const kdeb = await downloadDeb(kernel!, debDir, () => {});
      const kx = join(tmp, 'kernel');
      await extractDeb(kdeb, kx, [...MODULE_PATTERNS]);
      const modDir = join(kx, 'lib', 'modules', kit.kernelVersion);
      const ko = (await readdir(modDir, { recursive: true })).filter((f) => f.endsWith('.ko')).map((f) => join(modDir, f));
      const extra = powerButtonEntries(kit.kernelVersion, await readModules(ko)).entries;
      const a = await buildInitramfs(join(tmp, 'bin', 'busybox'), INIT_SCRIPT, extra);
      const b = await buildInitramfs(join(tmp, 'bin', 'busybox'), INIT_SCRIPT, extra);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(a).equals(await readFile(kit.initramfs))).toBe(true);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('ISO is El Torito bootable with isolinux, a serial config and the same kernel and initramfs', async () => {
    const iso = await readFile(kit.iso);
    // Sector 16: primary volume descriptor; sector 17: El Torito boot record.
    expect(iso.toString('latin1', 16 * 2048 + 1, 16 * 2048 + 6)).toBe('CD001');
    expect(iso.toString('latin1', 17 * 2048 + 7, 17 * 2048 + 30)).toBe('EL TORITO SPECIFICATION');
    const ls = await run('xorriso', ['-indev', kit.iso, '-find', '/', '-type', 'f'], { maxBuffer: 1 << 20 });
    for (const f of ['/isolinux/isolinux.bin', '/isolinux/ldlinux.c32', '/isolinux/isolinux.cfg', '/boot/vmlinuz', '/boot/initrd.gz']) {
      expect(ls.stdout).toContain(`'${f}'`);
    }
    const tmp = await mkdtemp(join(tmpdir(), 'hangar-gk-'));
    try {
      await run('xorriso', ['-osirrox', 'on', '-indev', kit.iso, '-extract', '/isolinux/isolinux.cfg', join(tmp, 'cfg'),
        '-extract', '/boot/vmlinuz', join(tmp, 'vmlinuz'), '-extract', '/boot/initrd.gz', join(tmp, 'initrd')]);
      const cfg = await readFile(join(tmp, 'cfg'), 'utf8');
      expect(cfg).toMatch(/^SERIAL 0 115200$/m);
      expect(cfg).toMatch(/APPEND .*console=ttyS0/);
      expect((await readFile(join(tmp, 'vmlinuz'))).equals(await readFile(kit.kernel))).toBe(true);
      expect((await readFile(join(tmp, 'initrd'))).equals(await readFile(kit.initramfs))).toBe(true);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('a second call only reports the cached kit and returns the same paths', async () => {
    const logs: string[] = [];
    const again = await ensureGuestKit({ log: (m) => logs.push(m) });
    expect(again).toEqual(kit);
    expect(logs).toEqual([`cached: ${kit.dir}`]);
  });

  it('the script prints the kit as JSON on stdout and progress on stderr', async () => {
    const r = await run('npx', ['tsx', 'scripts/guest-kit.ts', '--json'], { cwd: REPO });
    expect(JSON.parse(r.stdout)).toEqual(kit);
    expect(r.stderr).toContain('cached');
    const human = await run('npx', ['tsx', 'scripts/guest-kit.ts'], { cwd: REPO });
    expect(human.stdout).toContain(`iso:             ${kit.iso}`);
    const bad = await run('npx', ['tsx', 'scripts/guest-kit.ts', '--bogus'], { cwd: REPO }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain("unknown argument '--bogus'");
  });

  it('fails with a message naming a package apt does not have', async () => {
    await expect(resolvePackages(['busybox-static', 'hangar-no-such-package'])).rejects.toThrow(
      /Debian package 'hangar-no-such-package' is not available from apt/,
    );
    expect(await kernelPackageName('hangar-no-such-metapackage')).toBeNull();
    const debs = await mkdtemp(join(tmpdir(), 'hangar-gk-nodeb-'));
    try {
      await expect(downloadDeb({ name: 'busybox-static', version: '0.0-hangar-missing' }, debs, () => {}))
        .rejects.toThrow(/could not download the Debian package busybox-static=0.0-hangar-missing/);
      // Nothing half-downloaded is left under a cached name.
      expect(await readdir(debs)).toEqual([]);
    } finally {
      await rm(debs, { recursive: true, force: true });
    }
  });
});
