// The service implementation over the machine library. Both transports (WebSocket server,
// Electron IPC) call this through `dispatch`; it never trusts its caller's checks.
import { existsSync } from 'node:fs';
import { cpus, platform, totalmem } from 'node:os';
import { HangarError } from '../api/errors.ts';
import type { MachineEdit } from '../api/edits.ts';
import type { HangarEvent, HangarService, NewMachine, RuntimeMethodName } from '../api/service.ts';
import type { SettingIssue } from '../api/machine.ts';
import type { MachineConfig } from '../library/config.ts';
import { newMachineConfig } from '../library/defaults.ts';
import { applyEdit } from '../library/edits.ts';
import { Library, resolveMachinePath } from '../library/library.ts';
import { defaultMachinesFolder, CONFIG_EXTENSION } from '../library/paths.ts';
import { OS_PRESETS } from '../library/presets.ts';
import { describeIssue, LIMITS, nameIssue, validateConfig } from '../library/validate.ts';
import { join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { allFormats } from '../storage/formats/index.ts';
import { createImage } from '../storage/tools/create.ts';
import type { DiskFormat } from '../library/config.ts';

export interface LibraryServiceOptions {
  /** Told after every change to the library, so transports can push 'machines-changed'. */
  onEvent?: (e: HangarEvent) => void;
}

function hostMemoryMiB(): number {
  return Math.floor(totalmem() / 1048576);
}

/** Files that edits point at must exist, as `hangar modify` insists. */
function missingFiles(configPath: string | undefined, edits: readonly MachineEdit[]): SettingIssue[] {
  const out: SettingIssue[] = [];
  const check = (field: string, p: string | null | undefined, what: string): void => {
    if (!p) return;
    const abs = configPath ? resolveMachinePath(configPath, p) : resolve(p);
    if (!existsSync(abs)) out.push({ field, message: `${field}: ${abs} does not exist; ${what}` });
  };
  for (const e of edits) {
    if (e.kind === 'attach') check(`attach ${e.controller} port ${e.port}`, e.path, 'create the image first or give the right path');
    if (e.kind === 'firmware') {
      check('firmware.kernel', e.kernel, 'give the path of a Linux kernel (bzImage)');
      check('firmware.initrd', e.initrd, 'give the path of an initrd or leave it empty');
    }
  }
  return out;
}

/** Issues beyond the model's rules: more CPUs or memory than this host has. */
function hostIssues(cfg: MachineConfig): SettingIssue[] {
  const out: SettingIssue[] = [];
  const hostCpus = cpus().length;
  const mem = hostMemoryMiB();
  if (Number.isInteger(cfg.cpus) && cfg.cpus > hostCpus) out.push({ field: 'cpus', message: `cpus: ${cfg.cpus} is more than this host's ${hostCpus} CPU cores; allowed: 1 to ${hostCpus}` });
  if (Number.isInteger(cfg.memoryMiB) && cfg.memoryMiB > mem) out.push({ field: 'memoryMiB', message: `memoryMiB: ${cfg.memoryMiB} MiB is more than this host's ${mem} MiB of RAM; allowed: up to ${mem} MiB` });
  return out;
}

function applyAll(cfg: MachineConfig, edits: readonly MachineEdit[]): void {
  for (const e of edits) applyEdit(cfg, e);
}

/** Issues of a candidate configuration, worded as the CLI words them. */
function issuesOf(cfg: MachineConfig): SettingIssue[] {
  return validateConfig(cfg).map((i) => ({ field: i.field, message: describeIssue(i) }));
}

function asIssue(err: unknown, field: string): SettingIssue[] {
  if (err instanceof HangarError) return [{ field, message: err.message }];
  throw err;
}

/** The library half of the service; lifecycle-service.ts adds the running-VM half. */
export type LibraryService = Omit<HangarService, RuntimeMethodName>;

export function createLibraryService(library: Library, opts: LibraryServiceOptions = {}): LibraryService {
  const changed = (uuid?: string): void => opts.onEvent?.({ type: 'machines-changed', ...(uuid ? { uuid } : {}) });

  const candidate = (p: NewMachine): MachineConfig => {
    const cfg = newMachineConfig({ name: p.name, osType: p.osType, memoryMiB: p.memoryMiB, cpus: p.cpus, group: p.group, description: p.description });
    applyAll(cfg, wizardEdits(cfg, p));
    applyAll(cfg, p.edits ?? []);
    return cfg;
  };

  const newEditsOk = (p: NewMachine): void => {
    if ((p.edits ?? []).some((e) => e.kind === 'set' && e.field === 'name')) throw new HangarError('usage', 'createMachine: give the name in "name", not as an edit');
  };

  return {
    async listMachines() {
      return library.list();
    },
    async getMachine({ ref }) {
      return library.get(ref);
    },
    async checkNewMachine(p) {
      newEditsOk(p);
      const n = nameIssue(p.name);
      if (n) return [{ field: 'name', message: describeIssue(n) }];
      let cfg: MachineConfig;
      try {
        cfg = candidate(p);
      } catch (err) {
        return asIssue(err, 'osType');
      }
      const issues = [...issuesOf(cfg), ...hostIssues(cfg), ...wizardFileIssues(p), ...missingFiles(undefined, p.edits ?? [])];
      const listing = await library.list();
      if (listing.some((m) => m.accessible && m.config.name === p.name)) {
        issues.unshift({ field: 'name', message: `name: a VM named "${p.name}" is already registered; pick another name` });
      } else {
        const folder = join(resolve(p.baseFolder ?? defaultMachinesFolder(library.home)), p.name);
        if (existsSync(folder)) issues.unshift({ field: 'name', message: `name: ${folder} already exists; pick another name or base folder` });
      }
      return issues;
    },
    async createMachine(p) {
      newEditsOk(p);
      const missing = [...wizardFileIssues(p), ...missingFiles(undefined, p.edits ?? [])];
      if (missing.length) throw new HangarError('not-found', missing.map((i) => i.message).join('\n'));
      // Paths the wizard gives are absolute or relative to where the service runs; store them
      // absolute so they still resolve from the VM folder.
      const edits = (p.edits ?? []).map(absolutePaths);
      const res = await library.create({
        name: p.name, osType: p.osType, memoryMiB: p.memoryMiB, cpus: p.cpus, group: p.group, description: p.description,
        baseFolder: p.baseFolder,
        customize: (cfg) => {
          applyAll(cfg, wizardEdits(cfg, p, true));
          applyAll(cfg, edits);
        },
      });
      if (p.disk?.kind === 'new') {
        const file = join(res.path, '..', newDiskName(p.name, p.disk.format));
        try {
          await createImage({ format: p.disk.format, path: file, size: diskBytes(p.disk.sizeGiB) });
        } catch (err) {
          // No half-made VM: without its disk the new machine goes again.
          await library.delete(res.config.uuid).catch(() => {});
          await rm(file, { force: true });
          throw err;
        }
      }
      changed(res.config.uuid);
      return res;
    },
    async checkEdits({ ref, edits }) {
      const m = await library.get(ref);
      const cfg = structuredClone(m.config);
      try {
        applyAll(cfg, edits);
      } catch (err) {
        return asIssue(err, '(edit)');
      }
      const issues = [...issuesOf(cfg), ...hostIssues(cfg), ...missingFiles(m.path, edits)];
      if (cfg.name !== m.config.name && !nameIssue(cfg.name)) {
        const listing = await library.list();
        if (listing.some((x) => x.accessible && x.config.name === cfg.name && x.uuid !== cfg.uuid)) {
          issues.unshift({ field: 'name', message: `name: a VM named "${cfg.name}" is already registered; pick another name` });
        }
      }
      return issues;
    },
    async modifyMachine({ ref, edits }) {
      const m = await library.get(ref);
      const missing = missingFiles(m.path, edits);
      if (missing.length) throw new HangarError('not-found', missing.map((i) => i.message).join('\n'));
      const res = await library.modify(ref, (cfg) => applyAll(cfg, edits));
      changed(res.config.uuid);
      return res;
    },
    async cloneMachine({ ref, name, baseFolder }) {
      const res = await library.clone(ref, name, { baseFolder });
      changed(res.config.uuid);
      return res;
    },
    async registerMachine({ path }) {
      const res = await library.register(path);
      changed(res.config.uuid);
      return res;
    },
    async unregisterMachine({ ref }) {
      const res = await library.unregister(ref);
      changed(res.uuid);
      return res;
    },
    async deleteMachine({ ref, keepFiles }) {
      const { uuid } = await library.find(ref);
      const res = await library.delete(ref, { keepFiles });
      changed(uuid);
      return res;
    },
    async osTypes() {
      return OS_PRESETS.map((p) => ({ ...p }));
    },
    async hostInfo() {
      return {
        cpus: cpus().length,
        memoryMiB: hostMemoryMiB(),
        platform: platform(),
        defaultMachineFolder: defaultMachinesFolder(library.home),
        creatableDiskFormats: creatableFormats(),
        maxDiskGiB: MAX_DISK_GIB,
        limits: { cpus: { ...LIMITS.cpus }, memoryMiB: { ...LIMITS.memoryMiB }, vramMiB: { ...LIMITS.vramMiB } },
      };
    },
  };
}

const MAX_DISK_GIB = 16384;
const EXTENSIONS: Record<DiskFormat, string> = { raw: 'img', qcow2: 'qcow2', vdi: 'vdi', vmdk: 'vmdk', vhd: 'vhd' };

function creatableFormats(): DiskFormat[] {
  return allFormats().map((f) => f.name);
}

function newDiskName(vmName: string, format: DiskFormat): string {
  return `${vmName}.${EXTENSIONS[format]}`;
}

function diskBytes(gib: number): number {
  return Math.round(gib * 1024) * 1048576;
}

/** The wizard's boot media and disk as edits on the preset's own controllers. */
function wizardEdits(cfg: MachineConfig, p: NewMachine, absolute = false): MachineEdit[] {
  const out: MachineEdit[] = [];
  const abs = (x: string): string => (absolute && x ? resolve(x) : x);
  if (p.linux) {
    out.push({ kind: 'firmware', type: 'linux', kernel: abs(p.linux.kernel), initrd: p.linux.initrd ? abs(p.linux.initrd) : null, cmdline: p.linux.cmdline || null });
    out.push({ kind: 'bootOrder', order: p.disk ? ['disk'] : [] });
  }
  if (p.iso) {
    const ctl = cfg.storage.find((c) => c.attachments.some((a) => a.type === 'optical'));
    const drive = ctl?.attachments.find((a) => a.type === 'optical');
    if (ctl && drive) out.push({ kind: 'attach', controller: ctl.name, port: drive.port, type: 'optical', path: abs(p.iso) });
  }
  if (p.disk) {
    const ctl = cfg.storage[0];
    const path = p.disk.kind === 'new' ? newDiskName(p.name, p.disk.format) : abs(p.disk.path);
    if (ctl) out.push({ kind: 'attach', controller: ctl.name, port: 0, type: 'disk', path, format: p.disk.format });
  }
  return out;
}

/** Problems with the files and sizes the wizard names, under the wizard's own field names. */
function wizardFileIssues(p: NewMachine): SettingIssue[] {
  const out: SettingIssue[] = [];
  const exists = (field: string, path: string | undefined, what: string): void => {
    if (path === undefined) return;
    if (path.trim() === '') out.push({ field, message: `${field}: ${what} is required` });
    else if (!existsSync(resolve(path))) out.push({ field, message: `${field}: ${resolve(path)} does not exist; give the path of an existing file` });
  };
  exists('firmware.kernel', p.linux?.kernel, 'the path of a Linux kernel (bzImage)');
  if (p.linux?.initrd) exists('firmware.initrd', p.linux.initrd, 'the initrd path');
  exists('iso', p.iso, 'the path of an ISO image');
  if (p.disk?.kind === 'existing') exists('disk.path', p.disk.path, 'the path of a disk image');
  if (p.disk?.kind === 'new') {
    if (!creatableFormats().includes(p.disk.format)) out.push({ field: 'disk.format', message: `disk.format: ${JSON.stringify(p.disk.format)} is not valid; allowed: one of ${creatableFormats().join(', ')}` });
    if (!(p.disk.sizeGiB >= 0.001 && p.disk.sizeGiB <= MAX_DISK_GIB && Number.isFinite(p.disk.sizeGiB))) {
      out.push({ field: 'disk.sizeGiB', message: `disk.sizeGiB: ${JSON.stringify(p.disk.sizeGiB)} is not valid; allowed: a size from 0.001 to ${MAX_DISK_GIB} GiB` });
    }
  }
  return out;
}

function absolutePaths(e: MachineEdit): MachineEdit {
  if (e.kind === 'attach' && e.path) return { ...e, path: resolve(e.path) };
  if (e.kind === 'firmware') {
    return { ...e, ...(e.kernel ? { kernel: resolve(e.kernel) } : {}), ...(e.initrd ? { initrd: resolve(e.initrd) } : {}) };
  }
  return e;
}

export { CONFIG_EXTENSION };
