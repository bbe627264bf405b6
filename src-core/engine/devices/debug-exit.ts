// Debug-exit port for tests (QEMU's isa-debug-exit layout, port 0x501 by default): a guest
// write of V ends the machine with status (V << 1) | 1, so a test kernel can report its
// result without a console.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

export const DEBUG_EXIT_PORT = 0x501;

export class DebugExit implements Device {
  readonly name = 'debug-exit';
  onExit: ((status: number) => void) | undefined;

  constructor(io: IoBus, port = DEBUG_EXIT_PORT) {
    io.register(port, 2, {
      read: () => 0xff,
      write: (_p: number, _s: IoSize, v: number) => this.onExit?.(((v << 1) | 1) >>> 0),
    }, 'debug-exit');
  }

  reset(): void {}

  saveState(): DeviceState {
    return {};
  }

  loadState(_s: DeviceState): void {}
}
