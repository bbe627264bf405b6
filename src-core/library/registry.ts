// The registry of known VMs: `registry.json` in HANGAR_HOME, a list of (uuid, path of the
// `.hangar` file). Every change happens under the registry lock, so concurrent hangar
// processes serialise instead of overwriting each other.
import { mkdir } from 'node:fs/promises';
import { HangarError } from '../api/errors.ts';
import { readTextIfExists, writeFileAtomic } from './atomic-file.ts';
import { withLock } from './lock.ts';
import { registryLockPath, registryPath } from './paths.ts';

export interface RegistryEntry {
  uuid: string;
  /** Absolute path of the VM's `.hangar` file. */
  path: string;
}

interface RegistryFile {
  version: 1;
  machines: RegistryEntry[];
}

export class Registry {
  constructor(readonly home: string) {}

  async read(): Promise<RegistryEntry[]> {
    const file = registryPath(this.home);
    const text = await readTextIfExists(file);
    if (text === undefined) return [];
    let data: RegistryFile;
    try {
      data = JSON.parse(text) as RegistryFile;
    } catch (err) {
      throw new HangarError('corrupt', `${file} is damaged: not valid JSON (${(err as Error).message}). The previous version is kept at ${file}.prev if one exists.`);
    }
    if (data?.version !== 1 || !Array.isArray(data.machines)) throw new HangarError('corrupt', `${file} is damaged: expected {"version": 1, "machines": [...]}`);
    return data.machines.filter((m) => typeof m?.uuid === 'string' && typeof m?.path === 'string');
  }

  /** Read-modify-write under the lock. `fn` returns the new list (or throws to abort). */
  async update<T>(fn: (entries: RegistryEntry[]) => Promise<{ entries: RegistryEntry[]; result: T }>): Promise<T> {
    await mkdir(this.home, { recursive: true });
    return withLock(registryLockPath(this.home), async () => {
      const { entries, result } = await fn(await this.read());
      const data: RegistryFile = { version: 1, machines: entries };
      await writeFileAtomic(registryPath(this.home), JSON.stringify(data, null, 2) + '\n');
      return result;
    });
  }

  /** Run `fn` under the lock without writing the registry. */
  async locked<T>(fn: (entries: RegistryEntry[]) => Promise<T>): Promise<T> {
    await mkdir(this.home, { recursive: true });
    return withLock(registryLockPath(this.home), async () => fn(await this.read()));
  }
}
