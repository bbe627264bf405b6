// Commands for running VMs: start, control, discardstate, stats, console (`list --running` is
// the list command's, in library.ts, answered by the VMM). Each VM runs in its own process;
// these commands talk to it through its control socket, so they work from any shell while the
// VM runs.
import type { Command } from 'commander';
import { HangarError, usageError } from '../../api/errors.ts';
import { ControlClient } from '../../vmm/control-client.ts';
import { bootProgram } from '../../vmm/engines/boot-program.ts';
import { policyFromEnv } from '../../vmm/host-resources.ts';
import { isLive, type VmState } from '../../vmm/states.ts';
import { formatSample, type StatsSample } from '../../vmm/stats.ts';
import { effectiveState, vmFiles } from '../../vmm/vm-files.ts';
import { VmManager } from '../../vmm/vm-manager.ts';
import { printJson } from '../parse.ts';
import { openLibrary } from './library.ts';
import { attachConsole, DETACH_KEY_NAME } from './console.ts';

/** `hangar control` actions and the protocol commands they send. */
export const CONTROL_ACTIONS: Record<string, string> = {
  pause: 'pause', resume: 'resume', reset: 'reset', acpipowerbutton: 'acpi-powerbutton', poweroff: 'poweroff', savestate: 'savestate',
};

function manager(): VmManager {
  return new VmManager(openLibrary(), { policy: policyFromEnv() });
}

async function waitForState(ref: string, want: (s: VmState) => boolean, timeoutMs = 30_000): Promise<VmState> {
  const lib = openLibrary();
  const { path, config } = await lib.get(ref);
  const files = vmFiles(path, config.uuid);
  const t0 = Date.now();
  for (;;) {
    const s = await effectiveState(files);
    if (want(s.state)) return s.state;
    if (Date.now() - t0 > timeoutMs) throw new HangarError('io', `VM "${config.name}" is still ${s.state} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function registerVmCommands(program: Command): void {
  program
    .command('start')
    .description('start a VM in its own process (restores a saved state if it has one)')
    .argument('<vm>', 'VM name or UUID')
    .option('--headless', 'run in the background and print the control socket instead of attaching the console')
    .option('--boot-test-program', 'diagnostics: boot Hangar\'s built-in real-mode test program instead of the configured OS')
    .action(async (ref: string, o: { headless?: boolean; bootTestProgram?: boolean }) => {
      const m = manager();
      const boot = o.bootTestProgram ? { kind: 'program' as const, imageB64: Buffer.from(bootProgram()).toString('base64') } : undefined;
      const r = await m.start(ref, { detached: true, ...(boot ? { boot } : {}) });
      const { config } = await m.library.get(ref);
      if (o.headless) {
        process.stdout.write(`VM "${config.name}" is ${r.state} (process ${r.pid}).\nControl socket: ${r.socket}\n`);
        // Consoles the VM process serves on TCP (serial mode tcp): how to reach them.
        for (const sp of config.serial) if (sp.mode === 'tcp') process.stdout.write(`${sp.port} console: nc 127.0.0.1 ${sp.tcpPort}\n`);
        return;
      }
      process.stderr.write(`VM "${config.name}" is ${r.state} (process ${r.pid}). ${DETACH_KEY_NAME} detaches; "hangar control ${JSON.stringify(config.name)} poweroff" stops it.\n`);
      await attachConsole(await ControlClient.connect(r.socket), config.name);
    });

  program
    .command('control')
    .description(`control a running VM: ${Object.keys(CONTROL_ACTIONS).join('|')}`)
    .argument('<vm>', 'VM name or UUID')
    .argument('<action>', Object.keys(CONTROL_ACTIONS).join('|'))
    .action(async (ref: string, action: string) => {
      const cmd = CONTROL_ACTIONS[action];
      if (!cmd) throw usageError(`control: unknown action "${action}"; allowed: ${Object.keys(CONTROL_ACTIONS).join(', ')}`);
      const m = manager();
      const r = await m.control<Record<string, unknown>>(ref, cmd as never);
      if (action === 'poweroff') {
        const s = await waitForState(ref, (st) => !isLive(st));
        process.stdout.write(`VM "${ref}" is ${s}\n`);
      } else if (action === 'savestate') {
        process.stdout.write(`VM "${ref}" is Saved (${String(r.file)}, ${String(r.ms)} ms); "hangar start" restores it\n`);
      } else if (action === 'acpipowerbutton') {
        process.stdout.write(`Pressed the power button of "${ref}"; the guest decides how to shut down\n`);
      } else {
        process.stdout.write(`VM "${ref}" is ${String(r.state)}\n`);
      }
    });

  program
    .command('discardstate')
    .description('discard a VM\'s saved state (the VM becomes PoweredOff)')
    .argument('<vm>', 'VM name or UUID')
    .action(async (ref: string) => {
      await manager().discardState(ref);
      process.stdout.write(`Discarded the saved state of "${ref}"; it is PoweredOff\n`);
    });

  program
    .command('stats')
    .description('statistics of a running VM (sampled every second)')
    .argument('<vm>', 'VM name or UUID')
    .option('--follow', 'print a line every second until interrupted or the VM stops')
    .option('--history <seconds>', 'print the samples of the last SECONDS (up to 3600)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, o: { follow?: boolean; history?: string; json?: boolean }) => {
      const client = await manager().connect(ref);
      const out = (s: StatsSample): void => {
        process.stdout.write(o.json ? JSON.stringify(s) + '\n' : formatSample(s) + '\n');
      };
      try {
        if (o.history !== undefined) {
          if (!/^\d+$/.test(o.history) || Number(o.history) > 3600) throw usageError(`--history: "${o.history}" is not valid; allowed: a whole number of seconds from 0 to 3600`);
          const r = await client.request<{ history: StatsSample[] }>('query-stats', { history: Number(o.history) });
          r.history.forEach(out);
        } else if (!o.follow) {
          const r = await client.request<{ current: StatsSample | null }>('query-stats');
          if (!r.current) throw new HangarError('state', 'no sample yet: the VM started less than a second ago; try again');
          if (o.json) printJson(r.current);
          else out(r.current);
        }
        if (o.follow) {
          await new Promise<void>((resolve) => {
            client.onEvent((ev) => {
              if (ev.event === 'stats') out(ev.sample);
              if (ev.event === 'state' && !isLive(ev.state)) resolve();
            });
            void client.closed.then(() => resolve());
            process.once('SIGINT', () => resolve());
            void client.subscribe(['stats', 'state']);
          });
        }
      } finally {
        client.close();
      }
    });

  program
    .command('console')
    .description(`attach the serial console (COM1) of a running VM; ${DETACH_KEY_NAME} detaches`)
    .argument('<vm>', 'VM name or UUID')
    .action(async (ref: string) => {
      const m = manager();
      const { config } = await m.library.get(ref);
      await attachConsole(await m.connect(ref), config.name);
    });
}
