// Dual 8259A programmable interrupt controller (master at 0x20, slave at 0xA0 cascaded on
// master IRQ2) plus the PIIX3 edge/level control registers (ELCR, 0x4D0/0x4D1).
//
// Linux programs it at boot, masks it once the IOAPIC takes over, and still uses it for the
// "timer through 8259A" fallback, so the parts that matter are the init sequence, masks,
// EOI (specific and non-specific), IRR/ISR reads, poll, auto-EOI and spurious IRQ 7/15.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

class Chip {
  irr = 0; // requests latched
  imr = 0xff; // masked lines (all masked until the OS programs the chip)
  isr = 0; // in service
  lines = 0; // current input levels
  elcr = 0; // 1 = level triggered
  vectorBase = 0;
  initStep = 0; // 0: ready; 2,3,4: expecting ICW2..ICW4
  needIcw4 = false;
  single = false;
  autoEoi = false;
  readIsr = false;
  poll = false;
  specialMask = false;
  rotateOnAutoEoi = false;
  lowestPriority = 7; // priority rotates; the line after this one has top priority
  specialFullyNested = false;

  constructor(readonly elcrMask: number) {}

  reset(): void {
    Object.assign(this, {
      irr: 0, imr: 0xff, isr: 0, lines: 0, vectorBase: 0, initStep: 0, needIcw4: false, single: false,
      autoEoi: false, readIsr: false, poll: false, specialMask: false, rotateOnAutoEoi: false,
      lowestPriority: 7, specialFullyNested: false,
    });
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      // Edge mode latches on the rising edge only; level mode follows the line.
      if (this.elcr & bit || !(this.lines & bit)) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      if (this.elcr & bit) this.irr &= ~bit;
    }
  }

  /** Highest-priority line set in `mask`, or -1. */
  private highest(mask: number): number {
    if (!mask) return -1;
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowestPriority + i) & 7;
      if (mask & (1 << irq)) return irq;
    }
    return -1;
  }

  /** The line the chip would raise INT for now, or -1. */
  pending(): number {
    const req = this.irr & ~this.imr;
    const irq = this.highest(req);
    if (irq < 0) return -1;
    // Special mask mode lets lower lines through regardless of ISR; otherwise a request
    // must beat everything in service (the slave's line on the master is exempt in SFNM).
    let inService = this.specialMask ? this.isr & ~this.imr : this.isr;
    if (this.specialFullyNested && this.elcrMask === 0xf8) inService &= ~(1 << 2);
    const cur = this.highest(inService);
    if (cur < 0) return irq;
    return this.priorityOf(irq) < this.priorityOf(cur) ? irq : -1;
  }

  private priorityOf(irq: number): number {
    return (irq - this.lowestPriority - 1) & 7;
  }

  /** INTA: move `irq` from IRR to ISR. */
  ack(irq: number): void {
    const bit = 1 << irq;
    // Level lines stay requested while asserted; edge lines are consumed.
    if (!(this.elcr & bit)) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowestPriority = irq;
    } else {
      this.isr |= bit;
    }
  }

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1: start initialisation. Edge-detect logic is cleared, masks cleared.
      this.initStep = 2;
      this.needIcw4 = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.imr = 0;
      this.isr = 0;
      this.irr &= this.elcr & this.lines; // only asserted level lines survive
      this.lowestPriority = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.autoEoi = false;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 1) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2: EOI and rotation commands.
    const cmd = v >> 5;
    switch (cmd) {
      case 0: // rotate in auto-EOI mode clear
      case 4: // rotate in auto-EOI mode set
        this.rotateOnAutoEoi = cmd === 4;
        break;
      case 1: // non-specific EOI
      case 5: { // rotate on non-specific EOI
        const irq = this.highest(this.isr);
        if (irq >= 0) {
          this.isr &= ~(1 << irq);
          if (cmd === 5) this.lowestPriority = irq;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (v & 7));
        break;
      case 6: // set priority
        this.lowestPriority = v & 7;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (v & 7));
        this.lowestPriority = v & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        return;
      case 3: // ICW3: cascade wiring, fixed on a PC
        this.initStep = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        this.autoEoi = (v & 2) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initStep = 0;
        return;
      default:
        this.imr = v & 0xff;
    }
  }

  save(): DeviceState {
    return { ...this } as unknown as DeviceState;
  }

  load(s: DeviceState): void {
    for (const k of Object.keys(this) as (keyof Chip)[]) {
      if (k !== 'elcrMask' && typeof s[k] === typeof this[k]) (this as Record<string, unknown>)[k] = s[k];
    }
  }
}

export class DualPic implements Device {
  readonly name = 'pic';
  readonly master = new Chip(0xf8); // IRQ 0-2 are always edge on the PC
  readonly slave = new Chip(0xde); // IRQ 8 and 13 are always edge
  /** Called when the INT output may have changed (the machine pokes the CPU). */
  onOutputChange: (() => void) | undefined;
  /** The CPU took ISA IRQ `irq` (0-15) through an INTA cycle (late PIT ticks wait for this). */
  onAcknowledge: ((irq: number) => void) | undefined;

  constructor(io: IoBus) {
    const handler = {
      read: (port: number, _size: IoSize) => this.readPort(port),
      write: (port: number, _size: IoSize, v: number) => this.writePort(port, v & 0xff),
    };
    io.register(0x20, 2, handler, 'pic-master');
    io.register(0xa0, 2, handler, 'pic-slave');
    io.register(0x4d0, 2, handler, 'pic-elcr');
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.master.elcr = 0;
    this.slave.elcr = 0;
  }

  /** Drive ISA IRQ line `irq` (0-15) to `level`. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq - 8, level);
    this.updateCascade();
  }

  private updateCascade(): void {
    // The slave's INT feeds master IR2. Treat it as level-sensitive so a slave request that
    // goes away (level line dropped) does not leave a stale IR2 behind on the master.
    if (this.slave.pending() >= 0) {
      this.master.lines |= 4;
      this.master.irr |= 4;
    } else {
      this.master.lines &= ~4;
      this.master.irr &= ~4;
    }
    this.onOutputChange?.();
  }

  /** INT output of the master: an interrupt waits for the CPU. */
  hasInterrupt(): boolean {
    return this.master.pending() >= 0;
  }

  /** INTA cycle. Returns the vector; a request that vanished yields the spurious IRQ 7/15. */
  acknowledge(): number {
    const irq = this.master.pending();
    if (irq < 0) return this.master.vectorBase | 7;
    this.master.ack(irq);
    if (irq !== 2) {
      this.updateCascade();
      this.onAcknowledge?.(irq);
      return this.master.vectorBase | irq;
    }
    const sirq = this.slave.pending();
    let vector: number;
    if (sirq < 0) {
      vector = this.slave.vectorBase | 7;
    } else {
      this.slave.ack(sirq);
      vector = this.slave.vectorBase | sirq;
    }
    this.updateCascade();
    if (sirq >= 0) this.onAcknowledge?.(sirq + 8);
    return vector;
  }

  private readPort(port: number): number {
    if (port === 0x4d0) return this.master.elcr;
    if (port === 0x4d1) return this.slave.elcr;
    const chip = port < 0xa0 ? this.master : this.slave;
    if (chip.poll) {
      // Poll command: the read acts as an INTA for this chip alone.
      chip.poll = false;
      const irq = chip.pending();
      if (irq < 0) return 0;
      chip.ack(irq);
      this.updateCascade();
      return 0x80 | irq;
    }
    if (port & 1) return chip.imr;
    return chip.readIsr ? chip.isr : chip.irr;
  }

  private writePort(port: number, v: number): void {
    if (port === 0x4d0 || port === 0x4d1) {
      const chip = port === 0x4d0 ? this.master : this.slave;
      chip.elcr = v & chip.elcrMask;
    } else {
      const chip = port < 0xa0 ? this.master : this.slave;
      if (port & 1) chip.writeData(v);
      else chip.writeCommand(v);
    }
    this.updateCascade();
  }

  saveState(): DeviceState {
    return { master: this.master.save(), slave: this.slave.save() };
  }

  loadState(s: DeviceState): void {
    this.master.load(s.master as DeviceState);
    this.slave.load(s.slave as DeviceState);
    this.updateCascade();
  }
}
