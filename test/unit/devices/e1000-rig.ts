// Test rig for the e1000: guest RAM, the PCI host, the NIC at 00:03.0 with a recording INTA
// line and a capture backend, plus helpers that drive the device the way Linux's e1000 driver
// does (Microwire EEPROM reads through EECD, MDIC PHY access, descriptor rings in RAM) and
// build real IPv4/TCP/UDP frames whose checksums the tests verify independently.
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { E1000, E1000_MMIO_BASE } from '../../../src-core/engine/devices/e1000.ts';
import { R } from '../../../src-core/engine/devices/e1000-regs.ts';
import { PciHost } from '../../../src-core/engine/devices/pci-host.ts';
import type { NetBackend } from '../../../src-core/net/backend.ts';
import { RecordingIrq, Rig } from './harness.ts';

export const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const PEER = Uint8Array.from([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
export const TX_RING = 0x10000;
export const RX_RING = 0x20000;
export const TX_BUF = 0x100000;
export const RX_BUF = 0x200000;

/** Records what the guest sends; `deliver` plays the wire side. */
export class CaptureBackend implements NetBackend {
  readonly sent: Uint8Array[] = [];
  receiver: ((frame: Uint8Array) => void) | undefined;
  closed = false;
  send(frame: Uint8Array): void {
    this.sent.push(frame.slice());
  }
  setReceiver(r: (frame: Uint8Array) => void): void {
    this.receiver = r;
  }
  deliver(frame: Uint8Array): void {
    this.receiver!(frame);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export class NicRig extends Rig {
  readonly memory = new MemoryBus(16 * 1024 * 1024);
  readonly pci = new PciHost(this.io);
  readonly irq = new RecordingIrq();
  readonly nic: E1000;
  readonly wire = new CaptureBackend();
  txTail = 0;
  txCount = 0;

  constructor() {
    super();
    this.nic = new E1000(this.io, this.memory, this.pci, this.irq, { mac: MAC });
    this.nic.attach(this.wire);
  }

  read(reg: number): number {
    return this.memory.read32(E1000_MMIO_BASE + reg) >>> 0;
  }
  write(reg: number, v: number): void {
    this.memory.write32(E1000_MMIO_BASE + reg, v >>> 0);
  }

  cfg(reg: number): number {
    this.out32(0xcf8, (0x80000000 | (this.nic.slot << 11) | reg) >>> 0);
    return this.in32(0xcfc) >>> 0;
  }
  setCfg(reg: number, v: number): void {
    this.out32(0xcf8, (0x80000000 | (this.nic.slot << 11) | reg) >>> 0);
    this.out32(0xcfc, v >>> 0);
  }

  /** One EEPROM word the way e1000_read_eeprom does it for a Microwire part. */
  eepromWord(addr: number): number {
    const SK = 1;
    const CS = 2;
    const DI = 4;
    const DO = 8;
    const REQ = 0x40;
    const GNT = 0x80;
    let eecd = this.read(R.EECD) | REQ;
    this.write(R.EECD, eecd);
    if (!(this.read(R.EECD) & GNT)) throw new Error('EEPROM grant not given');
    eecd &= ~(DI | SK);
    this.write(R.EECD, eecd);
    eecd |= CS;
    this.write(R.EECD, eecd);
    const out = (value: number, bits: number) => {
      for (let mask = 1 << (bits - 1); mask; mask >>= 1) {
        eecd = value & mask ? eecd | DI : eecd & ~DI;
        this.write(R.EECD, eecd);
        this.write(R.EECD, eecd | SK);
        this.write(R.EECD, eecd);
      }
      eecd &= ~DI;
      this.write(R.EECD, eecd);
    };
    out(0b110, 3);
    out(addr, 6);
    let data = 0;
    for (let i = 0; i < 16; i++) {
      data <<= 1;
      this.write(R.EECD, eecd | SK);
      if (this.read(R.EECD) & DO) data |= 1;
      this.write(R.EECD, eecd);
    }
    // Standby then release, as the driver does.
    eecd &= ~(CS | SK);
    this.write(R.EECD, eecd);
    this.write(R.EECD, eecd & ~REQ);
    return data;
  }

  mdic(op: 'read' | 'write', reg: number, data = 0, phy = 1): number {
    this.write(R.MDIC, ((op === 'read' ? 2 : 1) << 26) | (phy << 21) | (reg << 16) | data);
    return this.read(R.MDIC);
  }

  /** Transmit ring of `count` descriptors, transmitter on with padding. */
  setupTx(count = 8): void {
    this.txCount = count;
    this.txTail = 0;
    this.write(R.TDBAL, TX_RING);
    this.write(R.TDBAH, 0);
    this.write(R.TDLEN, count * 16);
    this.write(R.TDH, 0);
    this.write(R.TDT, 0);
    this.write(R.TCTL, 0x2 | 0x8); // EN | PSP
  }

  /** Writes one descriptor at the tail (16 raw bytes) without moving TDT. */
  putTx(desc: Uint8Array): number {
    const at = TX_RING + this.txTail * 16;
    this.memory.writeBytes(at, desc);
    this.txTail = (this.txTail + 1) % this.txCount;
    return at;
  }

  /** A data descriptor (DEXT, DTYP 1) for `data` copied to guest memory at `addr`. */
  dataDesc(addr: number, data: Uint8Array, dcmd: number, popts = 0): Uint8Array {
    this.memory.writeBytes(addr, data);
    const d = new Uint8Array(16);
    const dv = new DataView(d.buffer);
    dv.setUint32(0, addr, true);
    dv.setUint32(8, data.length | (1 << 20) | ((dcmd | 0x20) << 24), true);
    d[13] = popts;
    return d;
  }

  legacyDesc(addr: number, data: Uint8Array, cmd: number, cso = 0, css = 0): Uint8Array {
    this.memory.writeBytes(addr, data);
    const d = new Uint8Array(16);
    const dv = new DataView(d.buffer);
    dv.setUint32(0, addr, true);
    dv.setUint16(8, data.length, true);
    d[10] = cso;
    d[11] = cmd;
    d[13] = css;
    return d;
  }

  contextDesc(c: { ipcss?: number; ipcso?: number; ipcse?: number; tucss: number; tucso: number; tucse?: number; paylen?: number; tucmd: number; hdrlen?: number; mss?: number }): Uint8Array {
    const d = new Uint8Array(16);
    const dv = new DataView(d.buffer);
    d[0] = c.ipcss ?? 0;
    d[1] = c.ipcso ?? 0;
    dv.setUint16(2, c.ipcse ?? 0, true);
    d[4] = c.tucss;
    d[5] = c.tucso;
    dv.setUint16(6, c.tucse ?? 0, true);
    dv.setUint32(8, (c.paylen ?? 0) | ((c.tucmd | 0x20) << 24), true);
    d[13] = c.hdrlen ?? 0;
    dv.setUint16(14, c.mss ?? 0, true);
    return d;
  }

  kickTx(): void {
    this.write(R.TDT, this.txTail);
  }

  /** Receive ring of `count` descriptors with 2 KiB buffers; `give` of them handed to the device. */
  setupRx(count = 8, give = count - 1, rctlExtra = 0): void {
    for (let i = 0; i < count; i++) {
      this.memory.write32(RX_RING + i * 16, RX_BUF + i * 2048);
      this.memory.write32(RX_RING + i * 16 + 4, 0);
      this.memory.writeBytes(RX_RING + i * 16 + 8, new Uint8Array(8));
    }
    this.write(R.RDBAL, RX_RING);
    this.write(R.RDBAH, 0);
    this.write(R.RDLEN, count * 16);
    this.write(R.RDH, 0);
    this.write(R.RDT, give % count);
    this.write(R.RCTL, 0x2 | 0x8000 | rctlExtra); // EN | BAM, 2048-byte buffers
  }

  rxDesc(i: number): { length: number; status: number; errors: number; special: number; data: Uint8Array } {
    const at = RX_RING + i * 16;
    const length = this.memory.read16(at + 8);
    return {
      length,
      status: this.memory.read8(at + 12),
      errors: this.memory.read8(at + 13),
      special: this.memory.read16(at + 14),
      data: this.memory.readBytes(RX_BUF + i * 2048, length),
    };
  }
}

// ---- frames ---------------------------------------------------------------------------

/** Independent Internet checksum over a byte range (for verifying the device's work). */
export function inetSum(b: Uint8Array, start = 0, end = b.length, seed = 0): number {
  let s = seed;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Sum of the IPv4 pseudo header for an L4 segment of `len` bytes. */
export function pseudo(ip: Uint8Array, ipOff: number, proto: number, len: number): number {
  return inetSum(ip, ipOff + 12, ipOff + 20) + proto + len;
}

export function ethHeader(dst: Uint8Array, src: Uint8Array, type: number): Uint8Array {
  const h = new Uint8Array(14);
  h.set(dst, 0);
  h.set(src, 6);
  h[12] = type >> 8;
  h[13] = type & 0xff;
  return h;
}

/** Ethernet + IPv4 + L4 header + payload, IP checksum filled, L4 checksum left as given. */
export function ipv4Packet(opts: { proto: 6 | 17; payload: Uint8Array; dst?: Uint8Array; src?: Uint8Array; id?: number; flags?: number; seq?: number }): Uint8Array {
  const l4len = opts.proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4len + opts.payload.length);
  f.set(ethHeader(opts.dst ?? PEER, opts.src ?? MAC, 0x0800));
  const ip = 14;
  f[ip] = 0x45;
  const total = 20 + l4len + opts.payload.length;
  f[ip + 2] = total >> 8;
  f[ip + 3] = total & 0xff;
  f[ip + 4] = (opts.id ?? 0x1234) >> 8;
  f[ip + 5] = (opts.id ?? 0x1234) & 0xff;
  f[ip + 8] = 64;
  f[ip + 9] = opts.proto;
  f.set([10, 0, 2, 15], ip + 12);
  f.set([10, 0, 2, 2], ip + 16);
  const ipcs = ~inetSum(f, ip, ip + 20) & 0xffff;
  f[ip + 10] = ipcs >> 8;
  f[ip + 11] = ipcs & 0xff;
  const l4 = ip + 20;
  f[l4] = 0x9c; // source port 40000
  f[l4 + 1] = 0x40;
  f[l4 + 2] = 0x1f; // destination port 8080
  f[l4 + 3] = 0x90;
  if (opts.proto === 6) {
    const seq = opts.seq ?? 0x01020304;
    new DataView(f.buffer).setUint32(l4 + 4, seq);
    f[l4 + 12] = 5 << 4;
    f[l4 + 13] = opts.flags ?? 0x18; // PSH ACK
    f[l4 + 14] = 0xff;
    f[l4 + 15] = 0xff;
  } else {
    const ulen = 8 + opts.payload.length;
    f[l4 + 4] = ulen >> 8;
    f[l4 + 5] = ulen & 0xff;
  }
  f.set(opts.payload, l4 + l4len);
  return f;
}

export function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
