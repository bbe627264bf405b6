// The manager's state: the machine list, OS types, host facts, selection and notifications.
// Components read it; actions here call the service and report failures as notifications.
import { HangarError } from '../../../src-core/api/errors.ts';
import type { ServiceClient } from '../../../src-core/api/client.ts';
import type { HostInfo, OsType } from '../../../src-core/api/machine.ts';
import type { StatsSample } from '../../../src-core/api/runtime.ts';
import type { HangarEvent, MachineEntry } from '../../../src-core/api/service.ts';
import { S } from './strings.ts';
import type { Selection } from './selection.ts';
import { prune } from './selection.ts';

export interface Notice {
  id: number;
  title: string;
  message: string;
  hint: string;
}

let nextNotice = 1;

/** Context key under which the manager shares its notifications with modal dialogs. */
export const NOTICES = Symbol('notices');

export interface NoticeSource {
  readonly notices: Notice[];
  dismiss(id: number): void;
}

export class AppState {
  // Raw state: these are replaced whole, never edited in place, so deep proxies would only
  // slow down reading 200 configurations.
  machines = $state.raw<MachineEntry[]>([]);
  /** The newest statistics sample of each running VM (from 'vm-stats' events). */
  latest = $state.raw<ReadonlyMap<string, StatsSample>>(new Map());
  osTypes = $state.raw<OsType[]>([]);
  host = $state.raw<HostInfo | undefined>(undefined);
  selection = $state<Selection>({ selected: new Set() });
  notices = $state<Notice[]>([]);
  loaded = $state(false);

  constructor(readonly client: ServiceClient) {}

  async start(): Promise<void> {
    try {
      const [osTypes, host] = await Promise.all([this.client.osTypes({}), this.client.hostInfo({})]);
      this.osTypes = osTypes;
      this.host = host;
      this.client.onEvent((e) => this.onEvent(e));
      await this.refresh();
    } catch (err) {
      this.report(S.errors.connect, err, S.errors.connectHint);
    }
  }

  async refresh(): Promise<void> {
    try {
      this.machines = await this.client.listMachines({});
      this.selection = prune(this.selection, new Set(this.machines.map((m) => m.uuid)));
      this.loaded = true;
    } catch (err) {
      this.report(S.errors.load, err);
    }
  }

  private onEvent(e: HangarEvent): void {
    if (e.type === 'machines-changed') void this.refresh();
    else if (e.type === 'vm-state') {
      const runtime = { state: e.state, ...(e.reason ? { reason: e.reason } : {}) };
      this.machines = this.machines.map((m) => (m.uuid === e.uuid && m.accessible ? { ...m, runtime } : m));
      if (!['Starting', 'Running', 'Paused', 'Saving', 'Restoring', 'Stopping'].includes(e.state) && this.latest.has(e.uuid)) {
        const next = new Map(this.latest);
        next.delete(e.uuid);
        this.latest = next;
      }
    } else if (e.type === 'vm-stats') {
      const next = new Map(this.latest);
      next.set(e.uuid, e.sample);
      this.latest = next;
    }
  }

  selectedMachines(): MachineEntry[] {
    return this.machines.filter((m) => this.selection.selected.has(m.uuid));
  }

  select(uuid: string): void {
    this.selection = { selected: new Set([uuid]), anchor: uuid };
  }

  /** Show a failure: what failed (title), why (the service's message) and what to do. */
  report(title: string, err: unknown, hint?: string): void {
    const code = err instanceof HangarError ? err.code : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    // The same failure twice in a row (say, a check and then the save) is one notice.
    if (this.notices.some((n) => n.title === title && n.message === message)) return;
    this.notices = [...this.notices, { id: nextNotice++, title, message, hint: hint ?? S.errors.hints[code] ?? S.errors.hints.internal! }];
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }
}
