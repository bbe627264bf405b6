// Builds the bootable test ISO: isolinux (BIOS El Torito, no emulation) loading the same kernel
// and initramfs as direct boot, with the console on the first serial port so the marker and the
// shell appear exactly as they do with -kernel/-initrd.
import { copyFile, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './run.ts';

/** Kernel command line of the ISO's default entry (and of the `poweroff` entry plus the flag). */
export const ISO_APPEND = 'console=ttyS0,115200 panic=-1';

/**
 * isolinux.cfg: SERIAL first so isolinux itself talks on ttyS0; the default label boots at once
 * (TIMEOUT 1 = 0.1 s, no prompt) into the interactive guest; `poweroff` is there for a human or
 * a test typing it at the boot prompt.
 */
export function isolinuxConfig(): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT hangar',
    'PROMPT 0',
    'TIMEOUT 1',
    '',
    'LABEL hangar',
    '  KERNEL /boot/vmlinuz',
    '  INITRD /boot/initrd.gz',
    `  APPEND ${ISO_APPEND}`,
    '',
    'LABEL poweroff',
    '  KERNEL /boot/vmlinuz',
    '  INITRD /boot/initrd.gz',
    `  APPEND ${ISO_APPEND} hangar.action=poweroff`,
    '',
  ].join('\n');
}

export interface IsoInputs {
  kernel: string;
  initramfs: string;
  isolinuxBin: string; // from Debian's isolinux package
  ldlinuxC32: string; // from Debian's syslinux-common package (isolinux loads it at start)
}

/** Fixed time for every date in the image (2023-11-14), so rebuilds are byte-identical. */
const EPOCH = 1700000000;

/**
 * Lays out the ISO tree in `stage` and runs xorriso. SOURCE_DATE_EPOCH pins the volume dates
 * and UUID and makes xorriso record each file's mtime, which is pinned here too, so rebuilding
 * from the same inputs gives the same image.
 */
export async function buildIso(inputs: IsoInputs, stage: string, out: string): Promise<void> {
  await mkdir(join(stage, 'isolinux'), { recursive: true });
  await mkdir(join(stage, 'boot'), { recursive: true });
  await copyFile(inputs.isolinuxBin, join(stage, 'isolinux', 'isolinux.bin'));
  await copyFile(inputs.ldlinuxC32, join(stage, 'isolinux', 'ldlinux.c32'));
  await writeFile(join(stage, 'isolinux', 'isolinux.cfg'), isolinuxConfig());
  await copyFile(inputs.kernel, join(stage, 'boot', 'vmlinuz'));
  await copyFile(inputs.initramfs, join(stage, 'boot', 'initrd.gz'));
  const paths = ['isolinux/isolinux.bin', 'isolinux/ldlinux.c32', 'isolinux/isolinux.cfg', 'boot/vmlinuz', 'boot/initrd.gz', 'isolinux', 'boot', '.'];
  for (const p of paths) await utimes(join(stage, p), EPOCH, EPOCH);
  await runOk(
    'xorriso',
    [
      '-as', 'mkisofs',
      '-o', out,
      '-V', 'HANGAR_GUEST',
      '-R', '-J',
      '-b', 'isolinux/isolinux.bin',
      '-c', 'isolinux/boot.cat',
      '-no-emul-boot',
      '-boot-load-size', '4',
      '-boot-info-table',
      stage,
    ],
    { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, hint: 'install it with: apt-get install xorriso' },
  );
}
