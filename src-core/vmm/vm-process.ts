// Entry of a VM process. The manager starts it with child_process.fork (plain Node, with the
// tsx loader) or, in the desktop app, Electron's utilityProcess.fork; either way the launch
// spec is the one argument, as JSON. The process runs one VM and exits when the VM powers
// off (0), is saved (0), or fails (70, with the reason in Logs/hangar.log and vm-state.json).
import { readMachineFile } from '../library/machine-file.ts';
import { VmLog } from './vm-log.ts';
import { vmFiles } from './vm-files.ts';
import { VmRunner, type VmLaunchSpec } from './vm-runner.ts';

export const EXIT_FAILED = 70;

function parseSpec(arg: string | undefined): VmLaunchSpec {
  if (!arg) throw new Error('vm-process: missing launch spec argument');
  const spec = JSON.parse(arg) as VmLaunchSpec;
  if (typeof spec?.configPath !== 'string') throw new Error('vm-process: launch spec lacks configPath');
  return spec;
}

async function main(): Promise<void> {
  const spec = parseSpec(process.argv[2]);
  const config = await readMachineFile(spec.configPath);
  const files = vmFiles(spec.configPath, config.uuid);
  const log = VmLog.fresh(files.log);
  const runner = new VmRunner(spec, config, files, log);
  process.on('uncaughtException', (err) => runner.crash(err));
  process.on('unhandledRejection', (err) => runner.crash(err));
  // SIGTERM/SIGINT from the host: a hard power-off, recorded as such.
  const onSignal = (why: string) => void runner.stop(why === 'manager exit' ? 'the manager exited' : `host sent ${why}`).catch((err) => runner.crash(err));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // A supervised VM (forked with an IPC channel) powers off when its manager goes away, so a
  // dying manager leaves no unsupervised guests burning CPU. Detached VMs have no channel.
  if (process.send) process.once('disconnect', () => onSignal('manager exit'));
  try {
    await runner.start();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log.error(`start failed: ${err instanceof Error ? (err.stack ?? reason) : reason}`);
    process.stderr.write(`hangar: VM "${config.name}" failed to start: ${reason}\n`);
    await runner.failStart(reason);
  }
  const code = await runner.done;
  log.close();
  process.exit(code);
}

main().catch((err) => {
  process.stderr.write(`hangar: VM process failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT_FAILED);
});
