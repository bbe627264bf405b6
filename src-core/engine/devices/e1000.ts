// Intel 82540EM Gigabit Ethernet controller (PCI 8086:100E, the "e1000" Linux, Windows and the
// BSDs drive out of the box). BAR0 is the 128 KiB register window, BAR1 eight I/O ports
// (IOADDR at +0 selects a register, IODATA at +4 reads or writes it: Linux issues the device
// reset that way on this part). Interrupts go out on INTA as a level: asserted while
// ICR & IMS is non-zero, deasserted when the driver reads ICR (which clears it).
//
// This file holds the register file and its side effects; the EEPROM, PHY, transmit and receive
// halves live in e1000-eeprom.ts, e1000-phy.ts, e1000-tx.ts and e1000-rx.ts. The device talks
// to whatever it is attached to through the NetBackend contract (src-core/net/backend.ts).
//
// There is no BIOS to program PCI functions, so the device comes up as SeaBIOS would leave it:
// BARs assigned inside the PCI hole / I/O window the ACPI tables describe, I/O, memory and bus
// mastering enabled. The guest may move the BARs; the mappings follow.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { MemoryBus, MmioSize } from '../bus-memory.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';
import type { NetBackend } from '../../net/backend.ts';
import { E1000Eeprom } from './e1000-eeprom.ts';
import { E1000Phy } from './e1000-phy.ts';
import {
  CTRL_FD, CTRL_PHY_RST, CTRL_RST, CTRL_SLU, CTRL_SPD_1000, CTRL_VME, E1000_DEVICE, E1000_IO_SIZE, E1000_MMIO_SIZE,
  E1000_SUBSYSTEM, E1000_VENDOR, ICR_LSC, ICR_MDAC, ICR_VALID, MDIC_INT_EN, R, RAH_AV, S, STATS_64_LOW, STATUS_ASDV_1000,
  STATUS_FD, STATUS_LU, STATUS_SPEED_1000,
} from './e1000-regs.ts';
import { E1000Rx } from './e1000-rx.ts';
import { E1000Tx } from './e1000-tx.ts';
import { PciFunction, type PciHost } from './pci-host.ts';

/** Where the firmware step puts the first NIC's BARs; NIC n goes n windows below / above. */
export const E1000_MMIO_BASE = 0xfebc_0000;
export const E1000_IO_BASE = 0xc040;
/** PCI slot of the first NIC (00:03.0, where QEMU puts it too); NIC n is in slot 3 + n. */
export const E1000_FIRST_SLOT = 3;

export interface E1000Options {
  /** Ethernet address (6 bytes), the EEPROM's and RAR0's after reset. */
  mac: Uint8Array;
  /** Which NIC of the machine (0-based): picks the PCI slot, the BARs and the state name. */
  index?: number;
}

/** Frames and bytes through the device, for the VMM's statistics (never cleared by the guest). */
export interface E1000Counters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** Frames lost because the guest had no receive buffer (MPC). */
  rxDropped: number;
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new RangeError(`MAC address "${text}" is not six hexadecimal bytes (like 52:54:00:12:34:56)`);
  const mac = Uint8Array.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
  if (mac[0]! & 1) throw new RangeError(`MAC address "${text}" is a multicast address; a NIC needs a unicast one (first byte even)`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export class E1000 implements Device {
  readonly name: string;
  readonly pci: PciFunction;
  readonly slot: number;
  readonly mac: Uint8Array;
  /** The register file, one entry per dword of BAR0. */
  readonly regs = new Uint32Array(E1000_MMIO_SIZE >> 2);
  readonly eeprom: E1000Eeprom;
  readonly phy = new E1000Phy();
  readonly tx: E1000Tx;
  readonly rx: E1000Rx;
  readonly counters: E1000Counters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0 };
  /** Called when a frame arrived for the guest (the run loop may be asleep in HLT). */
  onActivity: (() => void) | undefined;
  private backend: NetBackend | undefined;
  private ioaddr = 0;
  private irqLevel = false;
  private mmioBase = -1;
  private ioBase = -1;
  private readonly index: number;

  constructor(
    private readonly io: IoBus,
    readonly memory: MemoryBus,
    pciHost: PciHost,
    private readonly irq: IrqLine,
    opts: E1000Options,
  ) {
    this.index = opts.index ?? 0;
    if (!Number.isInteger(this.index) || this.index < 0 || this.index > 7) throw new RangeError(`e1000: NIC index ${this.index} is not 0-7`);
    if (opts.mac.length !== 6) throw new RangeError(`e1000: a MAC address is 6 bytes, got ${opts.mac.length}`);
    this.mac = opts.mac.slice();
    this.name = this.index === 0 ? 'e1000' : `e1000-${this.index}`;
    this.slot = E1000_FIRST_SLOT + this.index;
    this.eeprom = new E1000Eeprom({
      mac: this.mac, deviceId: E1000_DEVICE, vendorId: E1000_VENDOR, subsystemId: E1000_SUBSYSTEM, subsystemVendorId: E1000_VENDOR,
    });
    this.pci = new PciFunction(this.name, {
      vendorId: E1000_VENDOR, deviceId: E1000_DEVICE, classCode: 0x020000, revision: 3,
      subsystemVendorId: E1000_VENDOR, subsystemId: E1000_SUBSYSTEM, interruptPin: 1,
      bars: [{ size: E1000_MMIO_SIZE, io: false }, { size: E1000_IO_SIZE, io: true }],
    });
    this.pci.onConfigWrite = () => {
      this.mapBars();
      this.updateIrq(); // the command register's interrupt-disable bit may have changed
    };
    pciHost.addFunction(this.slot, 0, this.pci);
    const host = {
      memory,
      reg: (o: number) => this.regs[o >> 2]!,
      setReg: (o: number, v: number) => {
        this.regs[o >> 2] = v;
      },
      cause: (bits: number) => this.cause(bits),
    };
    this.tx = new E1000Tx({ ...host, vlanEnabled: () => (this.regs[R.CTRL >> 2]! & CTRL_VME) !== 0, transmit: (f) => this.transmit(f) });
    this.rx = new E1000Rx({
      ...host,
      count: (stat, by = 1) => this.count(stat, by),
      delivered: (bytes) => {
        this.counters.rxBytes += bytes;
        this.counters.rxPackets++;
      },
    });
    this.phy.onLinkChange = () => this.cause(ICR_LSC);
    this.resetRegisters();
    this.firmwareSetup();
  }

  /** Connects the virtual cable's other end. Frames from it arrive between CPU slices. */
  attach(backend: NetBackend): void {
    this.backend = backend;
    backend.setReceiver((frame) => this.receive(frame));
  }

  /** A frame from the backend for the guest. */
  receive(frame: Uint8Array): void {
    const mpc = this.regs[S.MPC >> 2]!;
    this.rx.receive(frame);
    if (this.regs[S.MPC >> 2] !== mpc) this.counters.rxDropped++;
    this.onActivity?.();
  }

  /** Pause DMA into guest memory (VM paused or saving); frames wait in the packet buffer. */
  freeze(frozen: boolean): void {
    this.rx.frozen = frozen;
    if (!frozen) this.rx.drain();
  }

  private transmit(frame: Uint8Array): void {
    const wire = frame.length + 4;
    this.count(S.GPTC);
    this.count(S.TPT);
    this.count(S.GOTCL, wire);
    this.count(S.TOTL, wire);
    if (frame[0]! & 1) this.count(frame.subarray(0, 6).every((b) => b === 0xff) ? S.BPTC : S.MPTC);
    this.count(wire <= 64 ? S.PTC64 : wire <= 127 ? S.PTC127 : wire <= 255 ? S.PTC255 : wire <= 511 ? S.PTC511 : wire <= 1023 ? S.PTC1023 : S.PTC1522);
    this.counters.txBytes += frame.length;
    this.counters.txPackets++;
    this.backend?.send(frame);
  }

  /** Adds to a statistics register (saturating at 2^32-1; 64-bit pairs carry into the high half). */
  private count(stat: number, by = 1): void {
    const i = stat >> 2;
    const v = this.regs[i]! + by;
    if (STATS_64_LOW.has(stat)) {
      this.regs[i] = v >>> 0;
      if (v > 0xffffffff) this.regs[i + 1] = (this.regs[i + 1]! + Math.floor(v / 0x1_0000_0000)) >>> 0;
      return;
    }
    this.regs[i] = Math.min(v, 0xffffffff);
  }

  private cause(bits: number): void {
    this.regs[R.ICR >> 2] = (this.regs[R.ICR >> 2]! | bits) >>> 0;
    this.updateIrq();
  }

  /** INTA follows ICR & IMS, unless the PCI command register disables INTx. */
  private updateIrq(): void {
    const pending = (this.regs[R.ICR >> 2]! & this.regs[R.IMS >> 2]!) !== 0;
    const level = pending && !(this.pci.config[0x05]! & 0x04);
    // PCI status bit 3: interrupt status, whether or not INTx is disabled.
    this.pci.config[0x06] = (this.pci.config[0x06]! & ~0x08) | (pending ? 0x08 : 0);
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raise();
    else this.irq.lower();
  }

  // ---- register access --------------------------------------------------------------

  readRegister(offset: number): number {
    const o = offset & (E1000_MMIO_SIZE - 4);
    const i = o >> 2;
    switch (o) {
      case R.STATUS: {
        const link = this.phy.linkUp;
        return (link ? STATUS_LU : 0) | STATUS_FD | STATUS_SPEED_1000 | STATUS_ASDV_1000;
      }
      case R.EECD:
        return this.eeprom.readEecd();
      case R.EERD:
        return this.eeprom.readEerd();
      case R.ICR: {
        const v = this.regs[i]!;
        this.regs[i] = 0; // read to clear
        this.updateIrq();
        return v >>> 0;
      }
      case R.ICS:
      case R.IMC:
        return 0; // write-only
    }
    if (o >= R.STATS_START && o < R.STATS_END) {
      const v = this.regs[i]!;
      if (STATS_64_LOW.has(o)) return v >>> 0; // the high half's read clears the pair
      this.regs[i] = 0;
      if (STATS_64_LOW.has(o - 4)) this.regs[i - 1] = 0;
      return v >>> 0;
    }
    return this.regs[i]! >>> 0;
  }

  writeRegister(offset: number, value: number): void {
    const o = offset & (E1000_MMIO_SIZE - 4);
    const i = o >> 2;
    const v = value >>> 0;
    switch (o) {
      case R.CTRL:
        if (v & CTRL_RST) {
          this.deviceReset();
          return;
        }
        if (v & CTRL_PHY_RST) this.phy.reset();
        this.regs[i] = v & ~CTRL_PHY_RST;
        return;
      case R.STATUS:
        return; // read-only
      case R.EECD:
        this.eeprom.writeEecd(v);
        return;
      case R.EERD:
        this.eeprom.writeEerd(v);
        return;
      case R.MDIC:
        this.regs[i] = this.phy.mdic(v);
        if (v & MDIC_INT_EN) this.cause(ICR_MDAC);
        return;
      case R.ICR:
        this.regs[i] = this.regs[i]! & ~v; // write one to clear
        this.updateIrq();
        return;
      case R.ICS:
        this.cause(v & ICR_VALID);
        return;
      case R.IMS:
        this.regs[R.IMS >> 2] = (this.regs[R.IMS >> 2]! | (v & ICR_VALID)) >>> 0;
        this.updateIrq();
        return;
      case R.IMC:
        this.regs[R.IMS >> 2] = this.regs[R.IMS >> 2]! & ~v;
        this.updateIrq();
        return;
      case R.RCTL:
        this.regs[i] = v;
        this.rx.drain();
        return;
      case R.RDLEN:
      case R.TDLEN:
        this.regs[i] = v & 0xfff80; // a multiple of 128 bytes, up to 1 MiB (bits 19:7)
        return;
      case R.RDH:
      case R.RDT:
        this.regs[i] = v & 0xffff;
        if (o === R.RDT) this.rx.drain();
        return;
      case R.TDH:
        this.regs[i] = v & 0xffff;
        return;
      case R.TDT:
        this.regs[i] = v & 0xffff;
        this.tx.run();
        return;
      case R.TCTL:
        this.regs[i] = v;
        this.tx.run();
        return;
    }
    if (o >= R.STATS_START && o < R.STATS_END) return; // counters are read-only
    this.regs[i] = v;
  }

  private mmioRead(offset: number, size: MmioSize): number {
    const v = this.readRegister(offset & ~3);
    if (size === 4) return v;
    const shift = (offset & 3) * 8;
    return (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  private mmioWrite(offset: number, size: MmioSize, value: number): void {
    if (size === 4) {
      this.writeRegister(offset, value);
      return;
    }
    // Narrow writes merge into the stored dword (drivers only use 32-bit accesses).
    const shift = (offset & 3) * 8;
    const mask = (size === 1 ? 0xff : 0xffff) << shift;
    const cur = this.regs[(offset & (E1000_MMIO_SIZE - 4)) >> 2]!;
    this.writeRegister(offset & ~3, ((cur & ~mask) | ((value << shift) & mask)) >>> 0);
  }

  private ioRead(port: number, size: IoSize): number {
    const off = port - this.ioBase;
    if (off < 4) return size === 4 ? this.ioaddr : (this.ioaddr >>> (off * 8)) & (size === 1 ? 0xff : 0xffff);
    if (size !== 4) return size === 1 ? 0xff : 0xffff;
    return this.readRegister(this.ioaddr);
  }

  private ioWrite(port: number, size: IoSize, value: number): void {
    const off = port - this.ioBase;
    if (off < 4) {
      if (size === 4) this.ioaddr = value & (E1000_MMIO_SIZE - 4);
      return;
    }
    if (size === 4) this.writeRegister(this.ioaddr, value);
  }

  // ---- PCI ----------------------------------------------------------------------------

  private firmwareSetup(): void {
    const dv = new DataView(this.pci.config.buffer);
    dv.setUint32(0x10, E1000_MMIO_BASE - this.index * E1000_MMIO_SIZE, true);
    dv.setUint32(0x14, (E1000_IO_BASE + this.index * E1000_IO_SIZE) | 1, true);
    this.pci.config[0x04] = 0x07; // I/O, memory, bus master
    this.pci.config[0x05] = 0;
    this.mapBars();
  }

  /** Follow BAR0/BAR1 and the command register's decode enables. */
  private mapBars(): void {
    const cmd = this.pci.config[0x04]!;
    const mmio = cmd & 2 ? this.pci.barAddress(0) : 0;
    const wantMmio = mmio !== 0 && mmio + E1000_MMIO_SIZE <= 0x1_0000_0000 ? mmio : -1;
    if (wantMmio !== this.mmioBase) {
      if (this.mmioBase >= 0) this.memory.removeMmio(this.mmioBase);
      this.mmioBase = -1;
      if (wantMmio >= 0) {
        try {
          this.memory.addMmio(wantMmio, E1000_MMIO_SIZE, {
            read: (off: number, size: MmioSize) => this.mmioRead(off, size),
            write: (off: number, size: MmioSize, v: number) => this.mmioWrite(off, size, v),
          }, this.name);
          this.mmioBase = wantMmio;
        } catch {
          // Over another device's window (e.g. mid BAR sizing with decode on): leave unmapped.
        }
      }
    }
    const port = cmd & 1 ? this.pci.barAddress(1) : 0;
    const wantIo = port > 0 && port + E1000_IO_SIZE <= 0x10000 ? port : -1;
    if (wantIo !== this.ioBase) {
      if (this.ioBase >= 0) this.io.unregister(this.ioBase, E1000_IO_SIZE);
      this.ioBase = -1;
      if (wantIo >= 0) {
        try {
          this.io.register(wantIo, E1000_IO_SIZE, {
            read: (p: number, size: IoSize) => this.ioRead(p, size),
            write: (p: number, size: IoSize, v: number) => this.ioWrite(p, size, v),
          }, this.name);
          this.ioBase = wantIo;
        } catch {
          // Conflicting decode: the guest sees all ones, as on a real bus.
        }
      }
    }
  }

  // ---- reset and state ----------------------------------------------------------------

  /** Power-on register values; RAR0 holds the EEPROM's address, as the part loads it. */
  private resetRegisters(): void {
    this.regs.fill(0);
    const set = (o: number, v: number) => {
      this.regs[o >> 2] = v >>> 0;
    };
    set(R.CTRL, CTRL_FD | CTRL_SLU | CTRL_SPD_1000);
    set(R.MDIC, 1 << 28); // ready
    set(R.VET, 0x8100);
    set(R.PBA, 0x00100030); // 48 KiB receive, 16 KiB transmit
    set(R.LEDCTL, 0x07068302);
    set(R.TIPG, 0x00602008);
    set(R.RAL0, this.mac[0]! | (this.mac[1]! << 8) | (this.mac[2]! << 16) | (this.mac[3]! << 24));
    set(R.RAH0, this.mac[4]! | (this.mac[5]! << 8) | RAH_AV);
    this.irqLevel = false;
  }

  /** CTRL.RST: the MAC, EEPROM interface, PHY and rings back to power-on; PCI space untouched. */
  private deviceReset(): void {
    this.resetRegisters();
    this.eeprom.reset();
    this.phy.reset();
    this.tx.reset();
    this.rx.reset();
    this.irq.lower();
  }

  /** Machine reset: the device and its PCI function as the firmware leaves them. */
  reset(): void {
    this.deviceReset();
    this.ioaddr = 0;
    this.firmwareSetup();
  }

  saveState(): DeviceState {
    return {
      regs: this.regs.slice(), ioaddr: this.ioaddr, eeprom: this.eeprom.saveState(), phy: this.phy.saveState(),
      tx: this.tx.saveState(), rx: this.rx.saveState(), counters: { ...this.counters },
    };
  }

  /** PCI config space is restored by the PCI host (saved before this device); remap BARs from it. */
  loadState(s: DeviceState): void {
    this.regs.set(s.regs as Uint32Array);
    this.ioaddr = s.ioaddr as number;
    this.eeprom.loadState(s.eeprom as DeviceState);
    this.phy.loadState(s.phy as DeviceState);
    this.tx.loadState(s.tx as DeviceState);
    this.rx.loadState(s.rx as DeviceState);
    Object.assign(this.counters, s.counters as E1000Counters);
    this.mapBars();
    this.irqLevel = false;
    this.irq.lower();
    this.updateIrq();
  }
}
