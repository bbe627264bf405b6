// Inside the VM process: one engine, the lifecycle of this VM, the run loop with the execution
// cap, the control socket, serial backends, statistics and the log.
//
// JavaScript runs one thing at a time, so a control command is always handled between two
// engine slices: pause, save and reset happen at an instruction boundary by construction.
import { rm } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { HangarError } from '../api/errors.ts';
import type { MachineConfig } from '../library/config.ts';
import { resolveMachinePath } from '../library/library.ts';
import { CapGovernor } from './cap-governor.ts';
import { PanicDetector } from './panic-detector.ts';
import { ControlServer, parseEventKinds, type ControlConnection } from './control-server.ts';
import { VmEngine, type BootSource } from './engines/vm-engine.ts';
import { applyAffinity, applyPriority, type Priority } from './host-resources.ts';
import { PROTOCOL_VERSION, argInt, argString, type Request, type StatusResult, type VmEvent } from './protocol.ts';
import { readSavedState, writeSavedState } from './saved-state.ts';
import { LOOPBACK, openSerialBackend, type SerialBackend, type SerialBackendSpec } from './serial-backends.ts';
import { assertOperation, assertTransition, isLive, type VmOperation, type VmState } from './states.ts';
import { StatsHistory, StatsSampler, type StatsSample } from './stats.ts';
import type { VmLog } from './vm-log.ts';
import { writePersistedState, writePersistedStateSync, type VmFiles } from './vm-files.ts';

/** What the manager hands the VM process (as JSON in argv). */
export interface VmLaunchSpec {
  configPath: string;
  /** Default: boot what the configuration says. */
  boot?: BootSource;
  /** Continue from the saved state file. */
  restore?: boolean;
  /** Override the configured cap (percent). */
  cpuCap?: number;
}

/**
 * COM1 output kept for late subscribers (the manager, `hangar console`): a whole verbose Linux
 * boot log is ~100 KiB, so a console opened after boot still starts at power-on.
 */
const SERIAL_BACKLOG = 256 * 1024;
/** What a TCP console client sees of the past when it connects: enough for the last screen. */
const TCP_REPLAY_BYTES = 4096;
const STEP_BUDGET = 20_000;

export class VmRunner {
  state: VmState;
  private engine!: VmEngine;
  private server!: ControlServer;
  private readonly governor: CapGovernor;
  private sampler!: StatsSampler;
  private readonly history = new StatsHistory(3600);
  private statsTimer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private wake: (() => void) | undefined;
  private exiting = false;
  private readonly panics = new PanicDetector();
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private readonly serialBackends: SerialBackend[] = [];
  readonly done: Promise<number>;
  private finish!: (code: number) => void;

  constructor(
    readonly spec: VmLaunchSpec,
    readonly config: MachineConfig,
    readonly files: VmFiles,
    readonly log: VmLog,
  ) {
    this.governor = new CapGovernor(spec.cpuCap ?? config.resources?.cpuCap ?? 100);
    this.state = spec.restore ? 'Saved' : 'PoweredOff';
    this.done = new Promise((r) => (this.finish = r));
    log.onLine = (level, message) => this.emit({ event: 'log', level, message });
  }

  get priority(): Priority {
    return this.config.resources?.priority ?? 'normal';
  }

  /** Bring the VM up: resources, engine, socket, then run (or restore and run). */
  async start(): Promise<void> {
    const c = this.config;
    this.log.info(`Hangar VM process ${process.pid} for "${c.name}" (${c.uuid}), node ${process.version}`);
    this.log.info(`configuration: ${JSON.stringify({ cpus: c.cpus, memoryMiB: c.memoryMiB, firmware: c.firmware, serial: c.serial, resources: c.resources ?? {} })}`);
    await this.setState(this.spec.restore ? 'Restoring' : 'Starting');
    if (this.priority !== 'normal') applyPriority(process.pid, this.priority);
    if (c.resources?.affinity) applyAffinity(process.pid, c.resources.affinity);
    this.log.info(`scheduling: priority ${this.priority}, cpu cap ${this.governor.cap}%, affinity ${c.resources?.affinity?.join(',') ?? 'any core'}`);
    const boot = this.spec.boot ?? { kind: 'config' };
    this.engine = await VmEngine.create(c, this.spec.configPath, boot, { netLog: (line) => this.log.info(line) });
    if (boot.kind === 'config') for (const w of VmEngine.unsupportedHardware(c)) this.log.warn(w);
    for (const w of this.engine.storage.warnings) this.log.warn(w);
    for (const line of this.engine.storage.describe()) this.log.info(line);
    this.engine.storage.onActivity = () => this.kick(); // disk I/O done: the guest waits for its interrupt
    for (const w of this.engine.network.warnings) this.log.warn(w);
    for (const line of this.engine.network.describe()) this.log.info(line);
    this.engine.network.onActivity = () => this.kick(); // a frame arrived: the guest may be in HLT
    await this.wireSerial();
    this.engine.machine.onReset(() => this.log.info('machine reset'));
    this.server = new ControlServer(this.files.socket, (req, conn) => this.handle(req, conn));
    await this.server.listen();
    this.log.info(`control socket ${this.files.socket}`);
    this.sampler = new StatsSampler(this.engine.ram.length);
    this.statsTimer = setInterval(() => this.sampleStats(), 1000);
    if (this.spec.restore) {
      const t0 = performance.now();
      const saved = await readSavedState(this.files.savedState, this.engine.ram, { ramIsZero: true });
      if (saved.header.uuid !== c.uuid) throw new HangarError('state', `saved state ${this.files.savedState} belongs to VM ${saved.header.uuid}, not ${c.uuid}`);
      const s = saved.state as Record<string, unknown>;
      await this.engine.storage.restoreMedia((s.engine as Record<string, unknown>).machine as Record<string, unknown>);
      this.engine.loadState(s.engine as Record<string, unknown>);
      await rm(this.files.savedState, { force: true });
      this.log.info(`restored from ${this.files.savedState} in ${(performance.now() - t0).toFixed(0)} ms`);
      if (s.vmState === 'Paused') {
        this.engine.network.freeze(true);
        await this.setState('Paused');
      } else {
        this.engine.resumeClock();
        await this.setState('Running');
      }
    } else {
      this.engine.resumeClock();
      await this.setState('Running');
    }
    void this.loop().catch((err) => this.crash(err));
  }

  /**
   * Opens the configured serial backends (file, TCP on 127.0.0.1; see serial-backends.ts) and
   * routes guest output to them, to the COM1 backlog and to subscribers. A backend that cannot
   * be opened (port in use, unwritable file) fails the start, naming the port and why.
   */
  private async wireSerial(): Promise<void> {
    const outputs = new Map<number, SerialBackend>();
    for (const s of this.config.serial) {
      const port = Number(s.port.slice(3)) - 1;
      let spec: SerialBackendSpec | undefined;
      if (s.mode === 'file') spec = { kind: 'file', path: resolveMachinePath(this.spec.configPath, s.path!) };
      else if (s.mode === 'tcp') spec = { kind: 'tcp', port: s.tcpPort! };
      else if (s.mode === 'pty') this.log.warn(`${s.port}: serial mode pty is not offered by the VM process; use tcp, or the control socket console (hangar console)`);
      if (!spec) continue;
      const backend = await openSerialBackend(spec, {
        onInput: (d) => {
          if (this.state !== 'Running' && this.state !== 'Paused') return;
          this.engine.machine.sendSerial(port, d);
          this.kick();
        },
        onError: (msg) => {
          outputs.delete(port);
          this.log.error(`${s.port}: ${msg}`);
        },
        replayBytes: TCP_REPLAY_BYTES,
      }).catch((err: Error) => {
        throw new HangarError('io', `${s.port}: ${err.message}`);
      });
      this.serialBackends.push(backend);
      outputs.set(port, backend);
      this.log.info(`${s.port}: ${backend.describe}${spec.kind === 'tcp' ? ` (connect with: nc ${LOOPBACK} ${spec.port})` : ''}`);
    }
    this.engine.machine.onSerialOutput((port, data) => {
      outputs.get(port)?.write(data);
      const buf = Buffer.from(data);
      if (port === 0) {
        this.backlog.push(buf);
        this.backlogBytes += buf.length;
        while (this.backlogBytes > SERIAL_BACKLOG && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()!.length;
      }
      this.emit({ event: 'serial', port: `COM${port + 1}`, b64: buf.toString('base64') });
      const panic = this.panics.push(buf.toString('latin1'));
      if (panic) {
        this.log.error(`guest panic: ${panic}`);
        this.emit({ event: 'panic', message: panic });
      }
    });
  }

  private emit(ev: VmEvent): void {
    this.server?.broadcast(ev);
  }

  private async setState(next: VmState, reason?: string): Promise<void> {
    const prev = this.state;
    if (next !== prev) assertTransition(prev, next);
    this.state = next;
    if (next !== prev) {
      this.log.info(`state ${prev} -> ${next}${reason ? ` (${reason})` : ''}`);
      this.emit({ event: 'state', state: next, previous: prev, ...(reason ? { reason } : {}) });
    }
    const persisted = isLive(next)
      ? { state: next, pid: process.pid, socket: this.files.socket }
      : next === 'Saved' ? { state: next, savedState: this.files.savedState } : { state: next, ...(reason ? { reason } : {}) };
    writePersistedStateSync(this.files, persisted);
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(() => {
        if (this.wake === done) this.wake = undefined;
        res();
      }, ms);
      const done = (): void => {
        clearTimeout(t);
        res();
      };
      if (wakeable) this.wake = done;
    });
  }

  /** The run loop: slices of guest execution, cap sleeps, idle waits. */
  private async loop(): Promise<void> {
    const e = this.engine;
    while (!this.exiting) {
      if (this.state !== 'Running') {
        await this.sleep(1000, true);
        continue;
      }
      const sliceMs = this.governor.sliceMs();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let now = t0;
      do {
        e.step(STEP_BUDGET);
        now = performance.now();
      } while (now - t0 < sliceMs && !e.idle && !e.poweredOff);
      if (e.poweredOff) {
        await this.stop('the guest powered off');
        return;
      }
      // The cap is a share of CPU time: count what the process actually got, not the wall
      // time of the slice (on a busy host the two differ, and wall time would under-serve).
      const cpu = process.cpuUsage(cpu0);
      let sleepMs = this.governor.afterSlice((cpu.user + cpu.system) / 1000, now);
      if (e.idle) {
        const next = e.msToNextTimer();
        sleepMs = Math.max(sleepMs, next < 0 ? 50 : Math.min(50, next));
        await this.sleep(sleepMs, true);
        e.pollTimers();
      } else if (sleepMs >= 1) {
        await this.sleep(sleepMs, false);
      } else {
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  private sampleStats(): void {
    if (!this.engine) return;
    const s = this.sampler.sample({
      instructions: this.engine.instructions,
      disk: this.engine.storage?.counters() ?? undefined,
      net: this.engine.network?.counters() ?? undefined,
    });
    this.history.push(s);
    this.emit({ event: 'stats', sample: s });
  }

  private status(): StatusResult {
    return {
      protocol: PROTOCOL_VERSION, uuid: this.config.uuid, name: this.config.name, state: this.state, pid: process.pid,
      uptimeMs: Math.round(performance.now() - this.started), socket: resolvePath(this.files.socket), engine: this.engine?.kind ?? 'none',
      cpuCap: this.governor.cap, priority: this.priority,
    };
  }

  private async handle(req: Request, conn: ControlConnection): Promise<unknown> {
    const a = req.args;
    const need = (op: VmOperation): void => assertOperation(op, this.state);
    switch (req.cmd) {
      case 'query-status':
        return this.status();
      case 'query-stats': {
        const seconds = argInt('query-stats', a, 'history', 0, 3600, true);
        const current: StatsSample | undefined = this.history.latest();
        // `current` is the last once-a-second sample; `instructions` is the live count.
        return { current: current ?? null, instructions: this.engine.instructions, ...(seconds !== undefined ? { history: this.history.query(seconds * 1000) } : {}) };
      }
      case 'pause':
        need('pause');
        this.engine.pauseClock();
        this.engine.network.freeze(true); // no DMA into a paused guest; frames wait in the NIC
        await this.setState('Paused');
        return this.status();
      case 'resume':
        need('resume');
        this.engine.network.freeze(false);
        this.engine.resumeClock();
        await this.setState('Running');
        return this.status();
      case 'reset':
        need('reset');
        this.engine.machine.reset();
        this.kick();
        return this.status();
      case 'acpi-powerbutton':
        need('acpi-powerbutton');
        this.engine.machine.pressPowerButton();
        this.log.info('ACPI power button pressed');
        this.kick();
        return this.status();
      case 'poweroff':
        need('poweroff');
        setImmediate(() => void this.stop('powered off by request').catch((err) => this.crash(err)));
        return { state: 'Stopping' };
      case 'savestate':
        need('savestate');
        return this.saveState();
      case 'attach-media':
      case 'detach-media': {
        need(req.cmd);
        const controller = argString(req.cmd, a, 'controller')!;
        const port = argInt(req.cmd, a, 'port', 0, 29)!;
        const result = req.cmd === 'attach-media'
          ? await this.engine.storage.attachMedia(controller, port, argString(req.cmd, a, 'path')!)
          : await this.engine.storage.detachMedia(controller, port);
        this.log.info(`${req.cmd}: ${JSON.stringify(result)}`);
        this.kick();
        return result;
      }
      case 'subscribe': {
        const kinds = parseEventKinds(a?.events);
        for (const k of kinds) conn.subscriptions.add(k);
        if (a?.backlog === true && kinds.includes('serial') && this.backlogBytes > 0) {
          conn.send({ event: 'serial', port: 'COM1', b64: Buffer.concat(this.backlog).toString('base64') });
        }
        return { events: [...conn.subscriptions], state: this.state };
      }
      case 'unsubscribe': {
        for (const k of parseEventKinds(a?.events)) conn.subscriptions.delete(k);
        return { events: [...conn.subscriptions] };
      }
      case 'serial-input': {
        need('serial-input');
        const port = argInt('serial-input', a, 'port', 1, 4, true) ?? 1;
        const text = argString('serial-input', a, 'text', true);
        const b64 = argString('serial-input', a, 'b64', true);
        if ((text === undefined) === (b64 === undefined)) throw new HangarError('usage', 'serial-input: give exactly one of "text" or "b64"');
        const bytes = text !== undefined ? Buffer.from(text, 'utf8') : Buffer.from(b64!, 'base64');
        this.engine.machine.sendSerial(port - 1, bytes);
        this.kick();
        return { bytes: bytes.length };
      }
    }
  }

  private async saveState(): Promise<unknown> {
    const was = this.state;
    await this.setState('Saving');
    const t0 = performance.now();
    this.engine.pauseClock();
    this.engine.network.freeze(true); // received frames must not land in RAM while it is written out
    try {
      await this.engine.storage.drain(); // disk requests in flight complete before the snapshot
      const state = { engine: this.engine.saveState(), vmState: was };
      const header = await writeSavedState(this.files.savedState, { uuid: this.config.uuid, engine: this.engine.kind }, state, this.engine.ram);
      const ms = performance.now() - t0;
      this.log.info(`saved state to ${this.files.savedState} in ${ms.toFixed(0)} ms (${header.dataPages} non-zero pages of ${header.ramBytes / 4096})`);
      await this.setState('Saved');
      setImmediate(() => void this.exit(0));
      return { state: 'Saved', file: this.files.savedState, ms: Math.round(ms), dataPages: header.dataPages };
    } catch (err) {
      this.log.error(`save state failed: ${(err as Error).message}`);
      if (was === 'Running') {
        this.engine.network.freeze(false);
        this.engine.resumeClock();
      }
      await this.setState(was, 'save state failed');
      throw err;
    }
  }

  /** Power off: Stopping, then PoweredOff, then the process ends. */
  async stop(reason: string): Promise<void> {
    if (this.state === 'Stopping' || this.state === 'PoweredOff') return;
    await this.setState('Stopping', reason);
    this.engine?.pauseClock();
    await this.setState('PoweredOff', reason);
    await this.exit(0);
  }

  /** An engine or runner failure: the VM is Aborted, the reason is logged and persisted. */
  crash(err: unknown): void {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.log.error(`VM aborted: ${msg}`);
    const reason = err instanceof Error ? err.message : String(err);
    const previous = this.state;
    this.state = 'Aborted';
    this.emit({ event: 'state', state: 'Aborted', previous, reason });
    void writePersistedState(this.files, { state: 'Aborted', reason })
      .finally(() => void this.exit(70));
  }

  /** Start failed before the guest ran: back to PoweredOff with the reason, exit 70. */
  async failStart(reason: string): Promise<void> {
    const previous = this.state;
    // A failed restore keeps the saved state, so the user can retry or discard it.
    const back: VmState = this.spec.restore ? 'Saved' : 'PoweredOff';
    this.state = back;
    this.emit({ event: 'state', state: back, previous, reason: `start failed: ${reason}` });
    await writePersistedState(this.files, back === 'Saved'
      ? { state: back, savedState: this.files.savedState, reason: `restore failed: ${reason}` }
      : { state: back, reason: `start failed: ${reason}` }).catch(() => {});
    await this.exit(70);
  }

  private async exit(code: number): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    this.kick();
    if (this.statsTimer) clearInterval(this.statsTimer);
    await this.server?.close().catch(() => {});
    await Promise.all(this.serialBackends.map((b) => b.close().catch(() => {})));
    await this.engine?.storage?.close(); // flush and close the disk images
    for (const line of this.engine?.network?.summary() ?? []) this.log.info(line);
    await this.engine?.network?.close(); // host sockets and forwarded ports
    this.log.info(`VM process exits (${code})`);
    this.finish(code);
  }
}
