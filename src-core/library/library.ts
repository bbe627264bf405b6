// The machine library: create, find, modify, register, clone and delete VMs. Each VM is a
// folder holding `<name>.hangar`, its disks, `Logs/` and `Snapshots/`; the registry lists
// which `.hangar` files Hangar knows. Mutations run under the registry lock.
import { mkdir, rm, rmdir, rename, access, copyFile, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, relative, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import { HangarError } from '../api/errors.ts';
import type { MachineConfig } from './config.ts';
import type { MachineListing } from '../api/machine.ts';
import { newMachineConfig, randomMac, type NewMachineOptions } from './defaults.ts';
import { readMachineFile, writeMachineFile, parseMachineText } from './machine-file.ts';
import { CONFIG_EXTENSION, defaultMachinesFolder } from './paths.ts';
import { Registry, type RegistryEntry } from './registry.ts';
import { assertValid, nameIssue, ValidationError } from './validate.ts';
import { readTextIfExists, writeFileAtomic } from './atomic-file.ts';

export type { MachineListing };

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

function isInside(child: string, folder: string): boolean {
  const rel = relative(folder, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Absolute path of a medium/kernel path stored in a config (relative = inside the VM folder). */
export function resolveMachinePath(configPath: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(configPath), p);
}

export class Library {
  readonly registry: Registry;

  constructor(readonly home: string) {
    this.registry = new Registry(home);
  }

  async list(): Promise<MachineListing[]> {
    const entries = await this.registry.read();
    return Promise.all(entries.map((e) => this.describe(e)));
  }

  private async describe(e: RegistryEntry): Promise<MachineListing> {
    try {
      return { uuid: e.uuid, path: e.path, accessible: true, config: await readMachineFile(e.path) };
    } catch (err) {
      if (err instanceof HangarError) return { uuid: e.uuid, path: e.path, accessible: false, error: err.message };
      throw err;
    }
  }

  private static match(entries: MachineListing[], ref: string): MachineListing | undefined {
    const byUuid = entries.find((m) => m.uuid === ref.toLowerCase());
    if (byUuid) return byUuid;
    const byName = entries.filter((m) => m.accessible && m.config.name === ref);
    return byName[0];
  }

  /** Find a VM by UUID or name. Inaccessible VMs are found by UUID only. */
  async find(ref: string): Promise<MachineListing> {
    const m = Library.match(await this.list(), ref);
    if (!m) throw new HangarError('not-found', `no VM named or with UUID "${ref}" (see hangar list)`);
    return m;
  }

  async get(ref: string): Promise<{ path: string; config: MachineConfig }> {
    const m = await this.find(ref);
    if (!m.accessible) throw new HangarError('inaccessible', `VM ${m.uuid} is inaccessible: ${m.error}`);
    return { path: m.path, config: m.config };
  }

  private static nameTaken(listing: MachineListing[], name: string, exceptUuid?: string): boolean {
    return listing.some((m) => m.accessible && m.config.name === name && m.uuid !== exceptUuid);
  }

  private async listingOf(entries: RegistryEntry[]): Promise<MachineListing[]> {
    return Promise.all(entries.map((e) => this.describe(e)));
  }

  /** Create and register a new VM from its OS preset. */
  async create(opts: NewMachineOptions & { baseFolder?: string; customize?: (cfg: MachineConfig) => void }): Promise<{ path: string; config: MachineConfig }> {
    const bad = nameIssue(opts.name);
    if (bad) throw new ValidationError([bad]);
    const config = newMachineConfig(opts);
    // The GUI's wizard adjusts the preset (boot media, firmware) before anything is written.
    opts.customize?.(config);
    assertValid(config);
    const folder = join(resolve(opts.baseFolder ?? defaultMachinesFolder(this.home)), opts.name);
    const path = join(folder, opts.name + CONFIG_EXTENSION);
    return this.registry.update(async (entries) => {
      if (Library.nameTaken(await this.listingOf(entries), opts.name)) {
        throw new HangarError('exists', `a VM named "${opts.name}" is already registered; pick another name`);
      }
      if (await exists(folder)) throw new HangarError('exists', `${folder} already exists; pick another name or base folder`);
      try {
        await mkdir(join(folder, 'Logs'), { recursive: true });
        await mkdir(join(folder, 'Snapshots'), { recursive: true });
        await writeMachineFile(path, config);
      } catch (err) {
        await rm(folder, { recursive: true, force: true });
        throw err;
      }
      return { entries: [...entries, { uuid: config.uuid, path }], result: { path, config } };
    });
  }

  /**
   * Change a VM's settings. `change` edits a copy; the result is validated as a whole and
   * written atomically. A new name renames the `.hangar` file and, when it follows the
   * default naming, the folder.
   */
  async modify(ref: string, change: (cfg: MachineConfig) => void): Promise<{ path: string; config: MachineConfig }> {
    return this.registry.update(async (entries) => {
      const listing = await this.listingOf(entries);
      const m = Library.match(listing, ref);
      if (!m) throw new HangarError('not-found', `no VM named or with UUID "${ref}" (see hangar list)`);
      if (!m.accessible) throw new HangarError('inaccessible', `VM ${m.uuid} is inaccessible: ${m.error}`);
      const cfg: MachineConfig = structuredClone(m.config);
      change(cfg);
      if (cfg.uuid !== m.config.uuid) throw new HangarError('invalid-config', 'uuid: a VM\'s UUID cannot be changed (clone it to get a new one)');
      assertValid(cfg);
      let path = m.path;
      if (cfg.name !== m.config.name) {
        if (Library.nameTaken(listing, cfg.name, cfg.uuid)) throw new HangarError('exists', `a VM named "${cfg.name}" is already registered; pick another name`);
        const moved = await this.renameFolder(m.path, m.config.name, cfg.name);
        await writeMachineFile(moved.next, cfg);
        await unlink(moved.old).catch(() => {});
        await unlink(`${moved.old}.prev`).catch(() => {});
        path = moved.next;
      } else {
        await writeMachineFile(path, cfg);
      }
      const next = entries.map((e) => (e.uuid === cfg.uuid ? { uuid: e.uuid, path } : e));
      return { entries: next, result: { path, config: cfg } };
    });
  }

  /** Rename the VM folder when it is named after the VM; returns the old and new config paths in it. */
  private async renameFolder(oldPath: string, oldName: string, newName: string): Promise<{ old: string; next: string }> {
    let folder = dirname(oldPath);
    if (basename(folder) === oldName) {
      const newFolder = join(dirname(folder), newName);
      if (await exists(newFolder)) throw new HangarError('exists', `cannot rename: ${newFolder} already exists`);
      await rename(folder, newFolder);
      folder = newFolder;
    }
    return { old: join(folder, basename(oldPath)), next: join(folder, newName + CONFIG_EXTENSION) };
  }

  /** Add an existing `.hangar` file to the registry. */
  async register(file: string): Promise<{ path: string; config: MachineConfig }> {
    const path = resolve(file);
    if (!path.endsWith(CONFIG_EXTENSION)) throw new HangarError('usage', `${file}: expected a ${CONFIG_EXTENSION} file`);
    const config = await readMachineFile(path);
    return this.registry.update(async (entries) => {
      const dupe = entries.find((e) => e.uuid === config.uuid);
      if (dupe) {
        if (resolve(dupe.path) === path) throw new HangarError('exists', `${path} is already registered`);
        throw new HangarError('exists', `a VM with UUID ${config.uuid} is already registered from ${dupe.path}; clone it instead to get a new UUID`);
      }
      if (Library.nameTaken(await this.listingOf(entries), config.name)) throw new HangarError('exists', `a VM named "${config.name}" is already registered; rename one of them first`);
      return { entries: [...entries, { uuid: config.uuid, path }], result: { path, config } };
    });
  }

  /** Forget a VM without touching its files. Works for inaccessible VMs too. */
  async unregister(ref: string): Promise<RegistryEntry> {
    return this.registry.update(async (entries) => {
      const m = Library.match(await this.listingOf(entries), ref);
      if (!m) throw new HangarError('not-found', `no VM named or with UUID "${ref}" (see hangar list)`);
      return { entries: entries.filter((e) => e.uuid !== m.uuid), result: { uuid: m.uuid, path: m.path } };
    });
  }

  /**
   * Unregister and remove the VM's files: its config, logs, snapshots and the disks that live
   * inside its folder. Disks elsewhere are kept and reported. The folder goes when empty.
   */
  async delete(ref: string, opts: { keepFiles?: boolean } = {}): Promise<{ removed: string[]; kept: string[] }> {
    const entry = await this.unregister(ref);
    if (opts.keepFiles) return { removed: [], kept: [entry.path] };
    const folder = dirname(entry.path);
    const removed: string[] = [];
    const kept: string[] = [];
    const text = await readTextIfExists(entry.path);
    if (text !== undefined) {
      let cfg: MachineConfig | undefined;
      try {
        cfg = parseMachineText(text, entry.path);
      } catch {
        cfg = undefined; // a damaged config still gets deleted; its disks cannot be known
      }
      for (const ctl of cfg?.storage ?? []) {
        for (const a of ctl.attachments) {
          if (a.type !== 'disk' || !a.path) continue;
          const p = resolveMachinePath(entry.path, a.path);
          if (isInside(p, folder)) {
            await rm(p, { force: true });
            removed.push(p);
          } else kept.push(p);
        }
      }
    }
    for (const f of [entry.path, `${entry.path}.prev`]) {
      if (await exists(f)) {
        await rm(f, { force: true });
        removed.push(f);
      }
    }
    for (const d of ['Logs', 'Snapshots']) {
      const p = join(folder, d);
      if (await exists(p)) {
        await rm(p, { recursive: true, force: true });
        removed.push(p + sep);
      }
    }
    try {
      if ((await readdir(folder)).length === 0) await rmdir(folder);
      else kept.push(folder + sep);
    } catch {
      // the folder is already gone
    }
    return { removed, kept };
  }

  /**
   * Full clone: a new folder with copies of the disks that live in the source VM's folder,
   * a new UUID and new MAC addresses. Disks outside the folder are shared by reference.
   */
  async clone(ref: string, newName: string, opts: { baseFolder?: string } = {}): Promise<{ path: string; config: MachineConfig }> {
    const bad = nameIssue(newName);
    if (bad) throw new ValidationError([bad]);
    const src = await this.get(ref);
    const srcFolder = dirname(src.path);
    const folder = join(resolve(opts.baseFolder ?? dirname(srcFolder)), newName);
    const path = join(folder, newName + CONFIG_EXTENSION);
    const cfg: MachineConfig = structuredClone(src.config);
    cfg.uuid = randomUUID();
    cfg.name = newName;
    for (const nic of cfg.network) nic.mac = randomMac();
    return this.registry.update(async (entries) => {
      if (Library.nameTaken(await this.listingOf(entries), newName)) throw new HangarError('exists', `a VM named "${newName}" is already registered; pick another name`);
      if (await exists(folder)) throw new HangarError('exists', `${folder} already exists; pick another name or base folder`);
      try {
        await mkdir(join(folder, 'Logs'), { recursive: true });
        await mkdir(join(folder, 'Snapshots'), { recursive: true });
        for (const ctl of cfg.storage) {
          for (const a of ctl.attachments) {
            if (a.type !== 'disk' || !a.path) continue;
            const from = resolveMachinePath(src.path, a.path);
            if (!isInside(from, srcFolder)) continue;
            if (!(await exists(from))) throw new HangarError('not-found', `cannot clone: disk ${from} attached to ${ctl.name} port ${a.port} does not exist`);
            const rel = relative(srcFolder, from);
            await mkdir(dirname(join(folder, rel)), { recursive: true });
            await copyFile(from, join(folder, rel));
            a.path = rel;
          }
        }
        assertValid(cfg);
        await writeMachineFile(path, cfg);
      } catch (err) {
        await rm(folder, { recursive: true, force: true });
        throw err;
      }
      return { entries: [...entries, { uuid: cfg.uuid, path }], result: { path, config: cfg } };
    });
  }

  /** Replace a damaged `.hangar` file with its `.prev` copy, after checking that copy is sound. */
  async recover(file: string): Promise<MachineConfig> {
    const path = resolve(file);
    const prevText = await readTextIfExists(`${path}.prev`);
    if (prevText === undefined) throw new HangarError('not-found', `${path}.prev does not exist; there is no earlier version to restore`);
    const cfg = parseMachineText(prevText, `${path}.prev`);
    await this.registry.locked(async () => {
      await writeFileAtomic(path, prevText, { keepPrevious: false });
    });
    return cfg;
  }
}
