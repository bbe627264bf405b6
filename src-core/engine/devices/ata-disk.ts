// An ATA hard disk behind an IDE channel: IDENTIFY, PIO and DMA reads and writes in LBA28,
// LBA48 and CHS addressing, READ/WRITE MULTIPLE, FLUSH CACHE, SET FEATURES and the small
// housekeeping commands Linux's libata sends while probing. The data lives in a BlockDevice
// (any image format); every access goes through it asynchronously (see ide-channel.ts).
import type { BlockDevice } from '../../storage/block-device.ts';
import type { DeviceState } from '../device.ts';
import { ataIdentify, chsGeometry, MAX_MULTIPLE, type IdentityStrings } from './ata-identify.ts';
import { ERR_ABRT, ERR_IDNF, ERR_UNC, newCounters, type IdeChannel, type IdeDrive } from './ide-channel.ts';

const SECTOR = 512;

interface Transfer {
  lba48: boolean;
  write: boolean;
  dma: boolean;
  multiple: boolean;
}

// Command opcode -> how it transfers.
const TRANSFERS = new Map<number, Transfer>([
  [0x20, { lba48: false, write: false, dma: false, multiple: false }], // READ SECTORS
  [0x21, { lba48: false, write: false, dma: false, multiple: false }], // (without retry)
  [0x24, { lba48: true, write: false, dma: false, multiple: false }], // READ SECTORS EXT
  [0xc4, { lba48: false, write: false, dma: false, multiple: true }], // READ MULTIPLE
  [0x29, { lba48: true, write: false, dma: false, multiple: true }], // READ MULTIPLE EXT
  [0xc8, { lba48: false, write: false, dma: true, multiple: false }], // READ DMA
  [0xc9, { lba48: false, write: false, dma: true, multiple: false }],
  [0x25, { lba48: true, write: false, dma: true, multiple: false }], // READ DMA EXT
  [0x30, { lba48: false, write: true, dma: false, multiple: false }], // WRITE SECTORS
  [0x31, { lba48: false, write: true, dma: false, multiple: false }],
  [0x34, { lba48: true, write: true, dma: false, multiple: false }], // WRITE SECTORS EXT
  [0xc5, { lba48: false, write: true, dma: false, multiple: true }], // WRITE MULTIPLE
  [0x39, { lba48: true, write: true, dma: false, multiple: true }], // WRITE MULTIPLE EXT
  [0xca, { lba48: false, write: true, dma: true, multiple: false }], // WRITE DMA
  [0xcb, { lba48: false, write: true, dma: true, multiple: false }],
  [0x35, { lba48: true, write: true, dma: true, multiple: false }], // WRITE DMA EXT
]);

export class AtaDisk implements IdeDrive {
  readonly kind = 'disk';
  readonly counters = newCounters();
  readonly sectors: number;
  /** Sectors per DRQ block for READ/WRITE MULTIPLE (0 = not set: those commands abort). */
  multiple = 0;
  /** Transfer mode from SET FEATURES 03h (0x08|n PIO, 0x20|n MWDMA, 0x40|n UDMA). */
  dmaMode = 0x22;
  writeCache = true;
  /** Geometry from INITIALIZE DEVICE PARAMETERS, for CHS addressing. */
  private heads: number;
  private spt: number;
  /** Set when the last image access failed; the guest sees an error for that command. */
  lastError: string | undefined;

  constructor(readonly block: BlockDevice, readonly id: IdentityStrings) {
    this.sectors = Math.floor(block.capacity / SECTOR);
    const g = chsGeometry(this.sectors);
    this.heads = g.heads;
    this.spt = g.spt;
  }

  signature(ch: IdeChannel): void {
    ch.lbam = 0;
    ch.lbah = 0;
    ch.select &= 0xf0;
  }

  reset(): void {
    this.multiple = 0;
    const g = chsGeometry(this.sectors);
    this.heads = g.heads;
    this.spt = g.spt;
  }

  command(ch: IdeChannel, cmd: number): void {
    const t = TRANSFERS.get(cmd);
    if (t) {
      this.transfer(ch, t);
      return;
    }
    switch (cmd) {
      case 0xec: // IDENTIFY DEVICE
        ch.pioIn(ataIdentify(this.id, this.sectors, this), SECTOR);
        return;
      case 0xa1: // IDENTIFY PACKET DEVICE: not a packet device; abort with our signature
      case 0xa0: // PACKET
        this.signature(ch);
        ch.fail(ERR_ABRT);
        return;
      case 0xc6: { // SET MULTIPLE MODE
        const n = ch.nsect;
        if (n > MAX_MULTIPLE || (n & (n - 1)) !== 0) {
          ch.fail(ERR_ABRT);
          return;
        }
        this.multiple = n;
        ch.complete();
        return;
      }
      case 0xef: // SET FEATURES
        this.setFeatures(ch);
        return;
      case 0xe7: // FLUSH CACHE
      case 0xea: // FLUSH CACHE EXT
        ch.async(this.block.flush(), () => ch.complete(), (err) => this.ioFailed(ch, err, ERR_ABRT));
        return;
      case 0x91: // INITIALIZE DEVICE PARAMETERS
        this.heads = (ch.select & 0x0f) + 1;
        this.spt = ch.nsect || 256;
        ch.complete();
        return;
      case 0x40: case 0x41: case 0x42: // READ VERIFY SECTORS (EXT): nothing to check on an image
      case 0x70: // SEEK
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6: // standby / idle / sleep
        ch.complete();
        return;
      case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17: // RECALIBRATE
      case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
        ch.complete();
        return;
      case 0xe5: // CHECK POWER MODE: active
        ch.nsect = 0xff;
        ch.complete();
        return;
      case 0xf8: // READ NATIVE MAX ADDRESS
        ch.setLba28(Math.min(this.sectors, 0x10000000) - 1);
        ch.complete();
        return;
      case 0x27: // READ NATIVE MAX ADDRESS EXT
        ch.setLba48(this.sectors - 1);
        ch.complete();
        return;
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        ch.setSignatureOf(0);
        ch.error = 0x01;
        ch.complete();
        return;
      default:
        ch.fail(ERR_ABRT);
    }
  }

  private setFeatures(ch: IdeChannel): void {
    switch (ch.features) {
      case 0x02: this.writeCache = true; break;
      case 0x82: this.writeCache = false; break;
      case 0x03: { // set transfer mode
        const mode = ch.nsect;
        const kind = mode & 0xf8;
        if (kind === 0x00 || kind === 0x08) break; // PIO default / PIO n
        if ((kind === 0x20 && (mode & 7) <= 2) || (kind === 0x40 && (mode & 7) <= 5)) {
          this.dmaMode = mode;
          break;
        }
        ch.fail(ERR_ABRT);
        return;
      }
      case 0x55: case 0xaa: case 0x66: case 0xcc: case 0x05: case 0x85: // lookahead, defaults, APM
        break;
      default:
        ch.fail(ERR_ABRT);
        return;
    }
    ch.complete();
  }

  /** LBA and sector count of the command in the task file, or undefined for a bad address. */
  private address(ch: IdeChannel, lba48: boolean): { lba: number; count: number } {
    if (lba48) return { lba: ch.lba48(), count: ((ch.nsectHob << 8) | ch.nsect) || 65536 };
    const count = ch.nsect || 256;
    if (ch.select & 0x40) return { lba: ch.lba28(), count };
    // CHS: cylinder in LBA mid/high, head in the device register, sector (1-based) in LBA low.
    const cyl = (ch.lbah << 8) | ch.lbam;
    const head = ch.select & 0x0f;
    if (ch.lbal === 0 || ch.lbal > this.spt || head >= this.heads) return { lba: -1, count };
    return { lba: (cyl * this.heads + head) * this.spt + ch.lbal - 1, count };
  }

  private transfer(ch: IdeChannel, t: Transfer): void {
    if (t.multiple && this.multiple === 0) {
      ch.fail(ERR_ABRT);
      return;
    }
    const { lba, count } = this.address(ch, t.lba48);
    if (lba < 0 || lba + count > this.sectors) {
      ch.fail(ERR_IDNF);
      return;
    }
    if (t.write && this.block.readOnly) {
      this.lastError = `write to a read-only disk at sector ${lba}`;
      ch.fail(ERR_ABRT);
      return;
    }
    const bytes = count * SECTOR;
    const offset = lba * SECTOR;
    const blockSize = (t.multiple ? this.multiple : 1) * SECTOR;
    if (!t.write) {
      const buf = new Uint8Array(bytes);
      ch.async(this.block.read(buf, offset), () => {
        this.counters.readOps++;
        this.counters.readBytes += bytes;
        if (t.dma) ch.dmaIn(buf, (ok) => (ok ? ch.complete() : ch.fail(ERR_ABRT)));
        else ch.pioIn(buf, blockSize);
      }, (err) => this.ioFailed(ch, err, ERR_UNC));
      return;
    }
    const write = (data: Uint8Array): void => {
      ch.async(this.block.write(data, offset), () => {
        this.counters.writeOps++;
        this.counters.writeBytes += bytes;
        ch.complete();
      }, (err) => this.ioFailed(ch, err, ERR_ABRT));
    };
    if (t.dma) ch.dmaOut(bytes, (data) => (data ? write(data) : ch.fail(ERR_ABRT)));
    else ch.pioOut(bytes, blockSize, write);
  }

  private ioFailed(ch: IdeChannel, err: unknown, code: number): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    ch.fail(code);
  }

  saveState(): DeviceState {
    return { multiple: this.multiple, dmaMode: this.dmaMode, writeCache: this.writeCache, heads: this.heads, spt: this.spt, counters: { ...this.counters } };
  }

  loadState(s: DeviceState): void {
    this.multiple = s.multiple as number;
    this.dmaMode = s.dmaMode as number;
    this.writeCache = s.writeCache as boolean;
    this.heads = s.heads as number;
    this.spt = s.spt as number;
    if (s.counters) Object.assign(this.counters, s.counters);
  }
}
