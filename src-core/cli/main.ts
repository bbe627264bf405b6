// Entry of the `hangar` command: builds the commander program from one module per command
// group and maps errors to exit codes (0 ok, 1 operational error, 2 usage error).
import { Command, CommanderError } from 'commander';
import { HangarError, exitCodeFor } from '../api/errors.ts';

type Register = (program: Command) => void;

// Command groups load lazily: `hangar list` should not compile the emulator, the disk
// formats and the web server before it can print a table.
const GROUPS: { commands: string[]; load: () => Promise<Register> }[] = [
  { commands: ['create', 'list', 'show', 'modify', 'register', 'unregister', 'delete', 'clone', 'ostypes', 'recover'], load: async () => (await import('./commands/library.ts')).registerLibraryCommands },
  { commands: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServeCommand },
  { commands: ['disk'], load: async () => (await import('./commands/disk.ts')).registerDiskCommands },
  { commands: ['run'], load: async () => (await import('./commands/run.ts')).registerRunCommand },
  { commands: ['export', 'import'], load: async () => (await import('./commands/appliance.ts')).registerApplianceCommands },
  { commands: ['start', 'control', 'discardstate', 'stats', 'console'], load: async () => (await import('./commands/vm.ts')).registerVmCommands },
  { commands: ['demo'], load: async () => (await import('./commands/demo.ts')).registerDemoCommand },
];

/** Build the program with the command groups `argv` needs (all of them for help or an unknown command). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('hangar')
    .description('Hangar: create, run and move virtual machines')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const first = argv.find((a) => !a.startsWith('-'));
  const wanted = GROUPS.filter((g) => first !== undefined && g.commands.includes(first));
  for (const g of wanted.length ? wanted : GROUPS) (await g.load())(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
