// Port 0x80, the POST diagnostic port. Linux uses it as a delay (io_delay) and firmware and
// test kernels write progress codes there; we keep the last code and report every write so
// a harness can time boot stages (cloud-hypervisor times boot this way).
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

export class PostPort implements Device {
  readonly name = 'post';
  lastCode = 0;
  writes = 0;
  onCode: ((code: number) => void) | undefined;

  constructor(io: IoBus) {
    io.register(0x80, 1, {
      read: () => this.lastCode,
      write: (_p: number, _s: IoSize, v: number) => {
        this.lastCode = v & 0xff;
        this.writes++;
        this.onCode?.(this.lastCode);
      },
    }, 'post');
  }

  reset(): void {
    this.lastCode = 0;
  }

  saveState(): DeviceState {
    return { lastCode: this.lastCode, writes: this.writes };
  }

  loadState(s: DeviceState): void {
    this.lastCode = s.lastCode as number;
    this.writes = s.writes as number;
  }
}
