// Watches the library's running VMs for the service: one control connection per live VM,
// whoever started it (this service's VmManager, `hangar start --headless`, another manager).
// Through it come state changes and once-a-second statistics (pushed to every client) and the
// serial console (kept in a ring, pushed only while someone has subscribed).
import { HangarError } from '../api/errors.ts';
import type { ConsoleChunk, StatsSample, VmRuntime, VmStateName } from '../api/runtime.ts';
import type { HangarEvent } from '../api/service.ts';
import type { Library } from '../library/library.ts';
import { ControlClient } from '../vmm/control-client.ts';
import type { VmEvent } from '../vmm/protocol.ts';
import { isLive } from '../vmm/states.ts';
import { effectiveState, vmFiles } from '../vmm/vm-files.ts';

/** How much console output a late subscriber gets to see. */
export const CONSOLE_KEEP = 256 * 1024;
const POLL_MS = 2000;

interface Watched {
  uuid: string;
  client: ControlClient;
  state: VmStateName;
  /** Console bytes kept (the last CONSOLE_KEEP) and the stream position where they end. */
  ring: Buffer;
  end: number;
  subscribers: number;
  latest: StatsSample | null;
}

export class VmRuntimeHub {
  private readonly watched = new Map<string, Watched>();
  private readonly connecting = new Map<string, Promise<Watched | undefined>>();
  /** Last state told to clients, so a poll only reports changes. */
  private readonly told = new Map<string, VmRuntime>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly library: Library, private readonly emit: (e: HangarEvent) => void) {}

  /** Begin polling for VMs started elsewhere (the CLI) and for ones that ended unseen. */
  start(pollMs = POLL_MS): void {
    const tick = (): void => {
      this.timer = setTimeout(() => void this.sync().catch(() => {}).finally(() => { if (!this.closed) tick(); }), pollMs);
      this.timer.unref();
    };
    void this.sync().catch(() => {});
    tick();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watched.values()) w.client.close();
    this.watched.clear();
  }

  /** The state of every accessible VM (of `list`, default the library's), read in parallel. */
  async states(list?: readonly { uuid: string; path: string; accessible: boolean }[]): Promise<Map<string, VmRuntime>> {
    const vms = (list ?? (await this.library.list())).filter((m) => m.accessible);
    const states = await Promise.all(vms.map((m) => this.stateOf(m.uuid, m.path)));
    return new Map(vms.map((m, i) => [m.uuid, states[i]!]));
  }

  private async stateOf(uuid: string, path: string): Promise<VmRuntime> {
    const w = this.watched.get(uuid);
    if (w) return { state: w.state };
    try {
      const s = await effectiveState(vmFiles(path, uuid));
      return { state: s.state, ...(s.reason ? { reason: s.reason } : {}) };
    } catch (err) {
      return { state: 'Aborted', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Connect to VMs that became live, report every state that changed since last told. */
  async sync(): Promise<void> {
    for (const m of await this.library.list()) {
      if (!m.accessible || this.closed) continue;
      const rt = await this.stateOf(m.uuid, m.path);
      if (isLive(rt.state) && !this.watched.has(m.uuid)) await this.watch(m.uuid, m.path);
      else this.tell(m.uuid, rt);
    }
  }

  private tell(uuid: string, rt: VmRuntime): void {
    const last = this.told.get(uuid);
    if (last && last.state === rt.state && last.reason === rt.reason) return;
    this.told.set(uuid, rt);
    this.emit({ type: 'vm-state', uuid, state: rt.state, ...(rt.reason ? { reason: rt.reason } : {}) });
  }

  /** Attach to a live VM (idempotent); undefined when it is not reachable (not running). */
  watch(uuid: string, path: string): Promise<Watched | undefined> {
    const have = this.watched.get(uuid);
    if (have) return Promise.resolve(have);
    let p = this.connecting.get(uuid);
    if (!p) {
      p = this.connect(uuid, path).finally(() => this.connecting.delete(uuid));
      this.connecting.set(uuid, p);
    }
    return p;
  }

  private async connect(uuid: string, path: string): Promise<Watched | undefined> {
    const files = vmFiles(path, uuid);
    const s = await effectiveState(files);
    if (!isLive(s.state)) {
      this.tell(uuid, { state: s.state, ...(s.reason ? { reason: s.reason } : {}) });
      return undefined;
    }
    let client: ControlClient;
    try {
      client = await ControlClient.connect(s.socket ?? files.socket, 2000);
    } catch {
      return undefined; // still starting or just ended: the next poll looks again
    }
    const w: Watched = { uuid, client, state: s.state, ring: Buffer.alloc(0), end: 0, subscribers: 0, latest: null };
    client.onEvent((ev) => this.onVmEvent(w, ev));
    try {
      const r = await client.request<{ state: VmStateName }>('subscribe', { events: ['state', 'stats', 'serial'], backlog: true });
      w.state = r.state;
    } catch {
      client.close();
      return undefined;
    }
    if (this.closed) {
      client.close();
      return undefined;
    }
    this.watched.set(uuid, w);
    this.tell(uuid, { state: w.state });
    void client.closed.then(async () => {
      if (this.watched.get(uuid) === w) this.watched.delete(uuid);
      // The socket closes when the VM stops; its folder says how it ended.
      if (!this.closed) this.tell(uuid, await this.stateOf(uuid, path));
    });
    return w;
  }

  private onVmEvent(w: Watched, ev: VmEvent): void {
    if (ev.event === 'state') {
      w.state = ev.state;
      this.tell(w.uuid, { state: ev.state, ...(ev.reason ? { reason: ev.reason } : {}) });
    } else if (ev.event === 'stats') {
      w.latest = ev.sample;
      this.emit({ type: 'vm-stats', uuid: w.uuid, sample: ev.sample });
    } else if (ev.event === 'serial' && ev.port === 'COM1') {
      const bytes = Buffer.from(ev.b64, 'base64');
      const chunk: ConsoleChunk = { offset: w.end, b64: ev.b64 };
      w.end += bytes.length;
      w.ring = Buffer.concat([w.ring, bytes]);
      if (w.ring.length > CONSOLE_KEEP) w.ring = w.ring.subarray(w.ring.length - CONSOLE_KEEP);
      if (w.subscribers > 0) this.emit({ type: 'console', uuid: w.uuid, chunk });
    }
  }

  private async live(ref: string): Promise<Watched> {
    const m = await this.library.get(ref);
    const w = await this.watch(m.config.uuid, m.path);
    if (!w) {
      const rt = await this.stateOf(m.config.uuid, m.path);
      throw new HangarError('state', `VM "${m.config.name}" is not running (it is ${rt.state}); start it first`);
    }
    return w;
  }

  async subscribeConsole(ref: string): Promise<{ data: ConsoleChunk; end: number }> {
    const w = await this.live(ref);
    w.subscribers++;
    return { data: { offset: w.end - w.ring.length, b64: w.ring.toString('base64') }, end: w.end };
  }

  async unsubscribeConsole(ref: string): Promise<{ subscribed: boolean }> {
    const m = await this.library.get(ref);
    const w = this.watched.get(m.config.uuid);
    if (w && w.subscribers > 0) w.subscribers--;
    return { subscribed: !!w && w.subscribers > 0 };
  }

  /** The live connection's latest sample, for VMs this hub watches. */
  latest(uuid: string): StatsSample | null {
    return this.watched.get(uuid)?.latest ?? null;
  }
}
