// The I/O-port bus: 64 Ki ports, each owned by at most one device. Lookup is a flat array
// so an IN/OUT costs one index, which matters for chatty devices (PIT, UART, PIC).

export type IoSize = 1 | 2 | 4;

export interface IoHandler {
  read(port: number, size: IoSize): number;
  write(port: number, size: IoSize, value: number): void;
}

export class IoBus {
  private readonly handlers: (IoHandler | undefined)[] = new Array(0x10000);
  private readonly owners: (string | undefined)[] = new Array(0x10000);
  /** Called for accesses to ports nobody owns (reads return all ones, as on a real bus). */
  onUnhandled?: (port: number, size: IoSize, write: boolean, value: number) => void;

  register(start: number, length: number, handler: IoHandler, owner: string): void {
    if (start < 0 || length <= 0 || start + length > 0x10000) {
      throw new RangeError(`${owner}: I/O range 0x${start.toString(16)}+${length} is outside 0..0xffff`);
    }
    for (let p = start; p < start + length; p++) {
      if (this.handlers[p]) {
        throw new Error(`${owner}: I/O port 0x${p.toString(16)} is already owned by ${this.owners[p]}`);
      }
    }
    for (let p = start; p < start + length; p++) {
      this.handlers[p] = handler;
      this.owners[p] = owner;
    }
  }

  unregister(start: number, length: number): void {
    for (let p = start; p < start + length; p++) {
      this.handlers[p] = undefined;
      this.owners[p] = undefined;
    }
  }

  ownerOf(port: number): string | undefined {
    return this.owners[port & 0xffff];
  }

  read(port: number, size: IoSize): number {
    port &= 0xffff;
    const h = this.handlers[port];
    if (h) return h.read(port, size);
    this.onUnhandled?.(port, size, false, 0);
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  write(port: number, size: IoSize, value: number): void {
    port &= 0xffff;
    const h = this.handlers[port];
    if (h) h.write(port, size, value);
    else this.onUnhandled?.(port, size, true, value);
  }
}
