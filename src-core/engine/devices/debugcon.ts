// Bochs/QEMU debug console at port 0xE9: every byte written goes to the host, no driver,
// no interrupts. Reading returns 0xE9 so software can detect the port.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

export const DEBUGCON_PORT = 0xe9;

export class DebugConsole implements Device {
  readonly name = 'debugcon';
  onOutput: ((byte: number) => void) | undefined;

  constructor(io: IoBus, port = DEBUGCON_PORT) {
    io.register(port, 1, {
      read: () => 0xe9,
      write: (_p: number, _s: IoSize, v: number) => this.onOutput?.(v & 0xff),
    }, 'debugcon');
  }

  reset(): void {}

  saveState(): DeviceState {
    return {};
  }

  loadState(_s: DeviceState): void {}
}
