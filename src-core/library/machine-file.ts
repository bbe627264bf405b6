// Reading and writing one VM's `.hangar` file.
import { HangarError } from '../api/errors.ts';
import { writeFileAtomic, readTextIfExists } from './atomic-file.ts';
import type { MachineConfig } from './config.ts';
import { migrateConfig } from './migrate.ts';
import { assertValid } from './validate.ts';

function damaged(path: string, why: string, hasPrev: boolean): HangarError {
  const offer = hasPrev
    ? ` The previous version is kept at ${path}.prev; restore it with "hangar recover ${path}".`
    : '';
  return new HangarError('corrupt', `${path} is damaged: ${why}.${offer}`, { path, hasPrevious: hasPrev });
}

export async function readMachineFile(path: string): Promise<MachineConfig> {
  const text = await readTextIfExists(path);
  if (text === undefined) throw new HangarError('inaccessible', `${path} does not exist (was the VM folder moved or deleted?)`, { path });
  return parseMachineText(text, path, (await readTextIfExists(`${path}.prev`)) !== undefined);
}

export function parseMachineText(text: string, path: string, hasPrev = false): MachineConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw damaged(path, `not valid JSON (${(err as Error).message})`, hasPrev);
  }
  let cfg: MachineConfig;
  try {
    cfg = migrateConfig(raw) as unknown as MachineConfig;
    assertValid(cfg);
  } catch (err) {
    if (err instanceof HangarError && err.code === 'unsupported') throw new HangarError('unsupported', `${path}: ${err.message}`, { path });
    if (err instanceof HangarError) throw damaged(path, err.message, hasPrev);
    throw err;
  }
  return cfg;
}

export async function writeMachineFile(path: string, cfg: MachineConfig): Promise<void> {
  assertValid(cfg);
  await writeFileAtomic(path, JSON.stringify(cfg, null, 2) + '\n');
}
