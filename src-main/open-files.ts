// Opening a file Hangar is associated with. A `.hangar` file joins the library unless it is
// already there (by path or UUID). An `.ova` opens the window's import dialog with its path
// (the dialog shows the dry-run mapping report before anything is written).
import { resolve } from 'node:path';
import { HangarError } from '../src-core/api/errors.ts';
import type { HangarService } from '../src-core/api/service.ts';

export type OpenResult =
  | { kind: 'registered'; uuid: string; name: string }
  | { kind: 'known'; uuid: string; name: string }
  | { kind: 'failed'; path: string; message: string }
  | { kind: 'import'; path: string };

export async function openMachineFile(service: HangarService, file: string): Promise<OpenResult> {
  const path = resolve(file);
  try {
    const list = await service.listMachines({});
    const known = list.find((m) => resolve(m.path) === path);
    if (known) return { kind: 'known', uuid: known.uuid, name: known.accessible ? known.config.name : path };
    const res = await service.registerMachine({ path });
    return { kind: 'registered', uuid: res.config.uuid, name: res.config.name };
  } catch (err) {
    // Same UUID registered from elsewhere: that VM is the one the user means.
    if (err instanceof HangarError && err.code === 'exists' && /already registered from/.test(err.message)) {
      return { kind: 'failed', path, message: err.message };
    }
    return { kind: 'failed', path, message: err instanceof Error ? err.message : String(err) };
  }
}

/** An appliance goes to the import dialog, by its absolute path (the service resolves no cwd of ours). */
export function applianceImport(file: string): OpenResult {
  return { kind: 'import', path: resolve(file) };
}
