// ISA interrupt wiring of the PC: each IRQ line goes to both the 8259 pair and the IOAPIC,
// IRQ0 (PIT) to IOAPIC pin 2 as the MADT's interrupt source override says; every other
// ISA IRQ n to pin n. Devices only ever see an IrqLine. Two devices may share an IRQ (COM1
// and COM3 on IRQ 4): the line is the OR of its sources, as with an open-collector wire.
import type { IrqLine } from '../device.ts';
import type { DualPic } from './pic8259.ts';
import type { IoApic } from './ioapic.ts';

export function isaIrqToGsi(irq: number): number {
  return irq === 0 ? 2 : irq;
}

export class IsaIrqs {
  private readonly levels = new Uint8Array(16);
  private readonly sources = new Uint32Array(16); // one bit per IrqLine handed out
  private readonly nextSource = new Uint8Array(16);

  constructor(
    private readonly pic: DualPic,
    private readonly ioapic: IoApic,
  ) {}

  set(irq: number, level: boolean): void {
    this.levels[irq] = level ? 1 : 0;
    this.pic.setIrq(irq, level);
    this.ioapic.setPin(isaIrqToGsi(irq), level);
  }

  level(irq: number): boolean {
    return this.levels[irq] === 1;
  }

  line(irq: number): IrqLine {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new RangeError(`ISA IRQ ${irq} is not 0..15`);
    if (this.nextSource[irq]! >= 32) throw new RangeError(`ISA IRQ ${irq} has too many sources`);
    const bit = 1 << this.nextSource[irq]!++;
    const drive = (on: boolean) => {
      const before = this.sources[irq]!;
      const after = on ? before | bit : before & ~bit;
      this.sources[irq] = after;
      if ((before !== 0) !== (after !== 0)) this.set(irq, after !== 0);
    };
    return {
      raise: () => drive(true),
      lower: () => drive(false),
      pulse: () => {
        // An edge only shows if no other source holds the line high already.
        drive(true);
        drive(false);
      },
    };
  }
}
