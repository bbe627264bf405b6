// Schema versions of `.hangar` files. Each migration lifts a config one version; loading
// applies them in order, so a file written by any older Hangar opens in this one. A file
// from a newer Hangar is refused rather than silently truncated.
import { HangarError } from '../api/errors.ts';
import { CONFIG_SCHEMA_VERSION } from './config.ts';

type Migration = (cfg: Record<string, unknown>) => Record<string, unknown>;

/** MIGRATIONS[n] turns a version-n config into version n+1. Version 1 is the first. */
const MIGRATIONS: Record<number, Migration> = {};

export function migrateConfig(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HangarError('corrupt', 'expected a JSON object describing a machine');
  }
  let cfg = raw as Record<string, unknown>;
  const v = cfg.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new HangarError('corrupt', `schemaVersion ${JSON.stringify(v)} is not valid; allowed: a whole number from 1 to ${CONFIG_SCHEMA_VERSION}`);
  }
  if (v > CONFIG_SCHEMA_VERSION) {
    throw new HangarError('unsupported', `written by a newer Hangar (schema version ${v}; this one reads up to ${CONFIG_SCHEMA_VERSION}). Upgrade Hangar to open it.`);
  }
  for (let at = v; at < CONFIG_SCHEMA_VERSION; at++) {
    const step = MIGRATIONS[at];
    if (!step) throw new HangarError('internal', `no migration from schema version ${at}`);
    cfg = { ...step(cfg), schemaVersion: at + 1 };
  }
  return cfg;
}
