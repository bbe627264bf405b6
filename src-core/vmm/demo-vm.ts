// The "Demo Linux" VM: the guest kit's Debian kernel and busybox initramfs, booted directly
// (firmware linux), console on COM1 (also written to Logs/com1.log). `hangar demo` and the
// integration tests create it the same way.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Library } from '../library/library.ts';
import type { MachineConfig } from '../library/config.ts';

export const DEMO_NAME = 'Demo Linux';
export const DEMO_CMDLINE = 'console=ttyS0 reboot=k panic=1';

export interface DemoKit {
  /** The kit's folder: an uncompressed `vmlinux` there is preferred (see demoKernel). */
  dir?: string;
  kernel: string;
  initramfs: string;
  kernelVersion: string;
}

/**
 * The kernel the demo boots: the kit's uncompressed ELF vmlinux when one has been extracted
 * beside it (the engine boots it directly and skips the XZ decompressor, which is most of an
 * interpreted boot), else the bzImage.
 */
export function demoKernel(kit: DemoKit): string {
  const vmlinux = kit.dir ? join(kit.dir, 'vmlinux') : undefined;
  return vmlinux && existsSync(vmlinux) ? vmlinux : kit.kernel;
}

export function createDemoVm(lib: Library, kit: DemoKit, opts: { name?: string; memoryMiB?: number; cmdline?: string } = {}): Promise<{ path: string; config: MachineConfig }> {
  return lib.create({
    name: opts.name ?? DEMO_NAME,
    osType: 'Linux_64',
    memoryMiB: opts.memoryMiB ?? 256,
    description: `Debian kernel ${kit.kernelVersion} with a busybox initramfs (Hangar guest kit)`,
    customize: (c) => {
      c.firmware = { type: 'linux', kernel: demoKernel(kit), initrd: kit.initramfs, cmdline: opts.cmdline ?? DEMO_CMDLINE };
      c.bootOrder = [];
      c.storage = [];
      c.network = [];
      c.display.controller = 'none';
      c.serial = [{ port: 'COM1', mode: 'file', path: join('Logs', 'com1.log') }];
    },
  });
}
