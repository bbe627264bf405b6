// An ATAPI CD/DVD-ROM drive: the PACKET protocol over an IDE channel and the MMC commands a
// Linux guest (sr_mod, cdrom) sends — INQUIRY, TEST UNIT READY, REQUEST SENSE, READ CAPACITY,
// READ(10/12), MODE SENSE, GET CONFIGURATION, READ TOC, START STOP UNIT, PREVENT ALLOW MEDIUM
// REMOVAL, GET EVENT STATUS NOTIFICATION, MECHANISM STATUS. The medium (an ISO image, 2048-byte
// sectors) can be inserted and ejected while the guest runs: the guest learns of it through a
// UNIT ATTENTION and through media events, as with a real drive.
import type { BlockDevice } from '../../storage/block-device.ts';
import type { DeviceState } from '../device.ts';
import { atapiIdentify, type IdentityStrings } from './ata-identify.ts';
import { configurationData, inquiryData, modeSenseData, rd16, rd32, tocData } from './atapi-mmc.ts';
import { ERR_ABRT, newCounters, ST_DRDY, ST_DSC, ST_DRQ, type IdeChannel, type IdeDrive } from './ide-channel.ts';

export const CD_SECTOR = 2048;

// Sense keys and additional sense codes used here.
const NOT_READY = 0x02;
const MEDIUM_ERROR = 0x03;
const ILLEGAL_REQUEST = 0x05;
const UNIT_ATTENTION = 0x06;
const ASC_MEDIUM_NOT_PRESENT = 0x3a;
const ASC_MEDIUM_CHANGED = 0x28;
const ASC_LBA_OUT_OF_RANGE = 0x21;
const ASC_INVALID_OPCODE = 0x20;
const ASC_INVALID_FIELD = 0x24;
const ASC_REMOVAL_PREVENTED = 0x53;
const ASC_READ_ERROR = 0x11;

// GET EVENT STATUS NOTIFICATION media event codes.
const EV_NONE = 0;
const EV_EJECT_REQUEST = 1;
const EV_NEW_MEDIA = 2;
const EV_MEDIA_REMOVAL = 3;

/** Commands answered even while a UNIT ATTENTION is pending (MMC). */
const ALLOW_UA = new Set([0x12, 0x03, 0x46, 0x4a]);

export class AtapiCdrom implements IdeDrive {
  readonly kind = 'cdrom';
  readonly counters = newCounters();
  medium: BlockDevice | undefined;
  /** Host path of the medium (for status; the VMM sets it). */
  mediumPath = '';
  locked = false;
  dmaMode = 0x22;
  senseKey = 0;
  asc = 0;
  ascq = 0;
  /** A medium change the guest has not been told about by a UNIT ATTENTION yet. */
  private unitAttention = false;
  /** Pending media event for GET EVENT STATUS NOTIFICATION. */
  private mediaEvent = EV_NONE;
  private packet = new Uint8Array(12);
  private dma = false;
  private byteLimit = 0xfffe;

  constructor(readonly id: IdentityStrings, medium?: BlockDevice, path = '') {
    this.medium = medium;
    this.mediumPath = medium ? path : '';
  }

  get sectors(): number {
    return this.medium ? Math.floor(this.medium.capacity / CD_SECTOR) : 0;
  }

  /** Put a medium in the drive (host side). The guest sees a UNIT ATTENTION and a new-media event. */
  insert(medium: BlockDevice, path: string): void {
    this.medium = medium;
    this.mediumPath = path;
    this.unitAttention = true;
    this.mediaEvent = EV_NEW_MEDIA;
  }

  /**
   * Take the medium out (host side); returns it so the caller can close it. A guest lock
   * (PREVENT MEDIUM REMOVAL) is overridden unless `respectLock`, as a VM's "force unmount" is.
   */
  eject(respectLock = false): BlockDevice | undefined {
    if (respectLock && this.locked) {
      this.mediaEvent = EV_EJECT_REQUEST;
      return undefined;
    }
    const m = this.medium;
    this.medium = undefined;
    this.mediumPath = '';
    if (m) {
      this.unitAttention = true;
      this.mediaEvent = EV_MEDIA_REMOVAL;
    }
    return m;
  }

  signature(ch: IdeChannel): void {
    ch.lbam = 0x14;
    ch.lbah = 0xeb;
    ch.select &= 0xf0;
  }

  reset(): void {
    this.locked = false;
  }

  command(ch: IdeChannel, cmd: number): void {
    switch (cmd) {
      case 0xa0: // PACKET
        this.dma = (ch.features & 1) !== 0;
        this.byteLimit = ((ch.lbah << 8) | ch.lbam) & 0xfffe || 0xfffe;
        ch.pioOut(12, 12, (p) => this.execute(ch, p));
        ch.nsect = 0x01; // C/D=1: the device wants the command packet
        ch.status = ST_DRDY | ST_DSC | ST_DRQ;
        return;
      case 0xa1: // IDENTIFY PACKET DEVICE
        ch.pioIn(atapiIdentify(this.id, this), 512);
        return;
      case 0xec: // IDENTIFY DEVICE: a packet device aborts and shows its signature
        this.signature(ch);
        ch.fail(ERR_ABRT, 0);
        return;
      case 0x08: // DEVICE RESET
        this.signature(ch);
        ch.error = 0x01;
        ch.status = 0;
        return;
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        ch.setSignatureOf(0);
        ch.error = 0x01;
        ch.complete();
        return;
      case 0xef: { // SET FEATURES
        if (ch.features === 0x03) {
          const mode = ch.nsect;
          if ((mode & 0xf8) === 0x20 || (mode & 0xf8) === 0x40) this.dmaMode = mode;
        }
        ch.complete();
        return;
      }
      case 0xe5: // CHECK POWER MODE
        ch.nsect = 0xff;
        ch.complete();
        return;
      case 0x00: case 0xe0: case 0xe1: case 0xe7: // NOP-ish housekeeping
        ch.complete();
        return;
      default:
        ch.fail(ERR_ABRT);
    }
  }

  // ---- packet commands ---------------------------------------------------------------

  /** Execute one 12-byte packet. */
  execute(ch: IdeChannel, p: Uint8Array): void {
    this.packet = p.slice();
    const op = p[0]!;
    if (this.unitAttention && !ALLOW_UA.has(op)) {
      this.unitAttention = false;
      this.checkCondition(ch, UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
      return;
    }
    switch (op) {
      case 0x00: // TEST UNIT READY
        if (this.needMedium(ch)) this.good(ch);
        return;
      case 0x03: { // REQUEST SENSE
        const b = new Uint8Array(18);
        b[0] = 0x70;
        b[2] = this.senseKey;
        b[7] = 10;
        b[12] = this.asc;
        b[13] = this.ascq;
        if (this.senseKey === UNIT_ATTENTION) this.unitAttention = false;
        this.setSense(0, 0);
        this.dataIn(ch, b, p[4]!);
        return;
      }
      case 0x12: // INQUIRY
        this.dataIn(ch, inquiryData(this.id), p[4]!);
        return;
      case 0x1b: // START STOP UNIT
        this.startStop(ch, p);
        return;
      case 0x1e: // PREVENT ALLOW MEDIUM REMOVAL
        this.locked = (p[4]! & 1) !== 0;
        this.good(ch);
        return;
      case 0x25: { // READ CAPACITY
        if (!this.needMedium(ch)) return;
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, this.sectors - 1);
        new DataView(b.buffer).setUint32(4, CD_SECTOR);
        this.dataIn(ch, b, 8);
        return;
      }
      case 0x28: // READ(10)
        this.read(ch, rd32(p, 2), rd16(p, 7));
        return;
      case 0xa8: // READ(12)
        this.read(ch, rd32(p, 2), rd32(p, 6));
        return;
      case 0x1a: // MODE SENSE(6)
      case 0x5a: // MODE SENSE(10)
        this.modeSense(ch, p, op === 0x5a);
        return;
      case 0x46: // GET CONFIGURATION
        this.dataIn(ch, configurationData(p[1]! & 3, rd16(p, 2), this.profile(), this.locked), rd16(p, 7));
        return;
      case 0x43: // READ TOC/PMA/ATIP
        this.readToc(ch, p);
        return;
      case 0x4a: // GET EVENT STATUS NOTIFICATION
        this.eventStatus(ch, p);
        return;
      case 0xbd: { // MECHANISM STATUS: no changer, no slots
        const b = new Uint8Array(8);
        this.dataIn(ch, b, rd16(p, 8));
        return;
      }
      case 0xbb: // SET CD SPEED: accepted, nothing to do
      case 0x2b: // SEEK(10)
        this.good(ch);
        return;
      default:
        this.checkCondition(ch, ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    }
  }

  private setSense(key: number, asc: number, ascq = 0): void {
    this.senseKey = key;
    this.asc = asc;
    this.ascq = ascq;
  }

  private good(ch: IdeChannel): void {
    this.setSense(0, 0);
    ch.atapiDone();
  }

  /** CHECK CONDITION: the sense key in the error register's high nibble, ERR in status. */
  private checkCondition(ch: IdeChannel, key: number, asc: number, ascq = 0): void {
    this.setSense(key, asc, ascq);
    ch.endTransfer();
    ch.nsect = 0x03;
    ch.fail((key << 4) | (key === ILLEGAL_REQUEST ? ERR_ABRT : 0), ST_DRDY | ST_DSC);
  }

  private needMedium(ch: IdeChannel): boolean {
    if (this.medium) return true;
    this.checkCondition(ch, NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    return false;
  }

  /** Send `data` (cut to the allocation length) to the guest by PIO or DMA. */
  private dataIn(ch: IdeChannel, data: Uint8Array, alloc: number): void {
    const out = data.subarray(0, Math.min(data.length, alloc));
    this.setSense(0, 0);
    if (out.length === 0) {
      ch.atapiDone();
      return;
    }
    if (this.dma) {
      ch.dmaIn(out.slice(), (ok) => (ok ? ch.atapiDone() : this.checkCondition(ch, ILLEGAL_REQUEST, ASC_INVALID_FIELD)));
    } else {
      ch.pioIn(out.slice(), this.byteLimit, true);
    }
  }

  private read(ch: IdeChannel, lba: number, count: number): void {
    if (!this.needMedium(ch)) return;
    if (count === 0) {
      this.good(ch);
      return;
    }
    if (lba + count > this.sectors) {
      this.checkCondition(ch, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
      return;
    }
    const medium = this.medium!;
    const buf = new Uint8Array(count * CD_SECTOR);
    ch.async(medium.read(buf, lba * CD_SECTOR), () => {
      this.counters.readOps++;
      this.counters.readBytes += buf.length;
      if (this.medium !== medium) {
        // Ejected while the read was in flight.
        this.checkCondition(ch, NOT_READY, ASC_MEDIUM_NOT_PRESENT);
        return;
      }
      this.dataIn(ch, buf, buf.length);
    }, () => this.checkCondition(ch, MEDIUM_ERROR, ASC_READ_ERROR));
  }

  private startStop(ch: IdeChannel, p: Uint8Array): void {
    const start = (p[4]! & 1) !== 0;
    const loej = (p[4]! & 2) !== 0;
    if (loej && !start) {
      if (this.locked) {
        this.checkCondition(ch, ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
        return;
      }
      // The guest ejected the disc: the drive is empty now. The image stays open in
      // `ejected` until the host (VMM) closes it.
      const m = this.eject();
      if (m) this.ejected.push(m);
      this.unitAttention = false; // the guest asked for it; no surprise to report
    }
    this.good(ch);
  }

  /** Media the guest ejected, for the host to close. */
  readonly ejected: BlockDevice[] = [];

  private modeSense(ch: IdeChannel, p: Uint8Array, ten: boolean): void {
    const b = modeSenseData(p[2]! & 0x3f, p[2]! >> 6, ten, this.locked, this.medium !== undefined);
    if (!b) this.checkCondition(ch, ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    else this.dataIn(ch, b, ten ? rd16(p, 7) : p[4]!);
  }

  /** Current profile: DVD-ROM for media bigger than a CD holds, else CD-ROM; 0 without medium. */
  private profile(): number {
    if (!this.medium) return 0;
    return this.sectors > 405_000 ? 0x0010 : 0x0008;
  }

  private readToc(ch: IdeChannel, p: Uint8Array): void {
    if (!this.needMedium(ch)) return;
    const b = tocData((p[2]! & 0x0f) || (p[9]! >> 6), (p[1]! & 2) !== 0, this.sectors);
    if (!b) this.checkCondition(ch, ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    else this.dataIn(ch, b, rd16(p, 7));
  }

  private eventStatus(ch: IdeChannel, p: Uint8Array): void {
    if (!(p[1]! & 1)) {
      this.checkCondition(ch, ILLEGAL_REQUEST, ASC_INVALID_FIELD); // only polled mode
      return;
    }
    const alloc = rd16(p, 7);
    if (!(p[4]! & 0x10)) {
      const b = new Uint8Array(4); // no requested class supported
      b[1] = 2;
      b[2] = 0x80;
      b[3] = 0x10;
      this.dataIn(ch, b, alloc);
      return;
    }
    const b = new Uint8Array(8);
    b[1] = 6;
    b[2] = 0x04; // media class
    b[3] = 0x10; // supported: media
    b[4] = this.mediaEvent;
    b[5] = this.medium ? 0x02 : 0x00; // media present
    this.mediaEvent = EV_NONE;
    this.dataIn(ch, b, alloc);
  }

  saveState(): DeviceState {
    return {
      locked: this.locked, dmaMode: this.dmaMode, sense: [this.senseKey, this.asc, this.ascq], unitAttention: this.unitAttention,
      mediaEvent: this.mediaEvent, mediumPath: this.mediumPath, counters: { ...this.counters },
    };
  }

  /** The medium itself is the VMM's to reopen (mediumPath); this restores the drive's view. */
  loadState(s: DeviceState): void {
    this.locked = s.locked as boolean;
    this.dmaMode = s.dmaMode as number;
    [this.senseKey, this.asc, this.ascq] = s.sense as [number, number, number];
    this.unitAttention = s.unitAttention as boolean;
    this.mediaEvent = s.mediaEvent as number;
    if (s.counters) Object.assign(this.counters, s.counters);
  }
}
