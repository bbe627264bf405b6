// The PC/AT's x87 error logic (Intel SDM vol. 1, appendix D; the PIIX chipsets build it in).
// With CR0.NE clear the processor reports an unmasked x87 exception on its FERR# pin instead
// of raising #MF:
//   - FERR# going active latches IRQ 13 (vector 75h under a PC BIOS);
//   - any write to port F0h clears that latch and, while FERR# is still active, asserts
//     IGNNE#, so the handler's own x87 instructions run despite the pending exception;
//   - IGNNE# drops as soon as FERR# does (the handler's FNCLEX), so it cannot stay on after
//     the handler.
// The CPU side (freeze at the next waiting x87 instruction unless IGNNE# is asserted) is in
// cpu/fpu.ts; the machine wires this device to the BSP's FPU.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';
import type { FerrPins } from '../cpu/fpu.ts';

export const FPU_ERROR_PORT = 0xf0;
export const FPU_ERROR_IRQ = 13;

export class FpuErrorPort implements Device, FerrPins {
  readonly name = 'fpu-error';
  private ferrIn = false;
  private irqLatched = false;
  private ignneOut = false;

  constructor(io: IoBus, private readonly irq: IrqLine) {
    io.register(FPU_ERROR_PORT, 1, {
      read: () => 0xff, // nothing to read: the port is write-only on a PC
      write: (_p: number, _s: IoSize, _v: number) => this.clear(),
    }, 'fpu-error');
  }

  get ignne(): boolean {
    return this.ignneOut;
  }

  /** FERR# from the processor (true: active). */
  ferr(active: boolean): void {
    if (active && !this.ferrIn && !this.irqLatched) {
      this.irqLatched = true;
      this.irq.raise();
    }
    if (!active) this.ignneOut = false;
    this.ferrIn = active;
  }

  /** Write to port F0h: IRQ 13 off, IGNNE# on while FERR# is active. */
  private clear(): void {
    if (this.irqLatched) {
      this.irqLatched = false;
      this.irq.lower();
    }
    if (this.ferrIn) this.ignneOut = true;
  }

  reset(): void {
    if (this.irqLatched) this.irq.lower();
    this.ferrIn = false;
    this.irqLatched = false;
    this.ignneOut = false;
  }

  saveState(): DeviceState {
    return { ferr: this.ferrIn, irq: this.irqLatched, ignne: this.ignneOut };
  }

  loadState(s: DeviceState): void {
    for (const k of ['ferr', 'irq', 'ignne']) {
      if (typeof s[k] !== 'boolean') throw new Error(`fpu-error state: ${k} is missing or not a boolean`);
    }
    const irq = s.irq as boolean;
    if (irq !== this.irqLatched) {
      if (irq) this.irq.raise(); else this.irq.lower();
    }
    this.ferrIn = s.ferr as boolean;
    this.irqLatched = irq;
    this.ignneOut = (s.ignne as boolean) && this.ferrIn;
  }
}
