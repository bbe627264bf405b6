// The engine as the VM process drives it: the real PC machine (src-core/engine/machine.ts)
// with the interpreter CPU, booted either the way the VM's configuration says (Linux direct
// boot with its kernel and initrd) or, for VMM tests and benchmarks, from a flat real-mode
// program loaded at 0x7C00 (see boot-program.ts). The VM process owns the run loop; this
// class only exposes what the loop needs: slices, idleness, timers, and state save/load.
import { readFile } from 'node:fs/promises';
import { HangarError } from '../../api/errors.ts';
import { Cpu } from '../../engine/cpu/cpu.ts';
import { Machine } from '../../engine/machine.ts';
import type { MachineConfig } from '../../library/config.ts';
import { resolveMachinePath } from '../../library/library.ts';
import { PROGRAM_LOAD_ADDRESS } from './boot-program.ts';
import { VmNetwork, type BackendFactory } from './vm-network.ts';
import { VmStorage } from './vm-storage.ts';

export type BootSource = { kind: 'config' } | { kind: 'program'; imageB64: string };

export const DEFAULT_CMDLINE = 'console=ttyS0';

export class VmEngine {
  readonly machine: Machine;
  instructions = 0;
  /** The VM's disks and optical drives on the engine's IDE controller. */
  storage!: VmStorage;
  /** The VM's network adapters (e1000 NICs) and their backends. */
  network!: VmNetwork;

  private constructor(machine: Machine, readonly kind: string, private readonly program?: Uint8Array) {
    this.machine = machine;
    if (program) {
      this.loadProgram();
      // A machine reset re-runs the firmware step, which knows nothing of the program.
      machine.onReset(() => this.loadProgram());
    }
  }

  /**
   * Warnings about configured hardware the engine does not emulate yet (logged at start).
   * Storage and network are handled by VmStorage and VmNetwork, whose own warnings say what
   * the guest got instead.
   */
  static unsupportedHardware(cfg: MachineConfig): string[] {
    const w: string[] = [];
    if (cfg.display.controller !== 'none') w.push('display: no graphics device is emulated yet; use the serial console');
    return w;
  }

  static async create(
    cfg: MachineConfig, configPath: string, boot: BootSource,
    opts: { netLog?: (line: string) => void; netBackend?: BackendFactory } = {},
  ): Promise<VmEngine> {
    const createCpu = ({ memory, io }: { memory: Machine['memory']; io: Machine['io'] }) => new Cpu(memory, io);
    if (boot.kind === 'program') {
      const image = Buffer.from(boot.imageB64, 'base64');
      if (image.length === 0 || image.length > 0x8000) throw new HangarError('usage', `boot program must be 1-32768 bytes, got ${image.length}`);
      const m = new Machine({ memoryMiB: cfg.memoryMiB, cpus: 1, serialPorts: 4, createCpu });
      const e = new VmEngine(m, 'program', new Uint8Array(image));
      e.storage = await VmStorage.open(m, { ...cfg, storage: [] }, configPath); // test programs have no drives
      e.network = await VmNetwork.open(m, { ...cfg, network: [] }); // nor network adapters
      return e;
    }
    if (cfg.firmware.type !== 'linux') {
      throw new HangarError('unsupported', `VM "${cfg.name}" uses ${cfg.firmware.type} firmware, which the engine cannot boot yet; only Linux direct boot (firmware linux with a kernel) is supported`);
    }
    const kernelPath = resolveMachinePath(configPath, cfg.firmware.kernel!);
    const kernel = await readFile(kernelPath).catch((err: Error) => {
      throw new HangarError('not-found', `cannot read the kernel of VM "${cfg.name}" (${kernelPath}): ${err.message}`);
    });
    let initrd: Uint8Array | undefined;
    if (cfg.firmware.initrd) {
      const p = resolveMachinePath(configPath, cfg.firmware.initrd);
      initrd = await readFile(p).catch((err: Error) => {
        throw new HangarError('not-found', `cannot read the initrd of VM "${cfg.name}" (${p}): ${err.message}`);
      });
    }
    const m = new Machine({
      memoryMiB: cfg.memoryMiB, cpus: cfg.cpus, kernel, initrd, cmdline: cfg.firmware.cmdline ?? DEFAULT_CMDLINE, serialPorts: 4, createCpu,
    });
    const e = new VmEngine(m, 'linux');
    e.storage = await VmStorage.open(m, cfg, configPath);
    try {
      e.network = await VmNetwork.open(m, cfg, { log: opts.netLog, backend: opts.netBackend });
    } catch (err) {
      await e.storage.close();
      throw err;
    }
    return e;
  }

  private loadProgram(): void {
    this.machine.memory.writeBytes(PROGRAM_LOAD_ADDRESS, this.program!);
    this.machine.cpus[0]!.setBootState({
      mode: 'real',
      rip: PROGRAM_LOAD_ADDRESS,
      rsp: PROGRAM_LOAD_ADDRESS,
      cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b },
      data: { selector: 0, base: 0, limit: 0xffff, attributes: 0x93 },
    });
  }

  get ram(): Uint8Array {
    return this.machine.memory.ram;
  }

  /** One slice of guest execution; returns instructions retired. */
  step(budget?: number): number {
    const n = this.machine.step(budget);
    this.instructions += n;
    return n;
  }

  get idle(): boolean {
    return this.machine.idle;
  }

  get poweredOff(): boolean {
    return this.machine.poweredOff;
  }

  /** Milliseconds until the next device timer, or -1 when none is armed. */
  msToNextTimer(): number {
    const next = this.machine.clock.nextDeadline();
    if (next < 0) return -1;
    return Math.max(0, (next - this.machine.clock.now()) / 1e6);
  }

  pollTimers(): void {
    this.machine.clock.poll();
  }

  resumeClock(): void {
    this.machine.clock.resume();
  }

  pauseClock(): void {
    this.machine.clock.pause();
  }

  /** Engine state without guest RAM (RAM is written separately, page by page). */
  saveState(): Record<string, unknown> {
    const s = this.machine.saveState({ ram: false });
    return { machine: s, instructions: this.instructions, kind: this.kind };
  }

  /** Guest RAM must already hold the saved contents. */
  loadState(s: Record<string, unknown>): void {
    if (s.kind !== this.kind) throw new HangarError('state', `saved state is from a ${String(s.kind)} boot, this VM boots ${this.kind}`);
    const m = s.machine as Record<string, unknown>;
    const { ram: _ram, ...rest } = m;
    this.machine.loadState(rest);
    this.instructions = typeof s.instructions === 'number' ? s.instructions : 0;
  }
}
