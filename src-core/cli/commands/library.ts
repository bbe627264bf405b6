// Library commands: create, list, show, modify, register, unregister, delete, clone,
// ostypes, recover.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { Library, resolveMachinePath } from '../../library/library.ts';
import { hangarHome } from '../../library/paths.ts';
import { OS_PRESETS } from '../../library/presets.ts';
import { applyEdit } from '../../library/edits.ts';
import { addModifyOptions, editsFromOptions, type ModifyOptions } from '../modify-options.ts';
import { parseIntOption, printJson, table } from '../parse.ts';
import { describeMachine } from '../show-machine.ts';
import { HangarError, usageError } from '../../api/errors.ts';

export function openLibrary(): Library {
  return new Library(hangarHome());
}

export function registerLibraryCommands(program: Command): void {
  program
    .command('create')
    .description('create and register a new VM from its OS type\'s defaults')
    .requiredOption('--name <name>', 'VM name (also names its folder and file)')
    .option('--ostype <id>', 'OS type (see hangar ostypes)', 'Other_64')
    .option('--memory <mib>', 'guest RAM in MiB (default: the OS type\'s)')
    .option('--cpus <n>', 'virtual CPUs (default: the OS type\'s)')
    .option('--group <path>', 'group path', '/')
    .option('--description <text>', 'description')
    .option('--basefolder <dir>', 'folder that receives the VM folder (default: HANGAR_HOME/Machines)')
    .option('--json', 'print the new configuration as JSON')
    .action(async (o: { name: string; ostype: string; memory?: string; cpus?: string; group: string; description?: string; basefolder?: string; json?: boolean }) => {
      const res = await openLibrary().create({
        name: o.name,
        osType: o.ostype,
        memoryMiB: o.memory === undefined ? undefined : parseIntOption('--memory', o.memory, 4, 65536),
        cpus: o.cpus === undefined ? undefined : parseIntOption('--cpus', o.cpus, 1, 64),
        group: o.group,
        description: o.description,
        baseFolder: o.basefolder,
      });
      if (o.json) printJson({ path: res.path, config: res.config });
      else process.stdout.write(`Created VM "${res.config.name}" (UUID ${res.config.uuid})\nConfig: ${res.path}\n`);
    });

  program
    .command('list')
    .description('list registered VMs')
    .option('--running', 'only running VMs, with their state and process')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean; running?: boolean }) => {
      if (o.running) {
        // Only the VMM knows which VMs run; loaded here so a plain list stays light.
        const { listRunning } = await import('./list-running.ts');
        await listRunning(openLibrary(), o.json === true);
        return;
      }
      const all = await openLibrary().list();
      if (o.json) {
        printJson(all.map((m) => (m.accessible
          ? { uuid: m.uuid, path: m.path, accessible: true, name: m.config.name, osType: m.config.osType, cpus: m.config.cpus, memoryMiB: m.config.memoryMiB, group: m.config.group }
          : { uuid: m.uuid, path: m.path, accessible: false, error: m.error })));
        return;
      }
      if (!all.length) {
        process.stdout.write('No VMs registered. Create one with: hangar create --name NAME --ostype Linux_64\n');
        return;
      }
      const rows = all.map((m) => (m.accessible
        ? [m.config.name, m.uuid, m.config.osType, String(m.config.cpus), `${m.config.memoryMiB} MiB`, m.config.group]
        : ['(inaccessible)', m.uuid, '-', '-', '-', m.error.split('\n')[0]!]));
      process.stdout.write(table(['NAME', 'UUID', 'OS TYPE', 'CPUS', 'MEMORY', 'GROUP'], rows));
    });

  program
    .command('show')
    .description('show a VM\'s settings')
    .argument('<vm>', 'VM name or UUID')
    .option('--json', 'the configuration as JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const m = await openLibrary().get(ref);
      if (o.json) printJson({ path: m.path, config: m.config });
      else process.stdout.write(describeMachine(m.path, m.config));
    });

  addModifyOptions(
    program.command('modify').description('change a VM\'s settings').argument('<vm>', 'VM name or UUID'),
  ).action(async (ref: string, o: ModifyOptions) => {
    const edits = editsFromOptions(o);
    if (!edits.length) throw usageError('modify: nothing to change; pass at least one setting (see hangar modify --help)');
    const lib = openLibrary();
    const { path } = await lib.get(ref);
    for (const e of edits) {
      if (e.kind === 'attach' && e.path !== '' && !existsSync(resolveMachinePath(path, e.path))) {
        throw new HangarError('not-found', `--attach: ${resolveMachinePath(path, e.path)} does not exist; create the disk first (hangar disk create) or give the right path`);
      }
    }
    const res = await lib.modify(ref, (cfg) => {
      for (const e of edits) applyEdit(cfg, e);
    });
    process.stdout.write(`Modified VM "${res.config.name}"\n`);
  });

  program
    .command('register')
    .description('add an existing .hangar file to the library')
    .argument('<path>', 'the VM\'s .hangar file')
    .action(async (path: string) => {
      const res = await openLibrary().register(path);
      process.stdout.write(`Registered VM "${res.config.name}" (UUID ${res.config.uuid})\n`);
    });

  program
    .command('unregister')
    .description('forget a VM, keeping its files')
    .argument('<vm>', 'VM name or UUID')
    .action(async (ref: string) => {
      const e = await openLibrary().unregister(ref);
      process.stdout.write(`Unregistered ${e.uuid}; its files stay at ${e.path}\n`);
    });

  program
    .command('delete')
    .description('unregister a VM and delete its config, logs, snapshots and the disks in its folder')
    .argument('<vm>', 'VM name or UUID')
    .option('--keep-files', 'only unregister; leave every file')
    .action(async (ref: string, o: { keepFiles?: boolean }) => {
      const res = await openLibrary().delete(ref, { keepFiles: o.keepFiles });
      for (const p of res.removed) process.stdout.write(`removed ${p}\n`);
      for (const p of res.kept) process.stdout.write(`kept ${p}\n`);
    });

  program
    .command('clone')
    .description('full copy of a VM with a new UUID and new MAC addresses')
    .argument('<vm>', 'VM name or UUID')
    .requiredOption('--name <name>', 'name of the copy')
    .option('--basefolder <dir>', 'folder that receives the copy (default: beside the original)')
    .action(async (ref: string, o: { name: string; basefolder?: string }) => {
      const res = await openLibrary().clone(ref, o.name, { baseFolder: o.basefolder });
      process.stdout.write(`Cloned to "${res.config.name}" (UUID ${res.config.uuid})\nConfig: ${res.path}\n`);
    });

  program
    .command('ostypes')
    .description('list OS types and their defaults')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      if (o.json) return printJson(OS_PRESETS);
      process.stdout.write(table(
        ['ID', 'DESCRIPTION', 'MEMORY', 'CPUS', 'DISK', 'FIRMWARE'],
        OS_PRESETS.map((p) => [p.id, p.label, `${p.memoryMiB} MiB`, String(p.cpus), `${p.diskGiB} GiB`, p.firmware]),
      ));
    });

  program
    .command('recover')
    .description('replace a damaged .hangar file with the previous version kept beside it (.prev)')
    .argument('<path>', 'the damaged .hangar file')
    .action(async (path: string) => {
      const cfg = await openLibrary().recover(path);
      process.stdout.write(`Restored ${path} from ${path}.prev (VM "${cfg.name}")\n`);
    });
}
