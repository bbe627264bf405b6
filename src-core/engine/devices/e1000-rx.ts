// The 82540EM receive side: address filtering (exact RAL/RAH entries, the multicast table,
// broadcast, promiscuous modes, VLAN filter), the on-chip packet buffer, and the legacy
// receive descriptor ring (RDBAH:RDBAL, RDLEN, head RDH owned by the device, tail RDT by the
// guest).
//
// A frame that passes the filter goes into guest buffers at once when there are enough free
// descriptors; otherwise it waits in the packet buffer (its size is PBA's receive share, 48 KiB
// after Linux's reset) until the guest hands back descriptors by writing RDT. When that buffer
// is full too the frame is lost: MPC counts it and RXO is raised, as on the real part.
// The stored frame carries the 4-byte FCS the driver expects and strips (RCTL.SECRC clear).
// Checksum offload results (RXCSUM) come from e1000-rxcsum.ts.
import type { MemoryBus } from '../bus-memory.ts';
import type { DeviceState } from '../device.ts';
import { rxChecksum } from './e1000-rxcsum.ts';
import {
  CTRL_VME, FCS_LEN, ICR_RXDMT0, ICR_RXO, ICR_RXT0, R, RAH_AV, RCTL_BAM, RCTL_BSEX, RCTL_BSIZE_SHIFT, RCTL_EN, RCTL_LPE,
  RCTL_MO_SHIFT, RCTL_MPE, RCTL_RDMTS_SHIFT, RCTL_SECRC, RCTL_UPE, RCTL_VFE, RXD_STAT_DD, RXD_STAT_EOP, RXD_STAT_IXSM,
  RXD_STAT_VP, S,
} from './e1000-regs.ts';

const MIN_FRAME = 60; // without FCS: shorter frames are padded, as a wire's minimum size makes them
const MAX_FRAME = 1518; // without FCS, with room for one VLAN tag; longer needs RCTL.LPE
const MAX_LONG_FRAME = 16384;

export interface RxHost {
  readonly memory: MemoryBus;
  reg(offset: number): number;
  setReg(offset: number, value: number): void;
  count(stat: number, by?: number): void;
  cause(bits: number): void;
  /** A frame went into guest memory (host-side statistics). */
  delivered(bytes: number): void;
}

interface Pending {
  data: Uint8Array;
  /** VLAN tag stripped from the frame, or -1. */
  tag: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Ethernet FCS (CRC-32, sent least significant byte first). */
export function ethernetFcs(frame: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < frame.length; i++) c = CRC_TABLE[(c ^ frame[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Bit of the 4096-bit multicast table a destination address selects (RCTL.MO picks the bits). */
export function multicastHash(dst: Uint8Array, mo: number): number {
  const a4 = dst[4]!;
  const a5 = dst[5]!;
  switch (mo & 3) {
    case 0: return ((a4 >> 4) | (a5 << 4)) & 0xfff;
    case 1: return ((a4 >> 3) | (a5 << 5)) & 0xfff;
    case 2: return ((a4 >> 2) | (a5 << 6)) & 0xfff;
    default: return (a4 | (a5 << 8)) & 0xfff;
  }
}

export class E1000Rx {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** While frozen (VM paused or being saved) frames wait in the packet buffer: no DMA. */
  frozen = false;

  constructor(private readonly host: RxHost) {}

  /** Receive buffer size in bytes from RCTL.BSIZE and BSEX. */
  bufferSize(): number {
    const rctl = this.host.reg(R.RCTL);
    const bsize = (rctl >>> RCTL_BSIZE_SHIFT) & 3;
    if (rctl & RCTL_BSEX) return [2048, 16384, 8192, 4096][bsize]!; // 00 with BSEX is reserved
    return [2048, 1024, 512, 256][bsize]!;
  }

  /** True when the destination address passes the filters (RCTL, RAL/RAH, MTA). */
  accepts(frame: Uint8Array): boolean {
    const h = this.host;
    const rctl = h.reg(R.RCTL);
    const dst = frame.subarray(0, 6);
    const group = (dst[0]! & 1) !== 0;
    const broadcast = group && dst.every((b) => b === 0xff);
    if (broadcast) return (rctl & (RCTL_BAM | RCTL_MPE)) !== 0 || this.exactMatch(dst);
    if (group) {
      if (rctl & RCTL_MPE || this.exactMatch(dst)) return true;
      const bit = multicastHash(dst, (rctl >>> RCTL_MO_SHIFT) & 3);
      return ((h.reg(R.MTA + (bit >>> 5) * 4) >>> (bit & 31)) & 1) !== 0;
    }
    return (rctl & RCTL_UPE) !== 0 || this.exactMatch(dst);
  }

  private exactMatch(dst: Uint8Array): boolean {
    const lo = (dst[0]! | (dst[1]! << 8) | (dst[2]! << 16) | (dst[3]! << 24)) >>> 0;
    const hi = dst[4]! | (dst[5]! << 8);
    for (let i = 0; i < 16; i++) {
      const rah = this.host.reg(R.RAH0 + i * 8);
      // RAH.AS (address select) other than destination is not used by drivers: destination only.
      if (rah & RAH_AV && (rah & 0xffff) === hi && this.host.reg(R.RAL0 + i * 8) >>> 0 === lo) return true;
    }
    return false;
  }

  /** A frame from the wire (the backend). */
  receive(input: Uint8Array): void {
    const h = this.host;
    const rctl = h.reg(R.RCTL);
    if (!(rctl & RCTL_EN) || input.length < 14) return;
    const limit = rctl & RCTL_LPE ? MAX_LONG_FRAME : MAX_FRAME;
    if (input.length > limit) {
      h.count(S.ROC);
      return;
    }
    if (!this.accepts(input)) return;
    let frame = input;
    let tag = -1;
    const ethertype = (frame[12]! << 8) | frame[13]!;
    const vet = h.reg(R.VET) & 0xffff;
    if (frame.length >= 18 && ethertype === vet && vet !== 0) {
      const tci = (frame[14]! << 8) | frame[15]!;
      if (rctl & RCTL_VFE) {
        const vid = tci & 0xfff;
        if (!((h.reg(R.VFTA + (vid >>> 5) * 4) >>> (vid & 31)) & 1)) return;
      }
      if (h.reg(R.CTRL) & CTRL_VME) {
        // Strip the tag into the descriptor's special field.
        const untagged = new Uint8Array(frame.length - 4);
        untagged.set(frame.subarray(0, 12));
        untagged.set(frame.subarray(16), 12);
        frame = untagged;
        tag = tci;
      }
    }
    if (frame.length < MIN_FRAME) {
      const padded = new Uint8Array(MIN_FRAME);
      padded.set(frame);
      frame = padded;
    } else if (frame === input) {
      frame = input.slice(); // the backend may reuse its buffer
    }
    if (this.pending.length === 0 && !this.frozen && this.write(frame, tag)) return;
    h.count(S.RNBC);
    if (this.pendingBytes + frame.length > this.capacity()) {
      h.count(S.MPC);
      h.cause(ICR_RXO);
      return;
    }
    this.pending.push({ data: frame, tag });
    this.pendingBytes += frame.length;
  }

  /** Packet buffer space for received frames: PBA bits 15:0 in KiB. */
  private capacity(): number {
    return (this.host.reg(R.PBA) & 0xffff) * 1024;
  }

  /** Move waiting frames into guest buffers (after RDT moved or the receiver was enabled). */
  drain(): void {
    if (this.frozen || !(this.host.reg(R.RCTL) & RCTL_EN)) return;
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      if (!this.write(p.data, p.tag)) return;
      this.pending.shift();
      this.pendingBytes -= p.data.length;
    }
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Writes one frame into the ring; false when there are not enough free descriptors. */
  private write(frame: Uint8Array, tag: number): boolean {
    const h = this.host;
    const count = h.reg(R.RDLEN) >>> 4;
    if (count === 0) return false;
    let head = h.reg(R.RDH);
    const tail = h.reg(R.RDT);
    if (head >= count || tail >= count) return false;
    const free = (tail - head + count) % count;
    const withFcs = !(h.reg(R.RCTL) & RCTL_SECRC);
    const total = frame.length + (withFcs ? FCS_LEN : 0);
    const bs = this.bufferSize();
    const needed = Math.ceil(total / bs);
    if (free < needed) return false;
    let data = frame;
    if (withFcs) {
      data = new Uint8Array(total);
      data.set(frame);
      new DataView(data.buffer).setUint32(frame.length, ethernetFcs(frame), true);
    }
    const cs = rxChecksum(frame, h.reg(R.RXCSUM));
    const base = h.reg(R.RDBAH) * 0x1_0000_0000 + (h.reg(R.RDBAL) & ~0xf);
    for (let off = 0; off < total; off += bs) {
      const addr = base + head * 16;
      const d = h.memory.readBytes(addr, 8);
      const buf = new DataView(d.buffer).getUint32(0, true) + new DataView(d.buffer).getUint32(4, true) * 0x1_0000_0000;
      const len = Math.min(bs, total - off);
      h.memory.writeBytes(buf, data.subarray(off, off + len));
      const last = off + len >= total;
      // Write-back: length, packet checksum, status (checksum results on the last descriptor
      // only, as the hardware reports them), errors, special (the stripped VLAN tag).
      const wb = new Uint8Array(8);
      const dv = new DataView(wb.buffer);
      dv.setUint16(0, len, true);
      dv.setUint16(2, last ? cs.csum : 0, true);
      wb[4] = RXD_STAT_DD | (last ? RXD_STAT_EOP | cs.status : RXD_STAT_IXSM) | (tag >= 0 ? RXD_STAT_VP : 0);
      wb[5] = last ? cs.errors : 0;
      dv.setUint16(6, tag >= 0 ? tag : 0, true);
      h.memory.writeBytes(addr + 8, wb);
      head = (head + 1) % count;
      h.setReg(R.RDH, head);
    }
    this.countReceived(frame);
    let causes = ICR_RXT0;
    // RXDMT0: free descriptors fell to the minimum threshold (1/2, 1/4 or 1/8 of the ring).
    const threshold = count >> (((h.reg(R.RCTL) >>> RCTL_RDMTS_SHIFT) & 3) + 1);
    if ((tail - head + count) % count <= threshold) causes |= ICR_RXDMT0;
    h.cause(causes);
    return true;
  }

  private countReceived(frame: Uint8Array): void {
    const h = this.host;
    const wire = frame.length + FCS_LEN; // statistics count the frame as on the wire, FCS included
    h.count(S.GPRC);
    h.count(S.TPR);
    h.count(S.GORCL, wire);
    h.count(S.TORL, wire);
    if (frame[0]! & 1) h.count(frame.subarray(0, 6).every((b) => b === 0xff) ? S.BPRC : S.MPRC);
    h.count(wire <= 64 ? S.PRC64 : wire <= 127 ? S.PRC127 : wire <= 255 ? S.PRC255 : wire <= 511 ? S.PRC511 : wire <= 1023 ? S.PRC1023 : S.PRC1522);
    h.delivered(frame.length);
  }

  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  saveState(): DeviceState {
    return { pending: this.pending.map((p) => ({ data: p.data.slice(), tag: p.tag })) };
  }

  loadState(s: DeviceState): void {
    this.pending = (s.pending as Pending[]).map((p) => ({ data: p.data.slice(), tag: p.tag }));
    this.pendingBytes = this.pending.reduce((n, p) => n + p.data.length, 0);
  }
}
