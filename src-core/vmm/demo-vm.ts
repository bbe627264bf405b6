// The "Demo Linux" VM: the guest kit's Debian kernel and busybox initramfs, booted directly
// (firmware linux), console on COM1 (also written to Logs/com1.log). `hangar demo` and the
// integration tests create it the same way.
import { join } from 'node:path';
import type { Library } from '../library/library.ts';
import type { MachineConfig } from '../library/config.ts';

export const DEMO_NAME = 'Demo Linux';
export const DEMO_CMDLINE = 'console=ttyS0 reboot=k panic=1';

export interface DemoKit {
  kernel: string;
  initramfs: string;
  kernelVersion: string;
}

export function createDemoVm(lib: Library, kit: DemoKit, opts: { name?: string; memoryMiB?: number; cmdline?: string } = {}): Promise<{ path: string; config: MachineConfig }> {
  return lib.create({
    name: opts.name ?? DEMO_NAME,
    osType: 'Linux_64',
    memoryMiB: opts.memoryMiB ?? 256,
    description: `Debian kernel ${kit.kernelVersion} with a busybox initramfs (Hangar guest kit)`,
    customize: (c) => {
      c.firmware = { type: 'linux', kernel: kit.kernel, initrd: kit.initramfs, cmdline: opts.cmdline ?? DEMO_CMDLINE };
      c.bootOrder = [];
      c.storage = [];
      c.network = [];
      c.display.controller = 'none';
      c.serial = [{ port: 'COM1', mode: 'file', path: join('Logs', 'com1.log') }];
    },
  });
}
