// The supervisor of running VMs. Each VM runs in its own process, so a guest or engine that
// crashes takes down only that process; the manager notices the exit, records the VM as
// Aborted with the reason and the last log lines, and carries on with the others. It checks
// admission (memory, running-VM limit) before a start and keeps an hour of statistics per VM.
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HangarError } from '../api/errors.ts';
import type { MachineConfig } from '../library/config.ts';
import type { Library } from '../library/library.ts';
import { ControlClient } from './control-client.ts';
import type { BootSource } from './engines/vm-engine.ts';
import { checkAdmission, DEFAULT_POLICY, type AdmissionPolicy } from './host-resources.ts';
import { forkVmProcess, spawnDetachedVmProcess } from './launcher.ts';
import type { Command, StatusResult } from './protocol.ts';
import { assertOperation, isLive, type VmState } from './states.ts';
import { StatsHistory } from './stats.ts';
import { effectiveState, pidAlive, vmFiles, writePersistedState, type VmFiles } from './vm-files.ts';
import { tailLog } from './vm-log.ts';
import type { VmLaunchSpec } from './vm-runner.ts';

export interface StartOptions {
  boot?: BootSource;
  cpuCap?: number;
  /** Start a process that outlives this one (CLI --headless). The manager does not supervise it. */
  detached?: boolean;
  /** How long to wait for the VM to reach Running (ms). */
  timeoutMs?: number;
}

export interface VmExit {
  uuid: string;
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** State after the exit (PoweredOff, Saved or Aborted). */
  state: VmState;
  reason: string;
  lastLogLines: string[];
}

export class RunningVm {
  state: VmState = 'Starting';
  readonly history = new StatsHistory(3600);
  client: ControlClient | undefined;
  readonly exited: Promise<VmExit>;
  resolveExit!: (e: VmExit) => void;
  stderrTail: string[] = [];

  constructor(readonly config: MachineConfig, readonly configPath: string, readonly files: VmFiles, readonly child: ChildProcess) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get uuid(): string {
    return this.config.uuid;
  }

  get pid(): number {
    return this.child.pid!;
  }
}

/** One running VM as `hangar list --running` shows it: the VM process's own word where it answers. */
export interface RunningVmInfo {
  name: string;
  uuid: string;
  state: VmState;
  pid?: number;
  socket?: string;
  /** Undefined when the VM process did not answer on its control socket within 2 s. */
  uptimeMs?: number;
}

export interface ManagerOptions {
  policy?: AdmissionPolicy;
  onExit?: (e: VmExit) => void;
  onState?: (uuid: string, state: VmState) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class VmManager {
  private readonly running = new Map<string, RunningVm>();
  readonly policy: AdmissionPolicy;

  constructor(readonly library: Library, private readonly opts: ManagerOptions = {}) {
    this.policy = opts.policy ?? DEFAULT_POLICY;
  }

  /** VMs of the library whose process is alive (supervised here or started by another process). */
  async liveVms(): Promise<{ config: MachineConfig; path: string; state: VmState; pid?: number; socket?: string }[]> {
    const out = [];
    for (const m of await this.library.list()) {
      if (!m.accessible) continue;
      const s = await effectiveState(vmFiles(m.path, m.uuid));
      if (isLive(s.state)) out.push({ config: m.config, path: m.path, state: s.state, pid: s.pid, socket: s.socket });
    }
    return out;
  }

  /**
   * Every live VM of the library (whoever started it) with its state, process, socket and
   * uptime as its VM process reports them; a process that does not answer keeps the state
   * recorded in vm-state.json and no uptime.
   */
  async runningVms(): Promise<RunningVmInfo[]> {
    const live = await this.liveVms();
    return Promise.all(live.map(async (v) => {
      let status: StatusResult | undefined;
      try {
        const c = await ControlClient.connect(v.socket ?? vmFiles(v.path, v.config.uuid).socket, 2000);
        try {
          status = await c.request<StatusResult>('query-status');
        } finally {
          c.close();
        }
      } catch {
        status = undefined;
      }
      return {
        name: v.config.name, uuid: v.config.uuid, state: status?.state ?? v.state,
        ...(v.pid !== undefined ? { pid: v.pid } : {}), ...(v.socket !== undefined ? { socket: v.socket } : {}),
        ...(status ? { uptimeMs: status.uptimeMs } : {}),
      };
    }));
  }

  get supervised(): RunningVm[] {
    return [...this.running.values()];
  }

  get(uuid: string): RunningVm | undefined {
    return this.running.get(uuid);
  }

  async start(ref: string, opts: StartOptions = {}): Promise<{ vm?: RunningVm; pid: number; socket: string; state: VmState }> {
    const { path, config } = await this.library.get(ref);
    const files = vmFiles(path, config.uuid);
    const current = await effectiveState(files);
    if (isLive(current.state)) {
      let state = current.state;
      try {
        const c = await ControlClient.connect(current.socket ?? files.socket, 2000);
        state = (await c.request<StatusResult>('query-status')).state;
        c.close();
      } catch {
        // the file's word will do
      }
      throw new HangarError('state', `VM "${config.name}" is already ${state} (process ${current.pid}); its control socket is ${current.socket}`);
    }
    assertOperation('start', current.state);
    checkAdmission({ name: config.name, memoryMiB: config.memoryMiB }, (await this.liveVms()).length, this.policy);
    const spec: VmLaunchSpec = {
      configPath: path,
      ...(opts.boot ? { boot: opts.boot } : {}),
      ...(current.state === 'Saved' ? { restore: true } : {}),
      ...(opts.cpuCap !== undefined ? { cpuCap: opts.cpuCap } : {}),
    };
    const timeoutMs = opts.timeoutMs ?? 60_000;
    if (opts.detached) {
      const child = spawnDetachedVmProcess(spec, join(files.logsDir, 'vm-process.out'));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const state = await this.waitUntilUp(files, child.pid!, exited, timeoutMs);
      return { pid: child.pid!, socket: files.socket, state };
    }
    const child = forkVmProcess(spec);
    const vm = new RunningVm(config, path, files, child);
    this.running.set(config.uuid, vm);
    child.stderr!.on('data', (d: Buffer) => {
      vm.stderrTail.push(...d.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
      if (vm.stderrTail.length > 40) vm.stderrTail.splice(0, vm.stderrTail.length - 40);
    });
    child.stdout!.resume();
    const exitCode = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.once('exit', (code, signal) => void this.onChildExit(vm, code, signal));
    const state = await this.waitUntilUp(files, child.pid!, exitCode, timeoutMs, vm);
    return { vm, pid: child.pid!, socket: files.socket, state };
  }

  /** Waits for the control socket and a Running (or Paused) state; fails with the reason if the process dies. */
  private async waitUntilUp(files: VmFiles, pid: number, exited: Promise<number | null>, timeoutMs: number, vm?: RunningVm): Promise<VmState> {
    const deadline = performance.now() + timeoutMs;
    let gone = false;
    void exited.then(() => (gone = true));
    while (performance.now() < deadline) {
      if (gone) break;
      try {
        const client = await ControlClient.connect(files.socket, 1000);
        const st = await client.request<StatusResult>('query-status');
        if (st.pid !== pid) {
          client.close();
        } else if (st.state === 'Running' || st.state === 'Paused') {
          if (vm) this.attach(vm, client, st.state);
          else client.close();
          return st.state;
        } else {
          client.close();
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    if (vm) {
      const e = await Promise.race([vm.exited, sleep(2000).then(() => undefined)]);
      if (e) throw new HangarError('state', `VM "${vm.config.name}" failed to start: ${e.reason}${e.lastLogLines.length ? `\nlast log lines:\n  ${e.lastLogLines.join('\n  ')}` : ''}`);
    } else if (gone) {
      const s = await effectiveState(files);
      throw new HangarError('state', `the VM failed to start: ${s.reason ?? 'the VM process exited'}\nlast log lines:\n  ${tailLog(files.log, 10).join('\n  ')}`);
    }
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    throw new HangarError('io', `the VM did not reach Running within ${timeoutMs} ms; see ${files.log}`);
  }

  private attach(vm: RunningVm, client: ControlClient, state: VmState): void {
    vm.client = client;
    vm.state = state;
    client.onEvent((ev) => {
      if (ev.event === 'stats') vm.history.push(ev.sample);
      else if (ev.event === 'state') {
        vm.state = ev.state;
        this.opts.onState?.(vm.uuid, ev.state);
      }
    });
    void client.subscribe(['state', 'stats']).catch(() => {});
  }

  private async onChildExit(vm: RunningVm, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.running.delete(vm.uuid);
    vm.client?.close();
    let persisted = await effectiveState(vm.files).catch(() => undefined);
    let reason: string;
    if (signal) reason = `the VM process was killed by ${signal}`;
    else if (code !== 0) reason = `the VM process exited with status ${code}${persisted?.reason ? `: ${persisted.reason}` : ''}`;
    else reason = persisted?.reason ?? (persisted?.state === 'Saved' ? 'state saved' : 'powered off');
    if (signal || (persisted && isLive(persisted.state))) {
      // The process could not record its own end.
      await writePersistedState(vm.files, { state: 'Aborted', reason }).catch(() => {});
      // A killed process leaves its socket file behind.
      await rm(vm.files.socket, { force: true }).catch(() => {});
      persisted = { state: 'Aborted', at: new Date().toISOString(), reason };
    }
    const lastLogLines = [...tailLog(vm.files.log, 20), ...vm.stderrTail.map((l) => `stderr: ${l}`)];
    const e: VmExit = { uuid: vm.uuid, name: vm.config.name, code, signal, state: persisted?.state ?? 'Aborted', reason, lastLogLines };
    vm.state = e.state;
    vm.resolveExit(e);
    this.opts.onState?.(vm.uuid, e.state);
    this.opts.onExit?.(e);
  }

  /** A control connection to a running VM (supervised here or not). */
  async connect(ref: string): Promise<ControlClient> {
    const { path, config } = await this.library.get(ref);
    const files = vmFiles(path, config.uuid);
    const s = await effectiveState(files);
    if (!isLive(s.state)) throw new HangarError('state', `VM "${config.name}" is not running (it is ${s.state}${s.reason ? `: ${s.reason}` : ''})`);
    return ControlClient.connect(s.socket ?? files.socket);
  }

  async control<T = unknown>(ref: string, cmd: Command, args?: Record<string, unknown>): Promise<T> {
    const own = [...this.running.values()].find((v) => v.uuid === ref.toLowerCase() || v.config.name === ref);
    if (own?.client) return own.client.request<T>(cmd, args);
    const c = await this.connect(ref);
    try {
      return await c.request<T>(cmd, args);
    } finally {
      c.close();
    }
  }

  /** Stats history of a supervised VM (oldest first), the last `seconds` of it. */
  history(uuid: string, seconds?: number) {
    const vm = this.running.get(uuid);
    if (!vm) throw new HangarError('not-found', `VM ${uuid} is not running under this manager`);
    return vm.history.query(seconds === undefined ? undefined : seconds * 1000);
  }

  /** Drop a saved state: the VM goes back to PoweredOff. */
  async discardState(ref: string): Promise<void> {
    const { path, config } = await this.library.get(ref);
    const files = vmFiles(path, config.uuid);
    const s = await effectiveState(files);
    assertOperation('discardstate', s.state);
    await rm(s.savedState ?? files.savedState, { force: true });
    await writePersistedState(files, { state: 'PoweredOff', reason: 'saved state discarded' });
  }

  /** Power off every supervised VM (manager shutdown). */
  async shutdown(): Promise<void> {
    await Promise.all(this.supervised.map(async (vm) => {
      try {
        await vm.client?.request('poweroff');
      } catch {
        vm.child.kill('SIGKILL');
      }
      await Promise.race([vm.exited, sleep(5000)]);
      if (vm.child.exitCode === null && vm.child.signalCode === null) vm.child.kill('SIGKILL');
    }));
  }
}
