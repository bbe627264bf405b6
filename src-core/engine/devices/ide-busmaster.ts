// The PIIX bus-master IDE function (BAR4, 16 I/O ports): per channel a command register
// (start/stop, direction), a status register (active, error, interrupt; write one to clear)
// and the physical address of a PRD table. A PRD entry is 8 bytes: buffer address, byte
// count (0 = 64 KiB) and end-of-table in bit 31 of the second dword.
//
// A DMA transfer needs two parties: the drive (data read from the image, or a write command
// issued) and the guest (PRD table programmed, start bit set). Linux issues the ATA command
// before setting start, and an image read may finish either before or after that, so a
// transfer waits here until both have happened, then runs in one go.
import type { DeviceState } from '../device.ts';
import type { MemoryBus } from '../bus-memory.ts';

const CMD_START = 0x01;
const CMD_TO_MEMORY = 0x08; // "read" from the device's point of view: write into RAM
const ST_ACTIVE = 0x01;
const ST_ERROR = 0x02;
const ST_INTERRUPT = 0x04;
const ST_CAPABLE = 0x60; // drive 0/1 DMA capable (BIOS-set bits, kept as written)

export interface DmaRequest {
  toMemory: boolean;
  /** Bytes to write into RAM (toMemory). */
  data?: Uint8Array;
  length: number;
  /** Called with the bytes read from RAM (or the data written), or undefined when the PRDs fell short. */
  done: (data: Uint8Array | undefined) => void;
}

export class IdeBusMaster {
  readonly command = new Uint8Array(2);
  readonly status = new Uint8Array(2);
  readonly prd = new Uint32Array(2);
  private readonly pending: (DmaRequest | undefined)[] = [undefined, undefined];
  /** Bytes moved per channel by DMA (for tests and statistics). */
  readonly moved = [0, 0];

  constructor(private readonly memory: MemoryBus) {}

  read(offset: number): number {
    const ch = offset >> 3;
    const r = offset & 7;
    if (ch > 1) return 0xff;
    if (r === 0) return this.command[ch]!;
    if (r === 2) return this.status[ch]!;
    if (r >= 4) return (this.prd[ch]! >>> ((r - 4) * 8)) & 0xff;
    return 0;
  }

  write(offset: number, v: number): void {
    const ch = offset >> 3;
    const r = offset & 7;
    if (ch > 1) return;
    if (r === 0) {
      const was = this.command[ch]!;
      this.command[ch] = v & (CMD_START | CMD_TO_MEMORY);
      if (!(was & CMD_START) && v & CMD_START) {
        this.status[ch]! |= ST_ACTIVE;
        this.run(ch);
      } else if (!(v & CMD_START)) {
        // Stop: whatever was pending is abandoned (the guest aborts the command).
        this.status[ch]! &= ~ST_ACTIVE;
      }
    } else if (r === 2) {
      const s = this.status[ch]!;
      this.status[ch] = (s & ST_ACTIVE) | (s & ~v & (ST_ERROR | ST_INTERRUPT)) | (v & ST_CAPABLE);
    } else if (r >= 4) {
      const shift = (r - 4) * 8;
      const mask = 0xff << shift;
      this.prd[ch] = ((this.prd[ch]! & ~mask) | ((v & 0xff) << shift)) & ~3;
    }
  }

  /** Drive side: a transfer is ready; it runs now if the guest has started the engine. */
  transfer(ch: number, req: DmaRequest): void {
    this.pending[ch] = req;
    this.run(ch);
  }

  /** The drive raised its interrupt: the bus master shows it in its status. */
  setInterrupt(ch: number): void {
    this.status[ch]! |= ST_INTERRUPT;
  }

  private run(ch: number): void {
    const req = this.pending[ch];
    if (!req || !(this.command[ch]! & CMD_START)) return;
    this.pending[ch] = undefined;
    if (req.toMemory !== ((this.command[ch]! & CMD_TO_MEMORY) !== 0)) {
      // Direction bit disagrees with the command: a guest bug; fail the transfer.
      this.status[ch] = (this.status[ch]! & ~ST_ACTIVE) | ST_ERROR;
      req.done(undefined);
      return;
    }
    const out = req.toMemory ? req.data! : new Uint8Array(req.length);
    let done = 0;
    let entry = this.prd[ch]!;
    // 4096 entries is far beyond any table Linux builds; it stops a looping table.
    for (let n = 0; n < 4096 && done < req.length; n++, entry += 8) {
      const addr = this.memory.read32(entry) >>> 0;
      const ctl = this.memory.read32(entry + 4) >>> 0;
      const len = Math.min(ctl & 0xffff || 0x10000, req.length - done);
      if (req.toMemory) this.memory.writeBytes(addr & ~1, out.subarray(done, done + len));
      else out.set(this.memory.readBytes(addr & ~1, len), done);
      done += len;
      if (ctl & 0x8000_0000) break;
    }
    this.moved[ch]! += done;
    this.status[ch]! &= ~ST_ACTIVE;
    if (done < req.length) {
      this.status[ch]! |= ST_ERROR;
      req.done(undefined);
      return;
    }
    req.done(out);
  }

  reset(): void {
    this.command.fill(0);
    this.status.fill(0);
    this.prd.fill(0);
    this.pending[0] = this.pending[1] = undefined;
  }

  saveState(): DeviceState {
    return { command: this.command.slice(), status: this.status.slice(), prd: this.prd.slice() };
  }

  loadState(s: DeviceState): void {
    this.command.set(s.command as Uint8Array);
    this.status.set(s.status as Uint8Array);
    this.prd.set(s.prd as Uint32Array);
    this.pending[0] = this.pending[1] = undefined;
  }
}
