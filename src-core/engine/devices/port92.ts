// System control port A (0x92): "fast A20" (bit 1) and a CPU reset on a 0->1 edge of bit 0.
// Linux's A20 code and its reboot=... paths both touch it.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

export class Port92 implements Device {
  readonly name = 'port92';
  private value = 0x02; // A20 on after power-up: nothing in this machine runs with it off
  onReset: (() => void) | undefined;
  onA20: ((enabled: boolean) => void) | undefined;

  constructor(io: IoBus) {
    io.register(0x92, 1, {
      read: () => this.value,
      write: (_p: number, _s: IoSize, v: number) => this.write(v & 0xff),
    }, 'port92');
  }

  get a20(): boolean {
    return (this.value & 2) !== 0;
  }

  private write(v: number): void {
    const old = this.value;
    this.value = v & 0x03; // other bits read back as 0 here (no watchdog, no security lock)
    if ((old ^ v) & 2) this.onA20?.((v & 2) !== 0);
    if (!(old & 1) && v & 1) this.onReset?.();
  }

  reset(): void {
    this.value = 0x02;
  }

  saveState(): DeviceState {
    return { value: this.value };
  }

  loadState(s: DeviceState): void {
    this.value = s.value as number;
  }
}
