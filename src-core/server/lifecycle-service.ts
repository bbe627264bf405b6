// The running-VM half of the service: lifecycle, statistics and the serial console, over a
// VmManager (VMs this service starts run as its supervised child processes) and a
// VmRuntimeHub (state, stats and console of every live VM, also those the CLI started).
import { HangarError } from '../api/errors.ts';
import type { StatsSample, VmRuntime, VmStateName } from '../api/runtime.ts';
import type { HangarEvent, HangarService, MachineEntry, RuntimeMethodName } from '../api/service.ts';
import type { Library } from '../library/library.ts';
import type { StatusResult } from '../vmm/protocol.ts';
import { VmManager } from '../vmm/vm-manager.ts';
import { importApplianceFile } from './appliance-service.ts';
import { createLibraryService } from './library-service.ts';
import { VmRuntimeHub } from './vm-runtime.ts';

type LifecycleMethods = Pick<HangarService, RuntimeMethodName>;

export interface HangarServiceOptions {
  onEvent?: (e: HangarEvent) => void;
  /** The manager that starts VMs (tests pass one with their own admission policy). */
  manager?: VmManager;
  /** Poll interval for VMs started elsewhere; 0 disables polling (tests drive sync()). */
  pollMs?: number;
}

export interface HangarServiceHandle {
  service: HangarService;
  hub: VmRuntimeHub;
  manager: VmManager;
  /** Stop watching and power off the VMs this service started (they are its children). */
  close(): Promise<void>;
}

export function createHangarService(library: Library, opts: HangarServiceOptions = {}): HangarServiceHandle {
  const emit = (e: HangarEvent): void => opts.onEvent?.(e);
  const hub = new VmRuntimeHub(library, emit);
  const manager = opts.manager ?? new VmManager(library, { onState: () => void hub.sync().catch(() => {}) });
  const base = createLibraryService(library, { onEvent: emit });

  const after = async (ref: string): Promise<VmRuntime> => {
    const m = await library.get(ref);
    await hub.sync();
    return (await hub.states()).get(m.config.uuid) ?? { state: 'PoweredOff' };
  };
  const control = async (ref: string, cmd: 'pause' | 'resume' | 'reset' | 'acpi-powerbutton' | 'poweroff' | 'savestate'): Promise<VmRuntime> => {
    const r = await manager.control<Partial<StatusResult>>(ref, cmd);
    const settled = await after(ref);
    // The VM answers with its new state before the folder or the event stream may show it.
    return r.state && r.state !== settled.state && cmd !== 'poweroff' && cmd !== 'savestate' ? { state: r.state as VmStateName } : settled;
  };

  const lifecycle: LifecycleMethods = {
    async startMachine({ ref }) {
      const r = await manager.start(ref);
      await hub.sync();
      return { state: r.state };
    },
    pauseMachine: ({ ref }) => control(ref, 'pause'),
    resumeMachine: ({ ref }) => control(ref, 'resume'),
    resetMachine: ({ ref }) => control(ref, 'reset'),
    acpiPowerButton: ({ ref }) => control(ref, 'acpi-powerbutton'),
    powerOffMachine: ({ ref }) => control(ref, 'poweroff'),
    saveState: ({ ref }) => control(ref, 'savestate'),
    async discardState({ ref }) {
      await manager.discardState(ref);
      return after(ref);
    },
    async machineStats({ ref, seconds }) {
      const r = await manager.control<{ current: StatsSample | null; history?: StatsSample[] }>(ref, 'query-stats', { history: seconds ?? 3600 });
      return { current: r.current, history: r.history ?? [] };
    },
    consoleSubscribe: ({ ref }) => hub.subscribeConsole(ref),
    consoleUnsubscribe: ({ ref }) => hub.unsubscribeConsole(ref),
    async importAppliance(p) {
      const res = await importApplianceFile(library, p);
      if (!p.dryRun) emit({ type: 'machines-changed' });
      return res;
    },
    async consoleInput({ ref, text, b64 }) {
      if (text === undefined && b64 === undefined) throw new HangarError('usage', 'consoleInput: give exactly one of text or b64');
      return manager.control<{ bytes: number }>(ref, 'serial-input', text !== undefined ? { text } : { b64 });
    },
  };

  const service: HangarService = {
    ...base,
    ...lifecycle,
    async listMachines() {
      const list = await base.listMachines({});
      const states = await hub.states(list);
      return list.map((m): MachineEntry => {
        const rt = states.get(m.uuid);
        return rt ? { ...m, runtime: rt } : m;
      });
    },
    async deleteMachine(p) {
      await refuseIfRunning(p.ref, 'remove');
      return base.deleteMachine(p);
    },
    async unregisterMachine(p) {
      await refuseIfRunning(p.ref, 'remove');
      return base.unregisterMachine(p);
    },
  };

  async function refuseIfRunning(ref: string, what: string): Promise<void> {
    const m = await library.find(ref).catch(() => undefined);
    if (!m) return; // the library's own error says it best
    const rt = (await hub.states()).get(m.uuid);
    if (rt && ['Starting', 'Running', 'Paused', 'Saving', 'Restoring', 'Stopping'].includes(rt.state)) {
      throw new HangarError('state', `cannot ${what} the VM: it is ${rt.state}; power it off first`);
    }
  }

  if (opts.pollMs !== 0) hub.start(opts.pollMs);
  return {
    service, hub, manager,
    async close() {
      hub.close();
      await manager.shutdown();
    },
  };
}
