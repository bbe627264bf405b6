// One PC: guest RAM, CPUs, the I/O and memory buses, the platform devices and the virtual
// clock, assembled from a small configuration and run in slices.
//
// The run loop alternates CPU slices with clock polls. When every CPU is halted the machine
// idles until the next timer deadline: in realtime mode by sleeping on the host, in
// deterministic mode by jumping virtual time forward, so a halted guest costs nothing and a
// deterministic run does not depend on host speed.
//
// Device side effects that cannot happen in the middle of an instruction (reset, power-off)
// are latched and carried out between slices.
import { HangarError } from '../api/errors.ts';
import { IoBus } from './bus-io.ts';
import { MemoryBus, FOUR_GIB } from './bus-memory.ts';
import { VirtualClock, type ClockMode } from './clock.ts';
import type { BootCpuState, CpuCore } from './cpu-api.ts';
import type { Device, DeviceState, IrqLine } from './device.ts';
import { buildAcpiTables } from './acpi/tables.ts';
import { pciIntxGsi } from './acpi/dsdt.ts';
import { loadLinux, type LinuxBootResult } from './boot/linux-loader.ts';
import { isElf, loadVmlinux } from './boot/vmlinux-loader.ts';
import { AcpiPm, SCI_IRQ } from './devices/acpi-pm.ts';
import { ApicBus } from './devices/apic-bus.ts';
import { CmosRtc } from './devices/cmos-rtc.ts';
import { DebugConsole } from './devices/debugcon.ts';
import { DebugExit } from './devices/debug-exit.ts';
import { I8042 } from './devices/i8042.ts';
import { IdeController } from './devices/ide-controller.ts';
import { IoApic, IOAPIC_BASE } from './devices/ioapic.ts';
import { IsaIrqs, isaIrqToGsi } from './devices/isa-irq.ts';
import { LAPIC_BASE, LocalApic } from './devices/lapic.ts';
import { PciHost } from './devices/pci-host.ts';
import { DualPic } from './devices/pic8259.ts';
import { FPU_ERROR_IRQ, FpuErrorPort } from './devices/fpu-error.ts';
import type { FerrPins } from './cpu/fpu.ts';
import { Pit } from './devices/pit8254.ts';
import { Port92 } from './devices/port92.ts';
import { PostPort } from './devices/post-port.ts';
import { COM_PORTS, Uart16550 } from './devices/uart16550.ts';

export interface CpuFactoryContext {
  memory: MemoryBus;
  io: IoBus;
  index: number;
  lapic: LocalApic;
}

export interface MachineConfig {
  memoryMiB: number;
  cpus?: number;
  /** bzImage (or ELF vmlinux) bytes for direct Linux boot. */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  bootEntry?: 64 | 32;
  /** Number of 16550A UARTs, COM1 first (default 4). */
  serialPorts?: number;
  clock?: ClockMode;
  /** TSC frequency the guest sees (RDTSC follows the virtual clock). Default 1 GHz. */
  tscHz?: number;
  /** RTC time at power-on (default: host time now). */
  startTime?: Date;
  /** Instructions per CPU slice (default 200 000). */
  sliceInstructions?: number;
  createCpu: (ctx: CpuFactoryContext) => CpuCore;
}

export type StopReason = 'poweroff' | 'debug-exit' | 'stopped';

export interface Disposable {
  dispose(): void;
}

class Emitter<T extends unknown[]> {
  private listeners = new Set<(...args: T) => void>();
  on(cb: (...args: T) => void): Disposable {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }
  fire(...args: T): void {
    for (const cb of this.listeners) cb(...args);
  }
}

const MIB = 1024 * 1024;
/** Optional CPU hooks the interpreter offers beyond CpuCore (read by duck typing). */
interface CpuExtras {
  onTripleFault?: () => void;
  tscSource?: () => number;
  executedInRun?: number;
  /** The x87 unit, whose FERR#/IGNNE# pins the board wires (CR0.NE=0 error reporting). */
  fpu?: { pins: FerrPins | null };
}

export class Machine {
  readonly config: MachineConfig;
  readonly memory: MemoryBus;
  readonly io = new IoBus();
  readonly clock: VirtualClock;
  readonly apicBus = new ApicBus();
  readonly pic: DualPic;
  readonly ioapic: IoApic;
  readonly isa: IsaIrqs;
  readonly lapics: LocalApic[] = [];
  readonly cpus: CpuCore[] = [];
  readonly pit: Pit;
  readonly cmos: CmosRtc;
  readonly uarts: Uart16550[] = [];
  readonly i8042: I8042;
  readonly port92: Port92;
  readonly post: PostPort;
  readonly debugcon: DebugConsole;
  readonly debugExit: DebugExit;
  readonly pci: PciHost;
  readonly pm: AcpiPm;
  /** FERR# to IRQ 13 and port F0h's IGNNE# (x87 errors with CR0.NE clear), on the BSP. */
  readonly fpuError: FpuErrorPort;
  /** PIIX3 IDE (00:01.1), empty until drives are attached (ide.attachDisk / attachCdrom). */
  readonly ide: IdeController;
  readonly devices: Device[] = [];
  boot: LinuxBootResult | undefined;

  /** CPU states: APs wait for INIT-SIPI-SIPI before they run. */
  private running: boolean[] = [];
  private currentCpu = 0;
  private pendingReset = false;
  private pendingPowerOff = false;
  private exitStatus = -1;
  private stopRequested = false;
  private loopActive = false;
  private wake: (() => void) | undefined;
  private serialOut: number[][] = [];
  private debugOut: number[] = [];
  poweredOff = false;
  resets = 0;
  /** Realtime mode: running estimate of guest instructions per host nanosecond. */
  private instructionsPerNs = 0.005;

  private readonly serialEmitter = new Emitter<[port: number, data: Uint8Array]>();
  private readonly debugEmitter = new Emitter<[data: Uint8Array]>();
  private readonly powerOffEmitter = new Emitter<[]>();
  private readonly resetEmitter = new Emitter<[]>();
  readonly onSerialOutput = (cb: (port: number, data: Uint8Array) => void) => this.serialEmitter.on(cb);
  readonly onDebugOutput = (cb: (data: Uint8Array) => void) => this.debugEmitter.on(cb);
  readonly onPowerOff = (cb: () => void) => this.powerOffEmitter.on(cb);
  readonly onReset = (cb: () => void) => this.resetEmitter.on(cb);

  constructor(config: MachineConfig) {
    const cpus = config.cpus ?? 1;
    if (!Number.isInteger(config.memoryMiB) || config.memoryMiB < 16) {
      throw new HangarError('invalid-config', `memory must be a whole number of MiB, at least 16 (got ${config.memoryMiB})`);
    }
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) {
      throw new HangarError('invalid-config', `cpus must be a whole number from 1 to 64 (got ${config.cpus})`);
    }
    const serialPorts = config.serialPorts ?? 4;
    if (!Number.isInteger(serialPorts) || serialPorts < 0 || serialPorts > 4) {
      throw new HangarError('invalid-config', `serial ports must be 0-4 (got ${serialPorts})`);
    }
    this.config = config;
    try {
      this.memory = new MemoryBus(config.memoryMiB * MIB);
    } catch (err) {
      throw new HangarError('invalid-config', `cannot allocate ${config.memoryMiB} MiB of guest RAM: ${(err as Error).message}`);
    }
    this.clock = new VirtualClock(config.clock ?? { kind: 'realtime' });

    // Interrupt controllers.
    this.pic = new DualPic(this.io);
    this.ioapic = new IoApic(this.apicBus);
    this.isa = new IsaIrqs(this.pic, this.ioapic);
    this.memory.addMmio(IOAPIC_BASE, 0x1000, this.ioapic, 'ioapic');
    for (let pin = 16; pin < 24; pin++) this.ioapic.setPin(pin, true); // PCI INTx idle high
    const lapicMmio = {
      read: (off: number, size: 1 | 2 | 4) => this.lapics[this.currentCpu]!.read(off, size),
      write: (off: number, size: 1 | 2 | 4, v: number) => this.lapics[this.currentCpu]!.write(off, size, v),
    };
    this.memory.addMmio(LAPIC_BASE, 0x1000, lapicMmio, 'lapic');

    // CPUs and their local APICs.
    for (let i = 0; i < cpus; i++) {
      const lapic = new LocalApic(i, this.clock, this.apicBus);
      lapic.extInt = i === 0 ? this.pic : undefined; // the 8259 is wired to the BSP only
      const cpu = config.createCpu({ memory: this.memory, io: this.io, index: i, lapic });
      lapic.hooks = {
        onInterrupt: () => this.kickCpu(i),
        onNmi: () => {
          cpu.raiseNmi();
          this.kickCpu(i);
        },
        onInit: () => this.initCpu(i),
        onStartup: (vector) => this.startupCpu(i, vector),
        // A local APIC EOI of the vector the IOAPIC's timer pin uses acknowledges a PIT tick.
        onEoi: (vector) => {
          if (vector === this.ioapic.pinVector(isaIrqToGsi(0))) this.pit.tickAcknowledged();
        },
      };
      cpu.setInterruptSource(lapic);
      const extras = cpu as CpuExtras;
      extras.onTripleFault = () => this.requestReset(); // a PC resets on triple fault
      if (typeof extras.tscSource === 'function') {
        const hz = config.tscHz ?? 1e9;
        extras.tscSource = () => Math.floor((this.clock.now() * hz) / 1e9);
      }
      this.lapics.push(lapic);
      this.cpus.push(cpu);
      this.running.push(i === 0);
    }
    this.pic.onOutputChange = () => this.kickCpu(0);
    if (this.clock.mode.kind === 'deterministic') {
      const bsp = this.cpus[0]! as CpuCore & CpuExtras;
      this.clock.attachInstructionCounter(() => bsp.instructionCount + (bsp.executedInRun ?? 0));
    }

    // Platform devices.
    this.pit = new Pit(this.io, this.clock, this.isa.line(0));
    this.pic.onAcknowledge = (irq) => {
      if (irq === 0) this.pit.tickAcknowledged();
    };
    this.cmos = new CmosRtc(this.io, this.clock, this.isa.line(8), config.startTime);
    for (let i = 0; i < serialPorts; i++) {
      const { base, irq } = COM_PORTS[i]!;
      const uart = new Uart16550(this.io, this.clock, this.isa.line(irq), base, i);
      this.serialOut.push([]);
      uart.onTransmit = (b) => this.serialOut[i]!.push(b);
      this.uarts.push(uart);
    }
    this.i8042 = new I8042(this.io, this.isa.line(1), this.isa.line(12));
    this.i8042.hooks.onReset = () => this.requestReset();
    this.port92 = new Port92(this.io);
    this.port92.onReset = () => this.requestReset();
    // The A20 gate is the OR of the two enables; the memory bus applies it.
    const a20 = () => this.memory.setA20(this.port92.a20 || this.i8042.a20);
    this.port92.onA20 = a20;
    this.i8042.hooks.onA20 = a20;
    this.post = new PostPort(this.io);
    this.debugcon = new DebugConsole(this.io);
    this.debugcon.onOutput = (b) => this.debugOut.push(b);
    this.debugExit = new DebugExit(this.io);
    this.debugExit.onExit = (status) => {
      this.exitStatus = status;
      this.stopAllCpus();
    };
    this.pci = new PciHost(this.io);
    this.pci.onReset = () => this.requestReset();
    this.pm = new AcpiPm(this.io, this.clock, this.isa.line(SCI_IRQ));
    this.pm.onPowerOff = () => {
      this.pendingPowerOff = true;
      this.stopAllCpus();
    };
    this.ide = new IdeController(this.io, this.memory, this.pci, (irq) => this.isa.line(irq));
    this.fpuError = new FpuErrorPort(this.io, this.isa.line(FPU_ERROR_IRQ));
    const bspFpu = (this.cpus[0] as CpuExtras).fpu;
    if (bspFpu) bspFpu.pins = this.fpuError;
    this.devices.push(this.pic, this.ioapic, ...this.lapics, this.pit, this.cmos, ...this.uarts, this.i8042,
      this.port92, this.post, this.debugcon, this.debugExit, this.pci, this.pm, this.ide, this.fpuError);
    this.cmos.setMemoryLayout(this.memory.lowRamEnd, this.memory.highRamEnd - FOUR_GIB, cpus);
    this.loadFirmware();
  }

  /** An interrupt line for PCI device `slot`, pin 0-3 (INTA-INTD): active low into the IOAPIC. */
  pciIntx(slot: number, pin: number): IrqLine {
    const gsi = pciIntxGsi(slot, pin);
    return {
      raise: () => this.ioapic.setPin(gsi, false),
      lower: () => this.ioapic.setPin(gsi, true),
      pulse: () => {
        this.ioapic.setPin(gsi, false);
        this.ioapic.setPin(gsi, true);
      },
    };
  }

  /** What a BIOS would leave: ACPI tables, then the kernel, zero page and boot CPU state. */
  private loadFirmware(): void {
    const tables = buildAcpiTables({
      cpus: this.cpus.length,
      pciHoleStart: this.memory.lowRamEnd,
      comPorts: this.uarts.length,
    });
    this.memory.writeBytes(tables.base, tables.bytes);
    for (const l of this.lapics) l.setVirtualWire();
    if (!this.config.kernel) return;
    const load = isElf(this.config.kernel) ? loadVmlinux : loadLinux;
    this.boot = load(this.memory, {
      kernel: this.config.kernel,
      initrd: this.config.initrd,
      cmdline: this.config.cmdline,
      entry: this.config.bootEntry,
      acpiRsdp: tables.rsdp,
    });
    this.cpus[0]!.setBootState(this.boot.cpu);
  }

  private kickCpu(i: number): void {
    this.cpus[i]?.notifyInterrupt();
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  private stopAllCpus(): void {
    for (const c of this.cpus) c.requestExit();
    this.kickCpu(0);
  }

  /** Guest asked for a reset (keyboard controller, port 0x92, 0xCF9, triple fault). */
  requestReset(): void {
    this.pendingReset = true;
    this.stopAllCpus();
  }

  private initCpu(i: number): void {
    if (i === 0) return; // INIT of the BSP: not used by Linux; would need a BIOS to re-run
    this.cpus[i]!.reset();
    this.running[i] = false;
  }

  private startupCpu(i: number, vector: number): void {
    if (i === 0 || this.running[i]) return;
    const state: BootCpuState = {
      mode: 'real',
      rip: 0,
      cs: { selector: vector << 8, base: vector << 12, limit: 0xffff, attributes: 0x9b },
    };
    this.cpus[i]!.setBootState(state);
    this.running[i] = true;
    this.kickCpu(i);
  }

  /** Host -> guest serial input on COM(port+1). */
  sendSerial(port: number, data: Uint8Array | string): void {
    const uart = this.uarts[port];
    if (!uart) throw new HangarError('invalid-config', `no serial port COM${port + 1}`);
    uart.receive(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.kickCpu(0);
  }

  pressPowerButton(): void {
    this.pm.pressPowerButton();
  }

  /** Machine reset: every device and CPU to power-on state, then the firmware step again. */
  reset(): void {
    this.pendingReset = false;
    this.clock.foldInstructions();
    for (const d of this.devices) d.reset();
    this.memory.setA20(this.port92.a20 || this.i8042.a20);
    for (const c of this.cpus) c.reset();
    for (let i = 0; i < this.running.length; i++) this.running[i] = i === 0;
    for (let pin = 16; pin < 24; pin++) this.ioapic.setPin(pin, true);
    this.cmos.setMemoryLayout(this.memory.lowRamEnd, this.memory.highRamEnd - FOUR_GIB, this.cpus.length);
    this.loadFirmware();
    this.resets++;
    this.resetEmitter.fire();
  }

  private flushOutput(): void {
    for (let i = 0; i < this.serialOut.length; i++) {
      const buf = this.serialOut[i]!;
      if (buf.length === 0) continue;
      this.serialOut[i] = [];
      this.serialEmitter.fire(i, Uint8Array.from(buf));
    }
    if (this.debugOut.length > 0) {
      const d = Uint8Array.from(this.debugOut);
      this.debugOut = [];
      this.debugEmitter.fire(d);
    }
  }

  /**
   * Run every started CPU for up to `budget` instructions (bounded by the next timer deadline
   * in deterministic mode), then fire due timers. Returns instructions executed.
   */
  step(budget = this.config.sliceInstructions ?? 200_000): number {
    let total = 0;
    const det = this.clock.mode.kind === 'deterministic' ? this.clock.mode.nsPerInstruction : 0;
    const next = this.clock.nextDeadline();
    if (next >= 0) {
      // End the slice at the next timer deadline so interrupts arrive on time: exactly in
      // deterministic mode, by the measured instruction rate in realtime mode (a guest
      // calibrating its delay loops against the PIT counts ticks, so they must not bunch up).
      const nsLeft = next - this.clock.now();
      const perNs = det ? 1 / det : this.instructionsPerNs;
      budget = Math.max(det ? 1 : 500, Math.min(budget, Math.ceil(nsLeft * perNs)));
    }
    const t0 = det ? 0 : VirtualClock.hostNs();
    for (let i = 0; i < this.cpus.length; i++) {
      if (!this.running[i]) continue;
      this.currentCpu = i;
      total += this.cpus[i]!.run(budget);
      if (this.pendingReset || this.pendingPowerOff || this.exitStatus >= 0) break;
    }
    if (!det && total >= 500) {
      const rate = total / Math.max(1, VirtualClock.hostNs() - t0);
      this.instructionsPerNs = this.instructionsPerNs * 0.8 + rate * 0.2;
    }
    this.currentCpu = 0;
    this.clock.poll();
    this.flushOutput();
    if (this.pendingPowerOff) this.powerOff();
    else if (this.pendingReset) this.reset();
    return total;
  }

  private powerOff(): void {
    this.pendingPowerOff = false;
    this.poweredOff = true;
    this.clock.pause();
    this.powerOffEmitter.fire();
  }

  /** True when no started CPU can make progress until an interrupt arrives. */
  get idle(): boolean {
    for (let i = 0; i < this.cpus.length; i++) {
      if (this.running[i] && !this.cpus[i]!.halted) return false;
    }
    return true;
  }

  /** Deterministic mode: skip to the next timer when everything is halted. */
  private idleSkip(): boolean {
    const next = this.clock.nextDeadline();
    if (next < 0) return false;
    this.clock.skipTo(next);
    this.clock.poll();
    return true;
  }

  /**
   * Run synchronously (tests, benchmarks) until `until()` is true, the guest powers off or
   * exits, or `maxInstructions` have run. Only for deterministic clocks or short runs.
   */
  runSync(opts: { maxInstructions: number; until?: () => boolean }): StopReason | 'limit' | 'condition' {
    let done = 0;
    while (done < opts.maxInstructions) {
      if (this.poweredOff) return 'poweroff';
      if (this.exitStatus >= 0) return 'debug-exit';
      if (opts.until?.()) return 'condition';
      done += this.step(Math.min(this.config.sliceInstructions ?? 200_000, opts.maxInstructions - done));
      if (this.idle && !this.poweredOff) {
        if (this.clock.mode.kind === 'deterministic') {
          if (!this.idleSkip()) return 'stopped'; // halted with no timer: nothing will ever happen
        } else {
          const next = this.clock.nextDeadline();
          if (next < 0) return 'stopped';
          // Busy-wait is fine here: synchronous runs are for tests.
          while (this.clock.now() < next) { /* spin */ }
          this.clock.poll();
        }
      }
    }
    if (this.poweredOff) return 'poweroff';
    return 'limit';
  }

  /** Guest status written to the debug-exit port, or -1. */
  get debugExitStatus(): number {
    return this.exitStatus;
  }

  /**
   * Run asynchronously until the guest powers off, writes the debug-exit port, or stop() is
   * called. Yields to the event loop between batches so host I/O (serial input) flows.
   */
  async run(): Promise<StopReason> {
    if (this.loopActive) throw new HangarError('state', 'machine is already running');
    this.loopActive = true;
    this.stopRequested = false;
    this.clock.resume();
    try {
      while (!this.stopRequested) {
        if (this.poweredOff) return 'poweroff';
        if (this.exitStatus >= 0) return 'debug-exit';
        const batchEnd = performance.now() + 20;
        do {
          this.step();
        } while (!this.idle && performance.now() < batchEnd && !this.poweredOff && this.exitStatus < 0 && !this.stopRequested);
        if (this.poweredOff || this.exitStatus >= 0) continue;
        if (this.idle) {
          if (this.clock.mode.kind === 'deterministic') {
            if (!this.idleSkip()) await this.sleep(50);
          } else {
            const next = this.clock.nextDeadline();
            const waitMs = next < 0 ? 50 : Math.min(50, Math.max(0, (next - this.clock.now()) / 1e6));
            await this.sleep(waitMs);
            this.clock.poll();
          }
        } else {
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      return 'stopped';
    } finally {
      this.flushOutput();
      this.clock.pause();
      this.loopActive = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  stop(): void {
    this.stopRequested = true;
    this.stopAllCpus();
  }

  /**
   * `opts.ram: false` leaves guest RAM out (the VMM writes it page by page from memory.ram;
   * copying hundreds of MiB first would double the memory and the time).
   */
  saveState(opts: { ram?: boolean } = {}): DeviceState {
    const devices: Record<string, DeviceState> = {};
    for (const d of this.devices) devices[d.name] = d.saveState();
    const s: DeviceState = {
      clock: this.clock.saveState(),
      cpus: this.cpus.map((c) => c.saveState()),
      running: this.running.slice(),
      devices,
    };
    if (opts.ram !== false) s.ram = this.memory.ram.slice();
    return s;
  }

  /** Without `s.ram` guest RAM is left as it is (the VMM has already filled it). */
  loadState(s: DeviceState): void {
    if (s.ram !== undefined) this.memory.ram.set(s.ram as Uint8Array);
    (s.cpus as DeviceState[]).forEach((st, i) => this.cpus[i]?.loadState(st));
    this.clock.loadState(s.clock as { now: number; instructions: number; skippedNs: number });
    const devices = s.devices as Record<string, DeviceState>;
    for (const d of this.devices) {
      const st = devices[d.name];
      if (st) d.loadState(st);
    }
    this.running = (s.running as boolean[]).slice();
    this.memory.setA20(this.port92.a20 || this.i8042.a20);
    this.memory.mapVersion++;
  }
}
