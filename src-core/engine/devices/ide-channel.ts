// One IDE channel (cable): the ATA task-file registers at base+0..7 and the device-control /
// alternate-status register, two drive positions (master, slave), the PIO data buffer, the
// interrupt line and the bus-master DMA handshake. What a command *means* lives in the drive
// (ata-disk.ts, atapi-cdrom.ts); this file only moves bytes and flags.
//
// Disk images are read and written asynchronously (the BlockDevice interface returns
// promises) while the CPU runs synchronously. A command that needs the image therefore sets
// BSY and returns; the guest polls BSY or waits for the interrupt, and when the promise
// settles (between CPU slices, on the event loop) the channel fills the buffer or DMAs into
// RAM, clears BSY and raises the IRQ. A generation number drops completions that a reset
// overtook.
import type { IoSize } from '../bus-io.ts';
import type { DeviceState, IrqLine } from '../device.ts';
import type { IdeBusMaster } from './ide-busmaster.ts';

export const ST_ERR = 0x01;
export const ST_DRQ = 0x08;
export const ST_DSC = 0x10;
export const ST_DF = 0x20;
export const ST_DRDY = 0x40;
export const ST_BSY = 0x80;

export const ERR_ABRT = 0x04;
export const ERR_IDNF = 0x10;
export const ERR_UNC = 0x40;

const CTL_NIEN = 0x02;
const CTL_SRST = 0x04;
const CTL_HOB = 0x80;

/** Bytes and operations a drive moved for the guest (statistics). */
export interface DriveCounters {
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

export function newCounters(): DriveCounters {
  return { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
}

/** A drive on a channel: an ATA disk or an ATAPI CD/DVD drive. */
export interface IdeDrive {
  readonly kind: 'disk' | 'cdrom';
  readonly counters: DriveCounters;
  /** Put the device signature in the task file (after reset, EXECUTE DIAGNOSTIC, DEVICE RESET). */
  signature(ch: IdeChannel): void;
  /** The guest wrote the command register while this drive was selected. */
  command(ch: IdeChannel, cmd: number): void;
  reset(): void;
  saveState(): DeviceState;
  loadState(s: DeviceState): void;
}

/** What the channel needs from its controller. */
export interface IdeHost {
  readonly busMaster: IdeBusMaster;
  /** Keep track of an in-flight image operation (drain before save). */
  track(p: Promise<unknown>): void;
  /** An asynchronous completion changed guest-visible state (wake an idle run loop). */
  activity(): void;
}

type PioDone = (data: Uint8Array) => void;

export class IdeChannel {
  readonly drives: (IdeDrive | undefined)[] = [undefined, undefined];
  // Task file; *Hob hold the previous write of each register (LBA48 "high order bytes").
  features = 0;
  featuresHob = 0;
  // Each drive keeps its own copy of the sector count and LBA registers (and their HOB
  // values): the guest's writes reach both, what a drive reports (signature, results) only
  // its own copy, so an absent slave's signature does not echo the master's. Drives access
  // the selected drive's copy through the accessors below.
  private readonly tf = [new Uint8Array(8), new Uint8Array(8)];
  private reg(i: number): number {
    return this.tf[(this.select >> 4) & 1]![i]!;
  }
  private setReg(i: number, v: number): void {
    this.tf[(this.select >> 4) & 1]![i] = v & 0xff;
  }
  get nsect(): number { return this.reg(0); }
  set nsect(v: number) { this.setReg(0, v); }
  get nsectHob(): number { return this.reg(1); }
  set nsectHob(v: number) { this.setReg(1, v); }
  get lbal(): number { return this.reg(2); }
  set lbal(v: number) { this.setReg(2, v); }
  get lbalHob(): number { return this.reg(3); }
  set lbalHob(v: number) { this.setReg(3, v); }
  get lbam(): number { return this.reg(4); }
  set lbam(v: number) { this.setReg(4, v); }
  get lbamHob(): number { return this.reg(5); }
  set lbamHob(v: number) { this.setReg(5, v); }
  get lbah(): number { return this.reg(6); }
  set lbah(v: number) { this.setReg(6, v); }
  get lbahHob(): number { return this.reg(7); }
  set lbahHob(v: number) { this.setReg(7, v); }
  select = 0xa0;
  status = 0;
  error = 0;
  control = 0;
  private irqAsserted = false;
  // PIO transfer: `buf[pos..blockEnd)` is the current DRQ block.
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private blockEnd = 0;
  private blockSize = 0;
  private dir: 'in' | 'out' | 'none' = 'none';
  private pioDone: PioDone | undefined;
  /** The data-in transfer is an ATAPI one (byte counts, interrupt reason, status phase). */
  private atapi = false;
  /** Incremented by every reset: completions from before it are ignored. */
  private generation = 0;

  constructor(
    readonly index: number,
    private readonly irq: IrqLine,
    private readonly host: IdeHost,
  ) {}

  get current(): IdeDrive | undefined {
    return this.drives[(this.select >> 4) & 1];
  }

  get selectedUnit(): number {
    return (this.select >> 4) & 1;
  }

  private get hasDrives(): boolean {
    return this.drives[0] !== undefined || this.drives[1] !== undefined;
  }

  // ---- interrupt -----------------------------------------------------------------------

  raiseIrq(): void {
    this.irqAsserted = true;
    this.host.busMaster.setInterrupt(this.index);
    if (!(this.control & CTL_NIEN)) this.irq.raise();
  }

  private clearIrq(): void {
    this.irqAsserted = false;
    this.irq.lower();
  }

  // ---- register access -----------------------------------------------------------------

  readRegister(reg: number, size: IoSize): number {
    if (reg === 0) return this.readData(size);
    if (!this.hasDrives) return 0xff; // floating bus: no device on this cable
    const hob = (this.control & CTL_HOB) !== 0;
    switch (reg) {
      case 1: return hob ? this.featuresHob : this.error;
      case 2: return hob ? this.nsectHob : this.nsect;
      case 3: return hob ? this.lbalHob : this.lbal;
      case 4: return hob ? this.lbamHob : this.lbam;
      case 5: return hob ? this.lbahHob : this.lbah;
      case 6: return this.select;
      default:
        // Reading status acknowledges the interrupt; alternate status (readAltStatus) does not.
        this.clearIrq();
        return this.current ? this.status : 0;
    }
  }

  readAltStatus(): number {
    if (!this.hasDrives) return 0xff;
    return this.current ? this.status : 0;
  }

  writeRegister(reg: number, size: IoSize, v: number): void {
    if (reg === 0) {
      this.writeData(size, v);
      return;
    }
    v &= 0xff;
    this.control &= ~CTL_HOB; // any task-file write clears HOB
    switch (reg) {
      case 1: this.featuresHob = this.features; this.features = v; break;
      case 2: case 3: case 4: case 5:
        for (const t of this.tf) {
          const i = (reg - 2) * 2;
          t[i + 1] = t[i]!;
          t[i] = v;
        }
        break;
      case 6: this.select = v | 0xa0; break;
      default: this.writeCommand(v);
    }
  }

  writeControl(v: number): void {
    const was = this.control;
    this.control = v & 0x86;
    if (!(was & CTL_SRST) && v & CTL_SRST) {
      // Software reset asserted: both drives go busy until it is released.
      this.generation++;
      this.endTransfer();
      this.status = ST_BSY;
      this.clearIrq();
    } else if (was & CTL_SRST && !(v & CTL_SRST)) {
      this.softReset();
    }
    // nIEN masks the line; an interrupt still pending shows again when it is cleared.
    if (this.irqAsserted && !(this.control & CTL_NIEN)) this.irq.raise();
    else if (this.control & CTL_NIEN) this.irq.lower();
  }

  private softReset(): void {
    for (const d of this.drives) d?.reset();
    this.error = 0x01; // diagnostics passed
    this.setSignatureOf(1);
    this.setSignatureOf(0);
    this.select = 0xa0;
    this.status = this.drives[0]?.kind === 'disk' ? ST_DRDY | ST_DSC : 0;
  }

  /** The signature a drive (or an empty position) leaves in its copy of the task file. */
  setSignatureOf(unit: number): void {
    const was = this.select;
    this.select = (this.select & ~0x10) | (unit << 4);
    this.nsect = 1;
    this.lbal = 1;
    const d = this.drives[unit];
    if (d) d.signature(this);
    else {
      this.lbam = 0xff;
      this.lbah = 0xff;
    }
    this.select = was;
  }

  private writeCommand(cmd: number): void {
    const d = this.current;
    if (!d) return; // commands to an absent drive go nowhere
    if (this.status & ST_BSY && cmd !== 0x08) return; // only DEVICE RESET is accepted while busy
    this.clearIrq();
    this.endTransfer();
    this.error = 0;
    d.command(this, cmd);
  }

  // ---- helpers for drives ------------------------------------------------------------

  /** LBA28 (or CHS-less LBA) address in the task file. */
  lba28(): number {
    return ((this.select & 0x0f) * 0x1000000) + (this.lbah << 16) + (this.lbam << 8) + this.lbal;
  }

  lba48(): number {
    return (this.lbahHob * 2 ** 40) + (this.lbamHob * 2 ** 32) + (this.lbalHob * 2 ** 24) + (this.lbah << 16) + (this.lbam << 8) + this.lbal;
  }

  setLba28(lba: number): void {
    this.lbal = lba & 0xff;
    this.lbam = (lba >>> 8) & 0xff;
    this.lbah = (lba >>> 16) & 0xff;
    this.select = (this.select & 0xf0) | (Math.floor(lba / 0x1000000) & 0x0f);
  }

  setLba48(lba: number): void {
    this.lbal = lba & 0xff;
    this.lbam = (lba >>> 8) & 0xff;
    this.lbah = (lba >>> 16) & 0xff;
    this.lbalHob = Math.floor(lba / 2 ** 24) & 0xff;
    this.lbamHob = Math.floor(lba / 2 ** 32) & 0xff;
    this.lbahHob = Math.floor(lba / 2 ** 40) & 0xff;
  }

  /** Command finished without data: ready, and interrupt. */
  complete(extraStatus = 0): void {
    this.status = ST_DRDY | ST_DSC | extraStatus;
    this.raiseIrq();
  }

  /** Command failed: error register, ERR in status, interrupt. */
  fail(error: number, readyStatus = ST_DRDY): void {
    this.endTransfer();
    this.error = error;
    this.status = readyStatus | ST_ERR;
    this.raiseIrq();
  }

  /**
   * Run an image operation: BSY until it settles, then `done` (or `failed`) on the event
   * loop. Completions overtaken by a reset are dropped.
   */
  async<T>(work: Promise<T>, done: (v: T) => void, failed: (err: unknown) => void): void {
    this.status = ST_BSY;
    const gen = this.generation;
    const p = work.then(
      (v) => {
        if (gen === this.generation) done(v);
      },
      (err: unknown) => {
        if (gen === this.generation) failed(err);
      },
    ).finally(() => this.host.activity());
    this.host.track(p);
  }

  /**
   * PIO data-in: `data` is handed out in DRQ blocks of `blockSize` bytes, an interrupt before
   * each block. ATAPI transfers also put each block's byte count in LBA mid/high and the
   * interrupt reason in the sector count, and end with a status-phase interrupt.
   */
  pioIn(data: Uint8Array, blockSize: number, atapi = false): void {
    this.buf = data;
    this.pos = 0;
    this.blockSize = blockSize;
    this.dir = 'in';
    this.atapi = atapi;
    this.nextBlock();
  }

  /**
   * PIO data-out: the guest writes `total` bytes in blocks of `blockSize`; between blocks the
   * drive interrupts to ask for the next. `done` gets the bytes once the last block is in
   * (the first block is requested without an interrupt, as ATA's PIO-out protocol says).
   */
  pioOut(total: number, blockSize: number, done: PioDone, firstIrq = false): void {
    this.buf = new Uint8Array(total);
    this.pos = 0;
    this.blockSize = blockSize;
    this.dir = 'out';
    this.pioDone = done;
    this.atapi = false;
    this.blockEnd = Math.min(total, blockSize);
    this.status = ST_DRDY | ST_DSC | ST_DRQ;
    if (firstIrq) this.raiseIrq();
  }

  private nextBlock(): void {
    this.blockEnd = Math.min(this.buf.length, this.pos + this.blockSize);
    if (this.atapi) {
      const n = this.blockEnd - this.pos;
      this.lbam = n & 0xff;
      this.lbah = (n >> 8) & 0xff;
      this.nsect = 0x02; // I/O=1 (to host), C/D=0 (data)
    }
    this.status = ST_DRDY | ST_DSC | ST_DRQ;
    this.raiseIrq();
  }

  /** ATAPI status phase: command done, interrupt reason I/O and C/D. */
  atapiDone(): void {
    this.nsect = 0x03;
    this.status = ST_DRDY | ST_DSC;
    this.raiseIrq();
  }

  endTransfer(): void {
    this.dir = 'none';
    this.buf = new Uint8Array(0);
    this.pos = 0;
    this.blockEnd = 0;
    this.pioDone = undefined;
    this.atapi = false;
  }

  private readData(size: IoSize): number {
    if (this.dir !== 'in' || this.pos >= this.blockEnd) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.pos + i < this.blockEnd ? this.buf[this.pos + i]! : 0) << (i * 8);
    this.pos = Math.min(this.blockEnd, this.pos + size);
    if (this.pos >= this.blockEnd) this.blockDrained();
    return v >>> 0;
  }

  private writeData(size: IoSize, v: number): void {
    if (this.dir !== 'out' || this.pos >= this.blockEnd) return;
    for (let i = 0; i < size && this.pos + i < this.blockEnd; i++) this.buf[this.pos + i] = (v >>> (i * 8)) & 0xff;
    this.pos = Math.min(this.blockEnd, this.pos + size);
    if (this.pos >= this.blockEnd) this.blockDrained();
  }

  private blockDrained(): void {
    if (this.pos < this.buf.length) {
      if (this.dir === 'in') this.nextBlock();
      else {
        this.blockEnd = Math.min(this.buf.length, this.pos + this.blockSize);
        this.status = ST_DRDY | ST_DSC | ST_DRQ;
        this.raiseIrq();
      }
      return;
    }
    const done = this.pioDone;
    const data = this.buf;
    const wasIn = this.dir === 'in';
    const atapi = this.atapi;
    this.endTransfer();
    if (wasIn) {
      if (atapi) this.atapiDone();
      else this.status = ST_DRDY | ST_DSC;
    }
    if (done) done(data);
  }

  // ---- DMA ------------------------------------------------------------------------------

  /** DMA from the device into guest RAM, when the guest has started the bus master. */
  dmaIn(data: Uint8Array, done: (ok: boolean) => void): void {
    this.status = ST_DRDY | ST_DSC | ST_DRQ | ST_BSY;
    this.host.busMaster.transfer(this.index, { toMemory: true, data, length: data.length, done: (r) => done(r !== undefined) });
  }

  /** DMA from guest RAM to the device. */
  dmaOut(length: number, done: (data: Uint8Array | undefined) => void): void {
    this.status = ST_DRDY | ST_DSC | ST_DRQ | ST_BSY;
    this.host.busMaster.transfer(this.index, { toMemory: false, length, done });
  }

  // ---- state ----------------------------------------------------------------------------

  reset(): void {
    this.generation++;
    this.endTransfer();
    this.features = this.featuresHob = 0;
    for (const t of this.tf) t.fill(0);
    this.control = 0;
    this.irqAsserted = false;
    this.irq.lower();
    this.softReset();
  }

  saveState(): DeviceState {
    return {
      regs: [this.features, this.featuresHob, this.select, this.status, this.error, this.control],
      tf: this.tf.map((t) => t.slice()),
      irq: this.irqAsserted,
      dir: this.dir,
      buf: this.buf.slice(),
      pos: this.pos,
      blockEnd: this.blockEnd,
      blockSize: this.blockSize,
      atapi: this.atapi,
      drives: this.drives.map((d) => (d ? { kind: d.kind, state: d.saveState() } : null)),
    };
  }

  /**
   * A PIO data-out transfer in progress cannot be resumed (its completion is a closure); the
   * VMM drains image I/O before saving, and a save in the middle of a guest's PIO write is
   * restored as an aborted command.
   */
  loadState(s: DeviceState): void {
    const r = s.regs as number[];
    [this.features, this.featuresHob, this.select, this.status, this.error, this.control] = r as [number, number, number, number, number, number];
    (s.tf as Uint8Array[]).forEach((t, i) => this.tf[i]!.set(t));
    this.generation++;
    this.endTransfer();
    if (s.dir === 'in') {
      this.buf = (s.buf as Uint8Array).slice();
      this.pos = s.pos as number;
      this.blockEnd = s.blockEnd as number;
      this.blockSize = s.blockSize as number;
      this.atapi = s.atapi === true;
      this.dir = 'in';
    } else if (s.dir === 'out' || this.status & ST_BSY) {
      this.error = ERR_ABRT;
      this.status = ST_DRDY | ST_ERR;
    }
    this.irqAsserted = s.irq as boolean;
    if (this.irqAsserted && !(this.control & CTL_NIEN)) this.irq.raise();
    else this.irq.lower();
    const drives = s.drives as ({ kind: string; state: DeviceState } | null)[];
    this.drives.forEach((d, i) => {
      const ds = drives[i];
      if (d && ds && ds.kind === d.kind) d.loadState(ds.state);
    });
  }
}
