// The PIIX3 IDE controller, PCI function 00:01.1 (8086:7010): two channels in ISA
// compatibility mode (primary 0x1F0-0x1F7/0x3F6 on IRQ 14, secondary 0x170-0x177/0x376 on
// IRQ 15) and the bus-master DMA registers behind BAR4, which Linux's ata_piix uses. Up to
// four drives: an ATA disk or an ATAPI CD/DVD drive in each position.
//
// There is no BIOS to program the PCI function, so the controller comes up the way SeaBIOS
// leaves it: both channels' decode enabled (IDETIM bit 15, which ata_piix checks before it
// probes a port), BAR4 at 0xC000, I/O and bus mastering on.
import type { BlockDevice } from '../../storage/block-device.ts';
import type { IoBus, IoSize } from '../bus-io.ts';
import type { MemoryBus } from '../bus-memory.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';
import { AtaDisk } from './ata-disk.ts';
import { AtapiCdrom } from './atapi-cdrom.ts';
import { IdeBusMaster } from './ide-busmaster.ts';
import { IdeChannel, newCounters, type DriveCounters, type IdeDrive, type IdeHost } from './ide-channel.ts';
import { PciFunction, type PciHost } from './pci-host.ts';

export const IDE_PCI_DEVICE = 1;
export const IDE_PCI_FUNCTION = 1;
export const DEFAULT_BMDMA_BASE = 0xc000;
const LEGACY = [
  { base: 0x1f0, ctl: 0x3f6, irq: 14 },
  { base: 0x170, ctl: 0x376, irq: 15 },
] as const;

export type IdePosition = 0 | 1 | 2 | 3; // primary master, primary slave, secondary master, secondary slave

export const POSITION_NAMES = ['primary master', 'primary slave', 'secondary master', 'secondary slave'];

export class IdeController implements Device, IdeHost {
  readonly name = 'ide';
  readonly pci: PciFunction;
  readonly busMaster: IdeBusMaster;
  readonly channels: [IdeChannel, IdeChannel];
  private readonly inflight = new Set<Promise<unknown>>();
  private bmBase = -1;
  /** Called when an image operation completes (the run loop may be asleep waiting for it). */
  onActivity: (() => void) | undefined;

  constructor(private readonly io: IoBus, memory: MemoryBus, pciHost: PciHost, irqs: (irq: number) => IrqLine) {
    this.busMaster = new IdeBusMaster(memory);
    this.channels = [new IdeChannel(0, irqs(LEGACY[0].irq), this), new IdeChannel(1, irqs(LEGACY[1].irq), this)];
    this.pci = new PciFunction('piix3-ide', {
      vendorId: 0x8086, deviceId: 0x7010, classCode: 0x010180, // IDE, compatibility mode, bus master
      bars: [undefined, undefined, undefined, undefined, { size: 16, io: true }],
    });
    for (let o = 0x40; o < 0x48; o++) this.pci.writable[o] = 0xff; // IDETIM, SIDETIM timing registers
    this.pci.onConfigWrite = () => this.mapBusMaster();
    pciHost.addFunction(IDE_PCI_DEVICE, IDE_PCI_FUNCTION, this.pci);
    LEGACY.forEach(({ base, ctl }, i) => {
      const ch = this.channels[i]!;
      io.register(base, 8, {
        read: (port: number, size: IoSize) => ch.readRegister(port - base, size),
        write: (port: number, size: IoSize, v: number) => ch.writeRegister(port - base, size, v),
      }, `ide${i}`);
      io.register(ctl, 1, {
        read: () => ch.readAltStatus(),
        write: (_p: number, _s: IoSize, v: number) => ch.writeControl(v),
      }, `ide${i}-ctl`);
    });
    this.firmwareSetup();
  }

  private firmwareSetup(): void {
    const c = this.pci.config;
    c[0x41] = 0x80; // primary IDETIM: decode enable
    c[0x43] = 0x80; // secondary IDETIM: decode enable
    new DataView(c.buffer).setUint32(0x20, DEFAULT_BMDMA_BASE | 1, true);
    c[0x04] = 0x05; // I/O space, bus master
    this.mapBusMaster();
  }

  /** Follow the guest's BAR4 and command register: the bus-master ports move with them. */
  private mapBusMaster(): void {
    const enabled = (this.pci.config[0x04]! & 1) !== 0;
    const base = enabled ? this.pci.barAddress(4) : 0;
    const want = base > 0 && base < 0x10000 ? base : -1;
    if (want === this.bmBase) return;
    if (this.bmBase >= 0) this.io.unregister(this.bmBase, 16);
    this.bmBase = -1;
    if (want < 0) return;
    try {
      this.io.register(want, 16, {
        read: (port: number, size: IoSize) => {
          let v = 0;
          for (let i = 0; i < size; i++) v |= this.busMaster.read(port - want + i) << (i * 8);
          return v >>> 0;
        },
        write: (port: number, size: IoSize, v: number) => {
          for (let i = 0; i < size; i++) this.busMaster.write(port - want + i, (v >>> (i * 8)) & 0xff);
        },
      }, 'ide-bmdma');
      this.bmBase = want;
    } catch {
      // The guest put BAR4 over another device's ports: leave it unmapped, as a conflicting
      // decode would be on real hardware (the guest sees all ones).
    }
  }

  /** The drive at a position (0-3), if any. */
  drive(pos: IdePosition): IdeDrive | undefined {
    return this.channels[pos >> 1]!.drives[pos & 1];
  }

  private place(pos: IdePosition, d: IdeDrive): void {
    if (!Number.isInteger(pos) || pos < 0 || pos > 3) throw new RangeError(`IDE position ${pos} is not 0-3`);
    const ch = this.channels[pos >> 1]!;
    if (ch.drives[pos & 1]) throw new Error(`IDE ${POSITION_NAMES[pos]} already has a drive`);
    ch.drives[pos & 1] = d;
    ch.reset();
  }

  attachDisk(pos: IdePosition, block: BlockDevice): AtaDisk {
    const d = new AtaDisk(block, { model: 'HANGAR HARDDISK', serial: `HGR-DISK-${pos}`, firmware: '1.0' });
    this.place(pos, d);
    return d;
  }

  attachCdrom(pos: IdePosition, medium?: BlockDevice, path = ''): AtapiCdrom {
    const d = new AtapiCdrom({ model: 'HANGAR DVD-ROM', serial: `HGR-CD-${pos}`, firmware: '1.0' }, medium, path);
    this.place(pos, d);
    return d;
  }

  // ---- IdeHost ----------------------------------------------------------------------

  track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  activity(): void {
    this.onActivity?.();
  }

  /** Resolves once no image operation is in flight (before a save, or a test's assertion). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  get busy(): boolean {
    return this.inflight.size > 0;
  }

  /** Bytes and operations of every drive together (statistics). */
  counters(): DriveCounters {
    const sum = newCounters();
    for (const ch of this.channels) {
      for (const d of ch.drives) {
        if (!d) continue;
        sum.readBytes += d.counters.readBytes;
        sum.writeBytes += d.counters.writeBytes;
        sum.readOps += d.counters.readOps;
        sum.writeOps += d.counters.writeOps;
      }
    }
    return sum;
  }

  // ---- Device -----------------------------------------------------------------------

  reset(): void {
    this.busMaster.reset();
    for (const ch of this.channels) ch.reset();
    this.pci.config.fill(0, 0x40, 0x48);
    this.firmwareSetup();
  }

  saveState(): DeviceState {
    return { busMaster: this.busMaster.saveState(), channels: this.channels.map((c) => c.saveState()) };
  }

  /** PCI config space is restored by the PCI host (saved before this device); remap BAR4 from it. */
  loadState(s: DeviceState): void {
    this.busMaster.loadState(s.busMaster as DeviceState);
    (s.channels as DeviceState[]).forEach((cs, i) => this.channels[i]!.loadState(cs));
    this.mapBusMaster();
  }
}
