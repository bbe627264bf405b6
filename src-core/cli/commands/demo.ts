// `hangar demo`: one command that gives a new user a VM to start — "Demo Linux", booting the
// guest kit's Debian kernel and busybox initramfs directly, console on COM1.
import type { Command } from 'commander';
import { createDemoVm, DEMO_NAME } from '../../vmm/demo-vm.ts';
import { parseIntOption } from '../parse.ts';
import { openLibrary } from './library.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(`create the "${DEMO_NAME}" VM from the guest kit (Debian kernel + busybox initramfs, serial console)`)
    .option('--name <name>', 'VM name', DEMO_NAME)
    .option('--memory <mib>', 'guest RAM in MiB', '256')
    .action(async (o: { name: string; memory: string }) => {
      const memoryMiB = parseIntOption('--memory', o.memory, 64, 65536);
      process.stderr.write('Preparing the guest kit (downloads Debian packages the first time)...\n');
      // The guest kit is a build script; load it only when a demo is asked for.
      const { ensureGuestKit } = await import('../../../scripts/guest-kit.ts');
      const kit = await ensureGuestKit();
      const res = await createDemoVm(openLibrary(), kit, { name: o.name, memoryMiB });
      process.stdout.write(`Created VM "${res.config.name}" (UUID ${res.config.uuid})\nStart it with: hangar start ${JSON.stringify(res.config.name)}\n`);
    });
}
