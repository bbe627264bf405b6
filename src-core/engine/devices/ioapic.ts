// 82093AA I/O APIC at 0xFEC00000: 24 redirection entries turning pin levels into APIC
// messages. Edge pins send on the rising edge; level pins send while asserted and then wait
// for the local APIC's EOI (Remote IRR) before sending again.
import type { Device, DeviceState } from '../device.ts';
import type { MmioHandler, MmioSize } from '../bus-memory.ts';
import type { ApicBus } from './apic-bus.ts';

export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_PINS = 24;

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const POLARITY_LOW = 1 << 13;
const DELIVERY_STATUS = 1 << 12;

export class IoApic implements Device, MmioHandler {
  readonly name = 'ioapic';
  id = 0;
  private select = 0;
  private readonly lo = new Uint32Array(IOAPIC_PINS);
  private readonly hi = new Uint32Array(IOAPIC_PINS);
  /** Pin levels as the devices drive them (before polarity). */
  private pins = 0;

  constructor(private readonly bus: ApicBus, id = 0) {
    this.id = id;
    this.reset();
    bus.onEoi((vector) => this.eoi(vector));
  }

  reset(): void {
    this.select = 0;
    this.lo.fill(MASKED);
    this.hi.fill(0);
    this.pins = 0;
  }

  /** Drive input `pin` (GSI) to `level`. Active-low pins are inverted by the entry. */
  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const was = (this.pins & bit) !== 0;
    if (level) this.pins |= bit;
    else this.pins &= ~bit;
    const lo = this.lo[pin]!;
    const asserted = this.asserted(pin);
    if (lo & LEVEL) {
      if (asserted) this.service(pin);
    } else if (level !== was && asserted) {
      this.service(pin);
    }
  }

  /** Vector `pin` is routed to as a fixed or lowest-priority interrupt, or -1 when masked. */
  pinVector(pin: number): number {
    const lo = this.lo[pin];
    if (lo === undefined || lo & MASKED || ((lo >>> 8) & 7) > 1) return -1;
    return lo & 0xff;
  }

  private asserted(pin: number): boolean {
    const high = (this.pins & (1 << pin)) !== 0;
    return (this.lo[pin]! & POLARITY_LOW) !== 0 ? !high : high;
  }

  /** Send pin's message if the entry allows it now. */
  private service(pin: number): void {
    const lo = this.lo[pin]!;
    if (lo & MASKED) return;
    if (lo & LEVEL) {
      if (lo & REMOTE_IRR) return;
      this.lo[pin] = lo | REMOTE_IRR;
    }
    this.bus.deliver({
      vector: lo & 0xff,
      deliveryMode: (lo >>> 8) & 7,
      logical: (lo & (1 << 11)) !== 0,
      destination: this.hi[pin]! >>> 24,
      level: (lo & LEVEL) !== 0,
      shorthand: 0,
      sourceId: -1,
    });
  }

  private eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.lo[pin]!;
      if ((lo & 0xff) !== vector || !(lo & REMOTE_IRR)) continue;
      this.lo[pin] = lo & ~REMOTE_IRR;
      // Still asserted: the device wants service again.
      if (lo & LEVEL && this.asserted(pin)) this.service(pin);
    }
  }

  read(offset: number, _size: MmioSize): number {
    if (offset === 0x00) return this.select;
    if (offset !== 0x10) return 0;
    const r = this.select;
    if (r === 0x00) return (this.id << 24) >>> 0;
    if (r === 0x01) return ((IOAPIC_PINS - 1) << 16) | 0x11; // version 0x11
    if (r === 0x02) return (this.id << 24) >>> 0; // arbitration id
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const pin = (r - 0x10) >> 1;
      if (r & 1) return this.hi[pin]!;
      return this.lo[pin]! & ~DELIVERY_STATUS; // messages go out at once: never pending
    }
    return 0;
  }

  write(offset: number, _size: MmioSize, value: number): void {
    if (offset === 0x00) {
      this.select = value & 0xff;
      return;
    }
    if (offset === 0x40) {
      this.eoi(value & 0xff); // EOI register (version 0x20 parts); harmless here
      return;
    }
    if (offset !== 0x10) return;
    const r = this.select;
    if (r === 0x00) {
      this.id = (value >>> 24) & 0x0f;
      return;
    }
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const pin = (r - 0x10) >> 1;
      if (r & 1) {
        this.hi[pin] = value & 0xff00_0000;
        return;
      }
      // Remote IRR and delivery status are read-only.
      const keep = this.lo[pin]! & REMOTE_IRR;
      let lo = (value & ~(REMOTE_IRR | DELIVERY_STATUS)) | keep;
      if (!(lo & LEVEL)) lo &= ~REMOTE_IRR; // switching to edge drops a stale Remote IRR
      this.lo[pin] = lo >>> 0;
      // Unmasking a level pin that is still asserted delivers it now.
      if (lo & LEVEL && this.asserted(pin)) this.service(pin);
    }
  }

  saveState(): DeviceState {
    return { id: this.id, select: this.select, lo: this.lo.slice(), hi: this.hi.slice(), pins: this.pins };
  }

  loadState(s: DeviceState): void {
    this.id = s.id as number;
    this.select = s.select as number;
    this.lo.set(s.lo as Uint32Array);
    this.hi.set(s.hi as Uint32Array);
    this.pins = s.pins as number;
  }
}
