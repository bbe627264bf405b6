// PCI bus 0 behind an i440FX host bridge, reached through configuration mechanism #1
// (address at 0xCF8, data at 0xCFC-0xCFF), with the PIIX3 ISA bridge at 00:01.0 and the
// PIIX3 reset control register at 0xCF9 (FADT's reset register).
//
// Functions are plain config-space arrays plus a write mask, so later devices (virtio, IDE,
// network) plug in with addFunction() and get BAR sizing for free.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState } from '../device.ts';

export interface PciFunctionConfig {
  vendorId: number;
  deviceId: number;
  classCode: number; // 24-bit: class, subclass, prog-if
  revision?: number;
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  interruptPin?: number; // 1 = INTA#
  /** BAR sizes in bytes (power of two); io: true for an I/O BAR. */
  bars?: ({ size: number; io: boolean } | undefined)[];
}

/** One PCI function's configuration space. */
export class PciFunction {
  readonly config = new Uint8Array(256);
  /** Bits the guest may change, per byte. */
  readonly writable = new Uint8Array(256);
  readonly bars: ({ size: number; io: boolean } | undefined)[];
  /** Called after a config write (the device may remap BARs, react to command bits). */
  onConfigWrite: ((offset: number, size: IoSize) => void) | undefined;

  constructor(readonly name: string, cfg: PciFunctionConfig) {
    const c = this.config;
    const dv = new DataView(c.buffer);
    dv.setUint16(0x00, cfg.vendorId, true);
    dv.setUint16(0x02, cfg.deviceId, true);
    c[0x08] = cfg.revision ?? 0;
    c[0x09] = cfg.classCode & 0xff;
    c[0x0a] = (cfg.classCode >> 8) & 0xff;
    c[0x0b] = (cfg.classCode >> 16) & 0xff;
    c[0x0e] = cfg.headerType ?? 0;
    dv.setUint16(0x2c, cfg.subsystemVendorId ?? 0, true);
    dv.setUint16(0x2e, cfg.subsystemId ?? 0, true);
    c[0x3d] = cfg.interruptPin ?? 0;
    this.writable[0x04] = 0x07; // command: I/O, memory, bus master
    this.writable[0x05] = 0x05; // SERR, interrupt disable
    this.writable[0x0c] = 0xff; // cache line size
    this.writable[0x0d] = 0xff; // latency timer
    this.writable[0x3c] = 0xff; // interrupt line
    this.bars = cfg.bars ?? [];
    this.bars.forEach((bar, i) => {
      if (!bar) return;
      if (bar.size & (bar.size - 1) || bar.size < (bar.io ? 4 : 16)) {
        throw new RangeError(`${name}: BAR${i} size ${bar.size} is not a power of two of at least ${bar.io ? 4 : 16}`);
      }
      const off = 0x10 + i * 4;
      const mask = ~(bar.size - 1) >>> 0;
      dv.setUint32(off, bar.io ? 1 : 0, true);
      for (let b = 0; b < 4; b++) this.writable[off + b] = (mask >>> (b * 8)) & 0xff;
      if (bar.io) this.writable[off]! &= 0xfc;
      else this.writable[off]! &= 0xf0;
    });
  }

  read(offset: number, size: IoSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[(offset + i) & 0xff]! << (i * 8);
    return v >>> 0;
  }

  write(offset: number, size: IoSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = (offset + i) & 0xff;
      const m = this.writable[o]!;
      const b = (value >>> (i * 8)) & 0xff;
      this.config[o] = (this.config[o]! & ~m) | (b & m);
      // Status register bits are write-one-to-clear.
      if (o === 0x06 || o === 0x07) this.config[o]! &= ~b;
    }
    this.onConfigWrite?.(offset, size);
  }

  /** Current BAR base address (0 when unprogrammed). */
  barAddress(i: number): number {
    const v = new DataView(this.config.buffer).getUint32(0x10 + i * 4, true);
    return this.bars[i]?.io ? v & ~3 : (v & ~0xf) >>> 0;
  }
}

export class PciHost implements Device {
  readonly name = 'pci';
  private address = 0;
  private rcr = 0; // PIIX3 reset control (0xCF9)
  readonly functions = new Map<number, PciFunction>(); // key: devfn
  readonly hostBridge: PciFunction;
  readonly isaBridge: PciFunction;
  onReset: (() => void) | undefined;

  constructor(io: IoBus) {
    this.hostBridge = new PciFunction('i440fx', { vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 2 });
    this.isaBridge = new PciFunction('piix3', {
      vendorId: 0x8086, deviceId: 0x7000, classCode: 0x060100, headerType: 0x80, // multi-function
    });
    // PIRQA-D routing (0x60-0x63): 0x80 = disabled until the OS routes them.
    for (let i = 0x60; i < 0x64; i++) {
      this.isaBridge.config[i] = 0x80;
      this.isaBridge.writable[i] = 0x8f;
    }
    this.addFunction(0, 0, this.hostBridge);
    this.addFunction(1, 0, this.isaBridge);
    io.register(0xcf8, 8, {
      read: (port: number, size: IoSize) => this.readPort(port, size),
      write: (port: number, size: IoSize, v: number) => this.writePort(port, size, v),
    }, 'pci-config');
  }

  addFunction(device: number, fn: number, f: PciFunction): void {
    const devfn = (device << 3) | fn;
    if (device > 31 || fn > 7) throw new RangeError(`PCI 00:${device}.${fn} is out of range`);
    if (this.functions.has(devfn)) throw new Error(`PCI slot 00:${device}.${fn} is already taken`);
    this.functions.set(devfn, f);
  }

  /** ISA IRQ a PIRQ line (0-3 for A-D) is routed to, or -1 when disabled. */
  pirqRoute(pirq: number): number {
    const v = this.isaBridge.config[0x60 + pirq]!;
    return v & 0x80 ? -1 : v & 0x0f;
  }

  private target(): { f: PciFunction; reg: number } | undefined {
    const a = this.address;
    if (!(a & 0x8000_0000)) return undefined;
    const bus = (a >>> 16) & 0xff;
    if (bus !== 0) return undefined;
    const f = this.functions.get((a >>> 8) & 0xff);
    return f ? { f, reg: a & 0xfc } : undefined;
  }

  private readPort(port: number, size: IoSize): number {
    if (port === 0xcf8 && size === 4) return this.address;
    if (port === 0xcf9 && size === 1) return this.rcr;
    if (port < 0xcfc) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    const t = this.target();
    if (!t) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff; // no device: all ones
    return t.f.read(t.reg + (port - 0xcfc), size);
  }

  private writePort(port: number, size: IoSize, v: number): void {
    if (port === 0xcf8 && size === 4) {
      this.address = (v & 0x80ff_fffc) >>> 0;
      return;
    }
    if (port === 0xcf9 && size === 1) {
      // Reset control: bit 2 going 0->1 resets, bit 1 selects hard reset.
      const old = this.rcr;
      this.rcr = v & 0x02;
      if (!(old & 4) && v & 4) this.onReset?.();
      return;
    }
    if (port < 0xcfc) return;
    const t = this.target();
    if (t) t.f.write(t.reg + (port - 0xcfc), size, v);
  }

  reset(): void {
    this.address = 0;
    this.rcr = 0;
    for (let i = 0x60; i < 0x64; i++) this.isaBridge.config[i] = 0x80;
  }

  saveState(): DeviceState {
    const configs: Record<string, Uint8Array> = {};
    for (const [devfn, f] of this.functions) configs[devfn] = f.config.slice();
    return { address: this.address, rcr: this.rcr, configs };
  }

  loadState(s: DeviceState): void {
    this.address = s.address as number;
    this.rcr = s.rcr as number;
    const configs = s.configs as Record<string, Uint8Array>;
    for (const [devfn, f] of this.functions) {
      const c = configs[devfn];
      if (c) f.config.set(c);
    }
  }
}
