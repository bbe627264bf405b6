// The 82540EM transmit ring: descriptors from TDH up to (not including) TDT, each 16 bytes at
// TDBAH:TDBAL. Three kinds (SDM 3.3): legacy (CMD.DEXT clear: buffer, length, optional
// checksum at CSO from CSS), context (DEXT, DTYP 0: offload offsets, kept for later packets)
// and data (DEXT, DTYP 1: buffer, length, POPTS in the packet's first descriptor). A packet
// ends at a descriptor with EOP. Descriptors with RS get DD written back into their status.
//
// The ring is run synchronously when the guest writes TDT (or enables the transmitter): there
// is no wire delay to model, and the frame goes to the backend before the write returns.
// Frames shorter than 60 bytes are padded when TCTL.PSP asks for it, as the MAC does on a wire.
import type { MemoryBus } from '../bus-memory.ts';
import type { DeviceState } from '../device.ts';
import { applyChecksums, emptyContext, parseContext, segment, type TxContext } from './e1000-offload.ts';
import {
  ICR_TXDW, ICR_TXQE, R, TCTL_EN, TCTL_PSP, TXD_CMD_DEXT, TXD_CMD_EOP, TXD_CMD_IC, TXD_CMD_RS, TXD_CMD_TSE,
  TXD_CMD_VLE, TXD_DTYP_CONTEXT, TXD_DTYP_DATA, TXD_POPTS_IXSM, TXD_POPTS_TXSM, TXD_STAT_DD,
} from './e1000-regs.ts';

/** Largest packet the device assembles (a TSO header plus 64 KiB of payload, with margin). */
const MAX_PACKET = 0x10000 + 256;
const MIN_FRAME = 60;

/** What the ring needs from the device. */
export interface TxHost {
  readonly memory: MemoryBus;
  reg(offset: number): number;
  setReg(offset: number, value: number): void;
  /** CTRL.VME: VLE descriptors get their VLAN tag inserted. */
  vlanEnabled(): boolean;
  /** A finished frame (counted and handed to the backend). */
  transmit(frame: Uint8Array): void;
  cause(bits: number): void;
}

export class E1000Tx {
  /** Offsets for checksum-only packets and for TSO packets: the hardware keeps both. */
  private csumCtx = emptyContext();
  private tsoCtx = emptyContext();
  /** The packet being assembled from descriptors (a packet may span several TDT writes). */
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  /** A packet's first descriptor has been seen (its options are latched). */
  private started = false;
  private popts = 0;
  private tse = false;
  private vlan = -1;
  private legacyCso = -1;
  private legacyCss = 0;
  private oversize = false;
  /** TSO sends done (TSCTC statistics). */
  tsoPackets = 0;

  constructor(private readonly host: TxHost) {}

  /** Process every descriptor the guest has handed over. */
  run(): void {
    const h = this.host;
    if (!(h.reg(R.TCTL) & TCTL_EN)) return;
    const len = h.reg(R.TDLEN);
    const count = len >>> 4;
    if (count === 0) return;
    const base = h.reg(R.TDBAH) * 0x1_0000_0000 + (h.reg(R.TDBAL) & ~0xf);
    let head = h.reg(R.TDH);
    const tail = h.reg(R.TDT);
    if (head >= count || tail >= count) return; // the guest pointed past its ring: hold
    let causes = 0;
    for (let n = 0; head !== tail && n < count; n++) {
      const addr = base + head * 16;
      const d = h.memory.readBytes(addr, 16);
      const cmd = d[11]!;
      this.descriptor(d);
      if (cmd & TXD_CMD_RS) {
        h.memory.write8(addr + 12, d[12]! | TXD_STAT_DD);
        causes |= ICR_TXDW;
      }
      head = (head + 1) % count;
      h.setReg(R.TDH, head);
    }
    if (head === tail) causes |= ICR_TXQE;
    if (causes) h.cause(causes);
  }

  private descriptor(d: Uint8Array): void {
    const dv = new DataView(d.buffer, d.byteOffset, 16);
    const cmd = d[11]!;
    if (!(cmd & TXD_CMD_DEXT)) {
      // Legacy: length in bits 15:0 of the second dword, CSO, CMD, STA, CSS, special.
      const length = dv.getUint16(8, true);
      if (!this.started) {
        this.started = true;
        this.legacyCso = cmd & TXD_CMD_IC ? d[10]! : -1;
        this.legacyCss = d[13]!;
        this.vlan = cmd & TXD_CMD_VLE ? dv.getUint16(14, true) : -1;
        this.popts = 0;
        this.tse = false;
      }
      this.append(dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000, length);
      if (cmd & TXD_CMD_EOP) this.finish(true);
      return;
    }
    const dtyp = (d[10]! >> 4) & 0xf;
    if (dtyp === TXD_DTYP_CONTEXT) {
      const ctx = parseContext(d);
      if (ctx.tucmd & TXD_CMD_TSE) this.tsoCtx = ctx;
      else this.csumCtx = ctx;
      return;
    }
    if (dtyp !== TXD_DTYP_DATA) return; // reserved type: skipped, as the guest handed it over
    const length = dv.getUint32(8, true) & 0xfffff;
    if (!this.started) {
      this.started = true;
      // POPTS and TSE are taken from the first data descriptor of a packet.
      this.popts = d[13]!;
      this.tse = (cmd & TXD_CMD_TSE) !== 0;
      this.vlan = cmd & TXD_CMD_VLE ? dv.getUint16(14, true) : -1;
      this.legacyCso = -1;
    }
    this.append(dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000, length);
    if (cmd & TXD_CMD_EOP) this.finish(false);
  }

  private append(addr: number, length: number): void {
    if (length === 0) return;
    if (this.partBytes + length > MAX_PACKET) {
      this.oversize = true; // dropped at EOP: no such frame can be sent
      return;
    }
    this.parts.push(this.host.memory.readBytes(addr, length));
    this.partBytes += length;
  }

  private finish(legacy: boolean): void {
    const packet = new Uint8Array(this.partBytes);
    let o = 0;
    for (const p of this.parts) {
      packet.set(p, o);
      o += p.length;
    }
    const oversize = this.oversize;
    this.parts = [];
    this.partBytes = 0;
    this.oversize = false;
    this.started = false;
    if (oversize) return;
    const ixsm = (this.popts & TXD_POPTS_IXSM) !== 0;
    const txsm = (this.popts & TXD_POPTS_TXSM) !== 0;
    if (!legacy && this.tse) {
      this.tsoPackets++;
      for (const f of segment(packet, this.tsoCtx, ixsm, txsm)) this.emit(f);
      return;
    }
    if (legacy) {
      if (this.legacyCso >= 0) applyChecksums(packet, { ...emptyContext(), tucss: this.legacyCss, tucso: this.legacyCso }, false, true);
    } else {
      applyChecksums(packet, this.csumCtx, ixsm, txsm);
    }
    this.emit(packet);
  }

  private emit(frame: Uint8Array): void {
    let f = frame;
    if (this.vlan >= 0 && this.host.vlanEnabled() && f.length >= 12) {
      // 802.1Q tag after the MAC addresses, with the ethertype from VET.
      const tagged = new Uint8Array(f.length + 4);
      tagged.set(f.subarray(0, 12));
      const vet = this.host.reg(R.VET) & 0xffff;
      tagged[12] = vet >> 8;
      tagged[13] = vet & 0xff;
      tagged[14] = this.vlan >> 8;
      tagged[15] = this.vlan & 0xff;
      tagged.set(f.subarray(12), 16);
      f = tagged;
    }
    if (f.length < MIN_FRAME && this.host.reg(R.TCTL) & TCTL_PSP) {
      const padded = new Uint8Array(MIN_FRAME);
      padded.set(f);
      f = padded;
    }
    if (f.length < 14) return; // not even an Ethernet header: nothing a wire could carry
    this.host.transmit(f);
  }

  reset(): void {
    this.csumCtx = emptyContext();
    this.tsoCtx = emptyContext();
    this.parts = [];
    this.partBytes = 0;
    this.started = false;
    this.oversize = false;
    this.popts = 0;
    this.tse = false;
    this.vlan = -1;
    this.legacyCso = -1;
  }

  saveState(): DeviceState {
    return {
      csumCtx: { ...this.csumCtx }, tsoCtx: { ...this.tsoCtx }, parts: this.parts.map((p) => p.slice()), started: this.started, oversize: this.oversize,
      popts: this.popts, tse: this.tse, vlan: this.vlan, legacyCso: this.legacyCso, legacyCss: this.legacyCss, tsoPackets: this.tsoPackets,
    };
  }

  loadState(s: DeviceState): void {
    this.csumCtx = { ...(s.csumCtx as TxContext) };
    this.tsoCtx = { ...(s.tsoCtx as TxContext) };
    this.parts = (s.parts as Uint8Array[]).map((p) => p.slice());
    this.partBytes = this.parts.reduce((n, p) => n + p.length, 0);
    this.started = s.started as boolean;
    this.oversize = s.oversize as boolean;
    this.popts = s.popts as number;
    this.tse = s.tse as boolean;
    this.vlan = s.vlan as number;
    this.legacyCso = s.legacyCso as number;
    this.legacyCss = s.legacyCss as number;
    this.tsoPackets = s.tsoPackets as number;
  }
}
