// The 82540EM's serial EEPROM: 64 16-bit words (a 93C46-style Microwire part) holding the MAC
// address, the PCI IDs and the initialisation words, with a checksum word chosen so that all
// 64 words sum to 0xBABA (the Linux driver refuses the card otherwise).
//
// Software reaches it two ways: bit-banging the Microwire lines through EECD (SK clock, CS chip
// select, DI into the EEPROM, DO out of it; the Linux e1000 driver does this), or the EERD
// register, which reads one word in a single access. Writes to the EEPROM are not supported:
// the opcodes are accepted and ignored, so the contents stay those the device was built with.
import type { DeviceState } from '../device.ts';

export const EEPROM_WORDS = 64;
export const EEPROM_CHECKSUM_WORD = 0x3f;
export const EEPROM_SUM = 0xbaba;

const EECD_SK = 1 << 0;
const EECD_CS = 1 << 1;
const EECD_DI = 1 << 2;
const EECD_DO = 1 << 3;
const EECD_REQ = 1 << 6;
const EECD_GNT = 1 << 7;
const EECD_PRES = 1 << 8;
/** Bits software owns in EECD (SK, CS, DI, FWE, REQ); the rest are status. */
const EECD_WRITABLE = EECD_SK | EECD_CS | EECD_DI | (3 << 4) | EECD_REQ;

const EERD_START = 1 << 0;
const EERD_DONE = 1 << 4;
const EERD_ADDR_SHIFT = 8;
const EERD_DATA_SHIFT = 16;

/** Microwire READ: start bit 1, opcode 10, then a 6-bit word address. */
const MW_READ = 0b110;
const MW_HEADER_BITS = 3 + 6;

export interface EepromIds {
  mac: Uint8Array;
  deviceId: number;
  vendorId: number;
  subsystemId: number;
  subsystemVendorId: number;
}

/** The initial contents: IDs and init words of an 82540EM desktop card, checksum last. */
export function buildEeprom(ids: EepromIds): Uint16Array {
  const w = new Uint16Array(EEPROM_WORDS).fill(0xffff);
  const m = ids.mac;
  w[0x00] = m[0]! | (m[1]! << 8); // Ethernet address, low byte first
  w[0x01] = m[2]! | (m[3]! << 8);
  w[0x02] = m[4]! | (m[5]! << 8);
  w[0x03] = 0x0000; // compatibility: no special options
  w[0x04] = 0xffff;
  w[0x05] = 0x0000; // EEPROM image version
  w[0x06] = 0x0000;
  w[0x07] = 0x0000;
  w[0x08] = 0x3000; // printed board assembly number
  w[0x09] = 0x1000;
  w[0x0a] = 0x6403; // init control 1: load subsystem IDs, no power management defaults
  w[0x0b] = ids.subsystemId;
  w[0x0c] = ids.subsystemVendorId;
  w[0x0d] = ids.deviceId;
  w[0x0e] = ids.vendorId;
  w[0x0f] = 0x3040; // init control 2: symmetric and asymmetric pause advertised
  w[0x10] = 0x0008;
  w[0x24] = 0x0000; // init control 3: no APM wake-up (Linux reads its APME bit for wake-on-LAN)
  let sum = 0;
  for (let i = 0; i < EEPROM_CHECKSUM_WORD; i++) sum = (sum + w[i]!) & 0xffff;
  w[EEPROM_CHECKSUM_WORD] = (EEPROM_SUM - sum) & 0xffff;
  return w;
}

export class E1000Eeprom {
  readonly words: Uint16Array;
  /** Last value software wrote to EECD's writable bits. */
  private eecd = 0;
  private bitsIn = 0;
  private shiftIn = 0;
  private reading = false;
  private address = 0;
  /** Data bits already shifted out of the current word (0-16). */
  private bitsOut = 0;
  private dataOut = 0;
  private eerd = 0;

  constructor(ids: EepromIds) {
    this.words = buildEeprom(ids);
  }

  readEecd(): number {
    let v = (this.eecd & EECD_WRITABLE) | EECD_PRES; // EE_SIZE clear: 64 words, 6 address bits
    if (this.eecd & EECD_REQ) v |= EECD_GNT; // no firmware competes for the EEPROM
    if (this.dataOut) v |= EECD_DO;
    return v >>> 0;
  }

  writeEecd(value: number): void {
    const old = this.eecd;
    this.eecd = value & EECD_WRITABLE;
    const cs = (value & EECD_CS) !== 0;
    if (!cs) {
      // Deselected: the next selection starts a new instruction.
      this.resetShift();
      return;
    }
    if (!(old & EECD_CS)) this.resetShift();
    const rising = (value & EECD_SK) !== 0 && (old & EECD_SK) === 0;
    if (rising) this.clock((value & EECD_DI) !== 0);
  }

  private resetShift(): void {
    this.bitsIn = 0;
    this.shiftIn = 0;
    this.reading = false;
    this.bitsOut = 0;
    this.dataOut = 0;
  }

  /** One rising edge of SK with CS high: shift an instruction bit in, or a data bit out. */
  private clock(di: boolean): void {
    if (this.reading) {
      if (this.bitsOut === 16) {
        // Sequential read: the part carries on with the next word.
        this.address = (this.address + 1) % EEPROM_WORDS;
        this.bitsOut = 0;
      }
      this.dataOut = (this.words[this.address]! >> (15 - this.bitsOut)) & 1;
      this.bitsOut++;
      return;
    }
    if (this.bitsIn >= MW_HEADER_BITS) return; // an unsupported instruction: ignore its data
    // Leading zeros before the start bit are not part of the instruction.
    if (this.bitsIn === 0 && !di) return;
    this.shiftIn = (this.shiftIn << 1) | (di ? 1 : 0);
    this.bitsIn++;
    if (this.bitsIn === MW_HEADER_BITS) {
      if (this.shiftIn >> 6 === MW_READ) {
        this.reading = true;
        this.address = this.shiftIn & 0x3f;
        this.bitsOut = 0;
        this.dataOut = 0; // the dummy zero that precedes the data
      }
    }
  }

  readEerd(): number {
    return this.eerd >>> 0;
  }

  /** EERD: a write with START reads the addressed word at once (DONE set, data in 31:16). */
  writeEerd(value: number): void {
    if (!(value & EERD_START)) {
      this.eerd = value & ~EERD_DONE;
      return;
    }
    const addr = (value >>> EERD_ADDR_SHIFT) & 0xff;
    // Addresses past the part read as erased (all ones), as an absent word would.
    const data = addr < EEPROM_WORDS ? this.words[addr]! : 0xffff;
    this.eerd = ((data << EERD_DATA_SHIFT) | (addr << EERD_ADDR_SHIFT) | EERD_DONE) >>> 0;
  }

  reset(): void {
    this.eecd = 0;
    this.eerd = 0;
    this.resetShift();
  }

  saveState(): DeviceState {
    return {
      eecd: this.eecd, bitsIn: this.bitsIn, shiftIn: this.shiftIn, reading: this.reading, address: this.address,
      bitsOut: this.bitsOut, dataOut: this.dataOut, eerd: this.eerd,
    };
  }

  loadState(s: DeviceState): void {
    this.eecd = s.eecd as number;
    this.bitsIn = s.bitsIn as number;
    this.shiftIn = s.shiftIn as number;
    this.reading = s.reading as boolean;
    this.address = s.address as number;
    this.bitsOut = s.bitsOut as number;
    this.dataOut = s.dataOut as number;
    this.eerd = s.eerd as number;
  }
}
