// 16550A UART (COM1 0x3F8/IRQ4, COM2 0x2F8/IRQ3, COM3 0x3E8/IRQ4, COM4 0x2E8/IRQ3).
//
// Transmission is instantaneous: a byte written to THR goes straight to the host backend and
// THR is empty again, which is what lets Linux's 8250 driver stream a console quickly.
// Receive has a real 16-byte FIFO with trigger levels and the character-timeout interrupt;
// bytes the host sends while the FIFO is full wait in a host-side queue (never dropped).
// Loopback mode (MCR bit 4) loops TX to RX and the modem outputs to the inputs, as the
// driver's autoconfig probe expects.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { ClockTimer, VirtualClock } from '../clock.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';

export const COM_PORTS = [
  { base: 0x3f8, irq: 4 },
  { base: 0x2f8, irq: 3 },
  { base: 0x3e8, irq: 4 },
  { base: 0x2e8, irq: 3 },
] as const;

const FIFO_SIZE = 16;
const IER_RDI = 1;
const IER_THRI = 2;
const IER_RLSI = 4;
const IER_MSI = 8;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const TRIGGER = [1, 4, 8, 14];

export class Uart16550 implements Device {
  readonly name: string;
  /** Host side: bytes the guest transmits. */
  onTransmit: ((byte: number) => void) | undefined;

  private rx: number[] = [];
  private hostQueue: number[] = [];
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private lsrErrors = 0; // OE, sticky until LSR is read
  private msr = 0;
  private msrInputs = 0xb0; // DCD, DSR, CTS asserted by the host "cable"
  private scr = 0;
  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private fcr = 0;
  private thrPending = false; // THR-empty interrupt armed
  private timeoutPending = false;
  private irqLevel = false;
  private readonly rxTimer: ClockTimer;

  constructor(
    io: IoBus,
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    readonly base: number,
    index: number,
  ) {
    this.name = `com${index + 1}`;
    this.rxTimer = clock.createTimer(`${this.name}-rx-timeout`, () => {
      if (this.rx.length > 0) {
        this.timeoutPending = true;
        this.update();
      }
    });
    io.register(base, 8, {
      read: (port: number, _s: IoSize) => this.read(port - base),
      write: (port: number, _s: IoSize, v: number) => this.write(port - base, v & 0xff),
    }, this.name);
    this.reset();
  }

  reset(): void {
    this.rx = [];
    this.ier = 0;
    this.lcr = 0x03;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.scr = 0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.fcr = 0;
    this.thrPending = false;
    this.timeoutPending = false;
    this.rxTimer.cancel();
    this.updateMsr();
    this.msr &= 0xf0; // no pending deltas after reset
    this.update();
  }

  private get fifoEnabled(): boolean {
    return (this.fcr & 1) !== 0;
  }

  private get rxCapacity(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  /** Host to guest: queue bytes; they enter the FIFO as the guest drains it. */
  receive(bytes: Uint8Array | number[]): void {
    for (const b of bytes) this.hostQueue.push(b & 0xff);
    this.fillFromHost();
  }

  /** Bytes waiting to enter the guest FIFO. */
  get pendingInput(): number {
    return this.hostQueue.length;
  }

  private fillFromHost(): void {
    if (this.mcr & MCR_LOOP) return; // the line is disconnected in loopback
    let moved = false;
    while (this.hostQueue.length > 0 && this.rx.length < this.rxCapacity) {
      this.rx.push(this.hostQueue.shift()!);
      moved = true;
    }
    if (moved) this.rxArrived();
  }

  private rxArrived(): void {
    this.timeoutPending = false;
    // Character timeout: four character times with no FIFO activity (~10 bits each).
    this.rxTimer.setIn(4 * this.charTimeNs());
    this.update();
  }

  private charTimeNs(): number {
    const divisor = (this.dlm << 8) | this.dll || 1;
    const baud = 115200 / divisor;
    return (10 / baud) * 1e9;
  }

  /** Modem status input lines from the host side: CTS, DSR, RI, DCD. */
  setModemInputs(lines: { cts?: boolean; dsr?: boolean; ri?: boolean; dcd?: boolean }): void {
    let v = this.msrInputs;
    const set = (bit: number, on: boolean | undefined) => {
      if (on !== undefined) v = on ? v | bit : v & ~bit;
    };
    set(0x10, lines.cts);
    set(0x20, lines.dsr);
    set(0x40, lines.ri);
    set(0x80, lines.dcd);
    this.msrInputs = v;
    this.updateMsr();
    this.update();
  }

  /** Modem control outputs the guest drives (DTR bit 0, RTS bit 1, OUT1, OUT2). */
  get modemControl(): number {
    return this.mcr;
  }

  private updateMsr(): void {
    let lines: number;
    if (this.mcr & MCR_LOOP) {
      // Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
      const m = this.mcr;
      lines = ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4);
    } else {
      lines = this.msrInputs;
    }
    const old = this.msr & 0xf0;
    let delta = this.msr & 0x0f;
    const changed = old ^ lines;
    if (changed & 0x10) delta |= 1; // DCTS
    if (changed & 0x20) delta |= 2; // DDSR
    if (old & 0x40 && !(lines & 0x40)) delta |= 4; // TERI: trailing edge of RI
    if (changed & 0x80) delta |= 8; // DDCD
    this.msr = lines | delta;
  }

  private lsr(): number {
    return (this.rx.length > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** Interrupt identification by priority: line status, RX data/timeout, THR empty, modem. */
  private iir(): number {
    const fifoBits = this.fifoEnabled ? 0xc0 : 0;
    if (this.ier & IER_RLSI && this.lsrErrors) return fifoBits | 0x06;
    if (this.ier & IER_RDI) {
      const trigger = this.fifoEnabled ? TRIGGER[this.fcr >> 6]! : 1;
      if (this.rx.length >= trigger) return fifoBits | 0x04;
      if (this.timeoutPending && this.rx.length > 0) return fifoBits | 0x0c;
    }
    if (this.ier & IER_THRI && this.thrPending) return fifoBits | 0x02;
    if (this.ier & IER_MSI && this.msr & 0x0f) return fifoBits | 0x00;
    return fifoBits | 0x01;
  }

  private update(): void {
    const level = (this.iir() & 1) === 0 && (this.mcr & 0x08) !== 0; // OUT2 gates the IRQ on PCs
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raise();
    else this.irq.lower();
  }

  private get dlab(): boolean {
    return (this.lcr & 0x80) !== 0;
  }

  read(reg: number): number {
    switch (reg) {
      case 0: {
        if (this.dlab) return this.dll;
        const b = this.rx.length > 0 ? this.rx.shift()! : 0;
        this.timeoutPending = false;
        if (this.rx.length > 0) this.rxTimer.setIn(4 * this.charTimeNs());
        else this.rxTimer.cancel();
        this.fillFromHost();
        this.update();
        return b;
      }
      case 1:
        return this.dlab ? this.dlm : this.ier;
      case 2: {
        const v = this.iir();
        // Reading IIR while it reports THR empty acknowledges that interrupt.
        if ((v & 0x0f) === 0x02) {
          this.thrPending = false;
          this.update();
        }
        return v;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr();
        this.lsrErrors = 0;
        this.update();
        return v;
      }
      case 6: {
        const v = this.msr;
        this.msr &= 0xf0; // reading clears the delta bits
        this.update();
        return v;
      }
      default:
        return this.scr;
    }
  }

  write(reg: number, v: number): void {
    switch (reg) {
      case 0:
        if (this.dlab) {
          this.dll = v;
          return;
        }
        this.transmit(v);
        return;
      case 1:
        if (this.dlab) {
          this.dlm = v;
          return;
        }
        {
          const was = this.ier;
          this.ier = v & 0x0f;
          // Enabling the THR-empty interrupt while THR is empty fires it at once.
          if (this.ier & IER_THRI && !(was & IER_THRI)) this.thrPending = true;
        }
        this.update();
        return;
      case 2:
        if ((v & 1) !== (this.fcr & 1)) this.rx = []; // toggling FIFO enable clears FIFOs
        if (v & 2) {
          this.rx = [];
          this.timeoutPending = false;
          this.rxTimer.cancel();
        }
        this.fcr = v & 0xc9; // trigger level, DMA mode, enable (bit 5, 64-byte FIFO, absent on 16550A)
        this.fillFromHost();
        this.update();
        return;
      case 3:
        this.lcr = v;
        return;
      case 4: {
        const wasLoop = this.mcr & MCR_LOOP;
        this.mcr = v & 0x1f;
        this.updateMsr();
        if (wasLoop && !(this.mcr & MCR_LOOP)) this.fillFromHost();
        this.update();
        return;
      }
      case 5:
      case 6:
        return; // LSR/MSR writes are factory test only
      default:
        this.scr = v;
    }
  }

  private transmit(v: number): void {
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < this.rxCapacity) {
        this.rx.push(v);
        this.rxArrived();
      } else {
        this.lsrErrors |= LSR_OE;
      }
    } else {
      this.onTransmit?.(v);
    }
    // THR is empty again immediately; the THRE interrupt re-arms.
    this.thrPending = true;
    this.update();
  }

  saveState(): DeviceState {
    return {
      rx: this.rx.slice(), hostQueue: this.hostQueue.slice(), ier: this.ier, lcr: this.lcr, mcr: this.mcr,
      lsrErrors: this.lsrErrors, msr: this.msr, msrInputs: this.msrInputs, scr: this.scr, dll: this.dll,
      dlm: this.dlm, fcr: this.fcr, thrPending: this.thrPending, timeoutPending: this.timeoutPending,
      rxTimer: this.rxTimer.deadline,
    };
  }

  loadState(s: DeviceState): void {
    this.rx = (s.rx as number[]).slice();
    this.hostQueue = (s.hostQueue as number[]).slice();
    for (const k of ['ier', 'lcr', 'mcr', 'lsrErrors', 'msr', 'msrInputs', 'scr', 'dll', 'dlm', 'fcr'] as const) {
      this[k] = s[k] as number;
    }
    this.thrPending = s.thrPending as boolean;
    this.timeoutPending = s.timeoutPending as boolean;
    const d = s.rxTimer as number;
    if (d >= 0) this.rxTimer.setAt(d);
    else this.rxTimer.cancel();
    this.irqLevel = !(this.iir() & 1) && (this.mcr & 0x08) !== 0;
    if (this.irqLevel) this.irq.raise();
    else this.irq.lower();
  }
}
