// `hangar demo`: one command that gives a new user a VM to start — "Demo Linux", booting the
// guest kit's Debian kernel and busybox initramfs directly, console on COM1.
import type { Command } from 'commander';
import { join } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import { openLibrary } from './library.ts';

export const DEMO_NAME = 'Demo Linux';
export const DEMO_CMDLINE = 'console=ttyS0 reboot=k panic=1 8250.nr_uarts=4';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(`create the "${DEMO_NAME}" VM from the guest kit (Debian kernel + busybox initramfs, serial console)`)
    .option('--name <name>', 'VM name', DEMO_NAME)
    .option('--memory <mib>', 'guest RAM in MiB', '256')
    .action(async (o: { name: string; memory: string }) => {
      const memoryMiB = Number(o.memory);
      if (!Number.isInteger(memoryMiB) || memoryMiB < 64 || memoryMiB > 65536) throw new HangarError('usage', `--memory: "${o.memory}" is not valid; allowed: a whole number from 64 to 65536`);
      process.stderr.write('Preparing the guest kit (downloads Debian packages the first time)...\n');
      // The guest kit is a build script; load it only when a demo is asked for.
      const { ensureGuestKit } = await import('../../../scripts/guest-kit.ts');
      const kit = await ensureGuestKit();
      const res = await openLibrary().create({
        name: o.name, osType: 'Linux_64', memoryMiB, description: `Debian kernel ${kit.kernelVersion} with a busybox initramfs (Hangar guest kit)`,
        customize: (c) => {
          c.firmware = { type: 'linux', kernel: kit.kernel, initrd: kit.initramfs, cmdline: DEMO_CMDLINE };
          c.bootOrder = [];
          c.storage = [];
          c.network = [];
          c.display.controller = 'none';
          c.serial = [{ port: 'COM1', mode: 'file', path: join('Logs', 'com1.log') }];
        },
      });
      process.stdout.write(`Created VM "${res.config.name}" (UUID ${res.config.uuid})\nStart it with: hangar start ${JSON.stringify(res.config.name)}\n`);
    });
}
