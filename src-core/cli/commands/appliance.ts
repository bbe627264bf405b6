// Appliance commands: `hangar export` and `hangar import` (OVF/OVA).
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { usageError } from '../../api/errors.ts';
import type { DiskFormat } from '../../library/config.ts';
import { exportAppliance } from '../../appliance/export.ts';
import { importAppliance } from '../../appliance/import.ts';
import { openLibrary } from './library.ts';
import { parseIntOption } from '../parse.ts';

const IMPORT_FORMATS: readonly DiskFormat[] = ['qcow2', 'vdi', 'vmdk'];

/** One progress line, redrawn in place on a terminal and printed every 10% otherwise. */
function progressPrinter(): { update: (phase: string, done: number, total: number) => void; note: (msg: string) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastPhase = '';
  let lastPct = -1;
  return {
    update(phase, done, total) {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (tty) {
        if (phase === lastPhase && pct === lastPct) return;
        process.stderr.write(`\r\x1b[K${phase}: ${pct}%`);
      } else {
        if (phase === lastPhase && Math.floor(pct / 10) === Math.floor(lastPct / 10)) return;
        process.stderr.write(`${phase}: ${pct}%\n`);
      }
      lastPhase = phase;
      lastPct = pct;
    },
    note(msg) {
      if (tty && lastPhase) process.stderr.write('\r\x1b[K');
      lastPhase = '';
      process.stderr.write(`${msg}\n`);
    },
    end() {
      if (tty && lastPhase) process.stderr.write('\r\x1b[K');
      lastPhase = '';
    },
  };
}

/** Abort on Ctrl-C so the command can remove what it wrote before exiting. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', onSig); process.off('SIGTERM', onSig); } };
}

export function registerApplianceCommands(program: Command): void {
  // `export --version X` is the appliance's product version. Without positional options the
  // program-level --version (print Hangar's version) would swallow it wherever it appears.
  program.enablePositionalOptions();
  program
    .command('export')
    .description('export VMs as an OVF appliance (.ova archive or .ovf with its files)')
    .argument('<vm...>', 'VM names or UUIDs (several make a VirtualSystemCollection)')
    .requiredOption('-o, --output <file>', 'FILE.ova or FILE.ovf')
    .option('--ovf10', 'write OVF 1.0 (the default)')
    .option('--ovf20', 'write OVF 2.0')
    .option('--vendor <text>', 'ProductSection vendor')
    .option('--product <text>', 'ProductSection product name')
    .option('--version <text>', 'ProductSection version')
    .option('--eula <file>', 'text file whose content becomes the EulaSection')
    .option('--no-manifest', 'do not write a SHA256 manifest (.mf)')
    .action(async (vms: string[], o: { output: string; ovf10?: boolean; ovf20?: boolean; vendor?: string; product?: string; version?: string; eula?: string; manifest: boolean }) => {
      if (o.ovf10 && o.ovf20) throw usageError('export: choose one of --ovf10 and --ovf20');
      const eula = o.eula !== undefined ? await readFile(o.eula, 'utf8') : undefined;
      const product = o.vendor !== undefined || o.product !== undefined || o.version !== undefined || eula !== undefined
        ? { vendor: o.vendor, product: o.product, version: o.version, eula }
        : undefined;
      const progress = progressPrinter();
      const intr = interruptible();
      try {
        const res = await exportAppliance({
          library: openLibrary(), machines: vms, output: o.output, ovf20: !!o.ovf20, product, manifest: o.manifest,
          signal: intr.signal, onProgress: progress.update,
        });
        progress.end();
        for (const n of res.notes) process.stdout.write(`note: ${n}\n`);
        process.stdout.write(`Exported ${vms.length} VM(s) to ${res.output}\n`);
        for (const f of res.files) process.stdout.write(`  ${f.name}  ${f.size} bytes\n`);
      } finally {
        progress.end();
        intr.dispose();
      }
    });

  program
    .command('import')
    .description('import an OVF appliance (.ova or .ovf): print the mapping report, convert the disks, register the VM(s)')
    .argument('<file>', 'FILE.ova or FILE.ovf')
    .option('--dry-run', 'print the mapping report and write nothing')
    .option('--vsys <n>', 'import only virtual system N (0-based)')
    .option('--name <name>', 'name of the imported VM')
    .option('--memory <mib>', 'guest RAM in MiB instead of the appliance\'s')
    .option('--cpus <n>', 'virtual CPUs instead of the appliance\'s')
    .option('--disk-format <fmt>', 'format of the imported disks: qcow2, vdi or vmdk (default: qcow2; a Hangar export keeps each disk\'s format)')
    .option('--new-uuid', 'give the VM a new UUID and new MAC addresses')
    .option('--basefolder <dir>', 'folder that receives the VM folder (default: HANGAR_HOME/Machines)')
    .action(async (file: string, o: { dryRun?: boolean; vsys?: string; name?: string; memory?: string; cpus?: string; diskFormat?: string; newUuid?: boolean; basefolder?: string }) => {
      if (o.diskFormat !== undefined && !IMPORT_FORMATS.includes(o.diskFormat as DiskFormat)) throw usageError(`--disk-format: "${o.diskFormat}" is not valid; allowed: ${IMPORT_FORMATS.join(', ')}`);
      const progress = progressPrinter();
      const intr = interruptible();
      try {
        const res = await importAppliance({
          file,
          library: openLibrary(),
          dryRun: o.dryRun,
          vsys: o.vsys === undefined ? undefined : parseIntOption('--vsys', o.vsys, 0, 1000),
          name: o.name,
          memoryMiB: o.memory === undefined ? undefined : parseIntOption('--memory', o.memory, 4, 65536),
          cpus: o.cpus === undefined ? undefined : parseIntOption('--cpus', o.cpus, 1, 64),
          diskFormat: o.diskFormat as DiskFormat | undefined,
          newUuid: o.newUuid,
          baseFolder: o.basefolder,
          signal: intr.signal,
          onPlan: (plans) => {
            for (const p of plans) {
              process.stdout.write(p.plan.report.format(`Virtual system ${p.vsys}: "${p.plan.config.name}"`));
              for (const e of p.eulas) process.stdout.write(`License agreement:\n${e}\n`);
            }
          },
          onProgress: (msg) => {
            const m = /^(.*): (\d+)%$/.exec(msg);
            if (m) progress.update(m[1]!, Number(m[2]), 100);
            else progress.note(msg);
          },
        });
        progress.end();
        for (const n of res.notes) process.stdout.write(`note: ${n}\n`);
        if (o.dryRun) process.stdout.write('Dry run: nothing was written.\n');
        for (const p of res.registered) process.stdout.write(`Imported and registered ${p}\n`);
      } catch (err) {
        progress.end();
        if (!o.dryRun && err instanceof Error) err.message = `${err.message}\nimport failed; everything it had written was removed`;
        throw err;
      } finally {
        intr.dispose();
      }
    });
}
