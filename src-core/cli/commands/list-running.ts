// `hangar list --running`: the VMs whose process is alive, asked of the VMM (VmManager.runningVms),
// as a table or JSON. Loaded only for --running, so a plain `hangar list` does not load the VMM.
import type { Library } from '../../library/library.ts';
import { VmManager } from '../../vmm/vm-manager.ts';
import { printJson, table } from '../parse.ts';

export async function listRunning(lib: Library, json: boolean): Promise<void> {
  const rows = await new VmManager(lib).runningVms();
  if (json) {
    printJson(rows.map((r) => ({ name: r.name, uuid: r.uuid, state: r.state, pid: r.pid, socket: r.socket, uptimeMs: r.uptimeMs })));
    return;
  }
  if (!rows.length) {
    process.stdout.write('No VMs are running.\n');
    return;
  }
  process.stdout.write(table(['NAME', 'UUID', 'STATE', 'PID', 'UPTIME', 'SOCKET'], rows.map((r) => [
    r.name, r.uuid, r.state, String(r.pid ?? '-'), r.uptimeMs === undefined ? '-' : `${Math.round(r.uptimeMs / 1000)}s`, r.socket ?? '-',
  ])));
}
