// Entry of the `hangar` command: builds the commander program from one module per command
// group and maps errors to exit codes (0 ok, 1 operational error, 2 usage error).
import { Command, CommanderError } from 'commander';
import { HangarError, exitCodeFor } from '../api/errors.ts';
import { registerLibraryCommands } from './commands/library.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerDiskCommands } from './commands/disk.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerApplianceCommands } from './commands/appliance.ts';
import { registerVmCommands } from './commands/vm.ts';
import { registerDemoCommand } from './commands/demo.ts';

export function buildProgram(): Command {
  const program = new Command('hangar')
    .description('Hangar: create, run and move virtual machines')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerLibraryCommands(program);
  registerServeCommand(program);
  registerDiskCommands(program);
  registerRunCommand(program);
  registerApplianceCommands(program);
  registerVmCommands(program);
  registerDemoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests end with exit code 0; commander already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof HangarError) {
      process.stderr.write(`hangar: ${err.message}\n`);
      return exitCodeFor(err);
    }
    const errno = err as NodeJS.ErrnoException;
    if (err instanceof Error && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
      // A file-system or network failure: the message names the path and the reason.
      process.stderr.write(`hangar: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`hangar: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
