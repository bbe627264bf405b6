// Opening a file Hangar is associated with. A `.hangar` file joins the library unless it is
// already there (by path or UUID); starting it comes with the VMM. `.ova` import comes with
// the appliance module; until then opening one says so plainly.
import { resolve } from 'node:path';
import { HangarError } from '../src-core/api/errors.ts';
import type { HangarService } from '../src-core/api/service.ts';

export type OpenResult =
  | { kind: 'registered'; uuid: string; name: string }
  | { kind: 'known'; uuid: string; name: string }
  | { kind: 'failed'; path: string; message: string };

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

export function applianceUnsupported(file: string): OpenResult {
  return {
    kind: 'failed',
    path: resolve(file),
    message: `${resolve(file)}: importing appliances (.ova) is not available in this version of Hangar; the file was not changed`,
  };
}
