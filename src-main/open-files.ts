// Opening a file Hangar is associated with. A `.hangar` file joins the library unless it is
// already there (by path or UUID), then starts, as a double-click on a VM does in VirtualBox;
// a VM that is already running (or paused, saving, ...) is left as it is. An `.ova` opens the
// window's import dialog with its path (the dialog shows the dry-run mapping report before
// anything is written).
import { resolve } from 'node:path';
import { HangarError } from '../src-core/api/errors.ts';
import { LIFECYCLE_ACTIONS, type VmStateName } from '../src-core/api/runtime.ts';
import type { HangarService } from '../src-core/api/service.ts';

export type OpenResult =
  | { kind: 'registered' | 'known'; uuid: string; name: string; state: VmStateName }
  | { kind: 'failed'; path: string; message: string; hint: string }
  | { kind: 'import'; path: string };

const FILE_HINT = 'Check that the file exists and is a Hangar VM (.hangar).';
const START_HINT = 'The VM is in the library: fix its settings, then start it from the manager.';

export async function openMachineFile(service: HangarService, file: string): Promise<OpenResult> {
  const path = resolve(file);
  let opened: { kind: 'registered' | 'known'; uuid: string; name: string; state: VmStateName };
  try {
    const list = await service.listMachines({});
    const known = list.find((m) => resolve(m.path) === path);
    if (known && !known.accessible) return { kind: 'failed', path, message: known.error, hint: FILE_HINT };
    if (known) opened = { kind: 'known', uuid: known.uuid, name: known.config.name, state: known.runtime?.state ?? 'PoweredOff' };
    else {
      const res = await service.registerMachine({ path });
      opened = { kind: 'registered', uuid: res.config.uuid, name: res.config.name, state: 'PoweredOff' };
    }
  } catch (err) {
    // A damaged file, or the same UUID registered from elsewhere: the message says which.
    const message = err instanceof HangarError || err instanceof Error ? err.message : String(err);
    return { kind: 'failed', path, message, hint: FILE_HINT };
  }
  if (!(LIFECYCLE_ACTIONS.startMachine as readonly VmStateName[]).includes(opened.state)) return opened;
  try {
    const runtime = await service.startMachine({ ref: opened.uuid });
    return { ...opened, state: runtime.state };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { kind: 'failed', path, message: `VM "${opened.name}" did not start: ${reason}`, hint: START_HINT };
  }
}

/** An appliance goes to the import dialog, by its absolute path (the service resolves no cwd of ours). */
export function applianceImport(file: string): OpenResult {
  return { kind: 'import', path: resolve(file) };
}
