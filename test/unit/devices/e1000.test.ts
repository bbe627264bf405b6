import { serialize, deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { E1000_IO_BASE, E1000_MMIO_BASE, parseMac } from '../../../src-core/engine/devices/e1000.ts';
import { R, S } from '../../../src-core/engine/devices/e1000-regs.ts';
import { PHY } from '../../../src-core/engine/devices/e1000-phy.ts';
import {
  MAC, NicRig, PEER, RX_BUF, TX_BUF, bytes, ethHeader, inetSum, ipv4Packet, pseudo,
} from './e1000-rig.ts';

const ICR_TXDW = 0x01;
const ICR_TXQE = 0x02;
const ICR_LSC = 0x04;
const ICR_RXDMT0 = 0x10;
const ICR_RXO = 0x40;
const ICR_RXT0 = 0x80;
const EOP = 0x01;
const IFCS = 0x02;
const RS = 0x08;
const TSE = 0x04;
const BROADCAST = new Uint8Array(6).fill(0xff);

function frameTo(dst: Uint8Array, n = 100, seed = 3): Uint8Array {
  const f = new Uint8Array(n);
  f.set(ethHeader(dst, PEER, 0x0800));
  f.set(bytes(n - 14, seed), 14);
  return f;
}

describe('e1000: PCI function', () => {
  it('is 8086:100E class 020000 at 00:03.0 with a 128 KiB memory BAR, an 8-port I/O BAR and INTA', () => {
    const r = new NicRig();
    expect(r.cfg(0x00)).toBe(0x100e8086);
    expect(r.cfg(0x08) >>> 8).toBe(0x020000);
    expect(r.cfg(0x2c)).toBe(0x001e8086);
    expect((r.cfg(0x3c) >>> 8) & 0xff).toBe(1); // interrupt pin A
    expect(r.cfg(0x10)).toBe(E1000_MMIO_BASE);
    expect(r.cfg(0x14)).toBe(E1000_IO_BASE | 1);
    expect(r.cfg(0x04) & 7).toBe(7); // I/O, memory, bus master on
    // Sizing BAR0 as Linux does (decode off, all ones, read back, restore).
    r.setCfg(0x04, 0);
    r.setCfg(0x10, 0xffffffff);
    expect(r.cfg(0x10)).toBe(0xfffe0000);
    r.setCfg(0x14, 0xffffffff);
    expect(r.cfg(0x14)).toBe(0xfffffff9);
    expect(r.read(R.STATUS)).toBe(0xffffffff); // decode off: nothing answers
    // Move both BARs: the registers follow.
    r.setCfg(0x10, 0xfe000000);
    r.setCfg(0x14, 0xd001);
    r.setCfg(0x04, 7);
    expect(r.memory.read32(0xfe000000 + R.RAH0) >>> 0).toBe(0x80005634);
    r.out32(0xd000, R.RAL0);
    expect(r.in32(0xd004) >>> 0).toBe(0x12005452);
  });
});

describe('e1000: EEPROM, PHY, reset', () => {
  it('serves the MAC and a 0xBABA checksum through bit-banged Microwire reads and EERD', () => {
    const r = new NicRig();
    const words: number[] = [];
    for (let i = 0; i < 64; i++) words.push(r.eepromWord(i));
    expect(words.reduce((a, b) => (a + b) & 0xffff, 0)).toBe(0xbaba);
    expect(words.slice(0, 3)).toEqual([0x5452, 0x1200, 0x5634]);
    expect(words[0x0d]).toBe(0x100e);
    expect(words[0x0e]).toBe(0x8086);
    for (const i of [0, 2, 0x0d, 0x3f]) {
      r.write(R.EERD, (i << 8) | 1);
      const v = r.read(R.EERD);
      expect(v & 0x10).toBe(0x10); // done
      expect(v >>> 16).toBe(words[i]);
    }
  });

  it('answers MDIC at PHY address 1 as an 88E1011 with link up and autoneg complete', () => {
    const r = new NicRig();
    expect(r.mdic('read', PHY.ID1) & 0xffff).toBe(0x0141);
    expect(r.mdic('read', PHY.ID2) & 0xfff0).toBe(0x0c20);
    const st = r.mdic('read', PHY.STATUS);
    expect(st & 0x10000000).not.toBe(0); // ready
    expect(st & 0x0024).toBe(0x0024); // link, autoneg complete
    expect(r.mdic('read', PHY.M88_SPEC_STATUS) & 0xffff).toBe(0xac00);
    expect(r.mdic('read', PHY.ID1, 0, 2) & 0x40000000).not.toBe(0); // other PHY address: error
    // Advertisement is writable; status is not.
    r.mdic('write', PHY.AUTONEG_ADV, 0x01e1);
    expect(r.mdic('read', PHY.AUTONEG_ADV) & 0xffff).toBe(0x01e1);
    r.mdic('write', PHY.STATUS, 0);
    expect(r.mdic('read', PHY.STATUS) & 0x0004).toBe(4);
    expect(r.read(R.STATUS) & 0x3).toBe(0x3); // full duplex, link up
  });

  it('raises a link status change when the link comes up again after the cable is reconnected', () => {
    const r = new NicRig();
    r.write(R.IMS, ICR_LSC);
    r.nic.phy.setCable(false);
    expect(r.read(R.STATUS) & 2).toBe(0);
    expect(r.irq.level).toBe(true);
    expect(r.read(R.ICR) & ICR_LSC).toBe(ICR_LSC);
    expect(r.irq.level).toBe(false); // ICR read cleared it
    r.nic.phy.setCable(true);
    expect(r.read(R.ICR) & ICR_LSC).toBe(ICR_LSC);
    expect(r.read(R.STATUS) & 2).toBe(2);
    // Restarting autonegotiation (as e1000_copper_link_autoneg does) signals the link anew.
    r.mdic('write', PHY.CTRL, 0x1000 | 0x0200);
    expect(r.read(R.ICR) & ICR_LSC).toBe(ICR_LSC);
    expect(r.mdic('read', PHY.CTRL) & 0x0200).toBe(0); // self-clearing
    // The driver's own ICS write (e1000_open) raises it too.
    r.write(R.ICS, ICR_LSC);
    expect(r.irq.level).toBe(true);
    r.write(R.IMC, 0xffffffff);
    expect(r.irq.level).toBe(false);
    expect(r.read(R.ICR)).toBe(ICR_LSC); // still pending, just masked
  });

  it('resets through IOADDR/IODATA (CTRL.RST), as Linux does on the 82540', () => {
    const r = new NicRig();
    r.write(R.IMS, 0xff);
    r.write(R.RCTL, 0x8002);
    r.write(R.RAL0, 0);
    r.out32(E1000_IO_BASE, R.CTRL);
    const ctrl = r.in32(E1000_IO_BASE + 4);
    r.out32(E1000_IO_BASE + 4, ctrl | (1 << 26));
    expect(r.read(R.CTRL) & (1 << 26)).toBe(0); // self-clearing
    expect(r.read(R.IMS)).toBe(0);
    expect(r.read(R.RCTL)).toBe(0);
    expect(r.read(R.RAL0)).toBe(0x12005452); // reloaded from the EEPROM
  });
});

describe('e1000: transmit', () => {
  it('sends a UDP packet split over two data descriptors with the checksum inserted from the context', () => {
    const r = new NicRig();
    r.setupTx();
    r.write(R.IMS, ICR_TXDW);
    const pkt = ipv4Packet({ proto: 17, payload: bytes(300) });
    // The stack's CHECKSUM_PARTIAL seed: the pseudo-header sum in the checksum field.
    const seed = pseudo(pkt, 14, 17, pkt.length - 34);
    pkt[40] = seed >> 8;
    pkt[41] = seed & 0xff;
    r.putTx(r.contextDesc({ tucss: 34, tucso: 40, tucmd: 0 }));
    r.putTx(r.dataDesc(TX_BUF, pkt.subarray(0, 42), IFCS, 0x02));
    const last = r.putTx(r.dataDesc(TX_BUF + 4096, pkt.subarray(42), EOP | IFCS | RS));
    r.kickTx();
    expect(r.wire.sent).toHaveLength(1);
    const out = r.wire.sent[0]!;
    expect(out.length).toBe(pkt.length);
    // Independent check: the UDP checksum verifies over pseudo header + datagram.
    expect(inetSum(out, 34, out.length, pseudo(out, 14, 17, out.length - 34))).toBe(0xffff);
    expect(out.subarray(42)).toEqual(pkt.subarray(42));
    expect(r.memory.read8(last + 12) & 1).toBe(1); // DD written back
    expect(r.read(R.TDH)).toBe(3);
    expect(r.irq.level).toBe(true);
    expect(r.read(R.ICR) & (ICR_TXDW | ICR_TXQE)).toBe(ICR_TXDW | ICR_TXQE);
    expect(r.read(S.GPTC)).toBe(1);
    expect(r.read(S.GPTC)).toBe(0); // read to clear
    expect(r.read(S.GOTCL)).toBe(pkt.length + 4);
    expect(r.read(S.GOTCH)).toBe(0);
    expect(r.read(S.GOTCL)).toBe(0); // reading the high half cleared the pair
    expect(r.nic.counters).toMatchObject({ txPackets: 1, txBytes: pkt.length });
  });

  it('sends a legacy descriptor with its checksum at CSO and pads short frames (TCTL.PSP)', () => {
    const r = new NicRig();
    r.setupTx();
    const pkt = ipv4Packet({ proto: 6, payload: bytes(6) });
    const seed = pseudo(pkt, 14, 6, pkt.length - 34);
    pkt[50] = seed >> 8;
    pkt[51] = seed & 0xff;
    r.putTx(r.legacyDesc(TX_BUF, pkt, EOP | IFCS | RS | 0x04, 50, 34));
    r.kickTx();
    const out = r.wire.sent[0]!;
    expect(out.length).toBe(60);
    expect(out.subarray(pkt.length).every((b) => b === 0)).toBe(true);
    expect(inetSum(out, 34, pkt.length, pseudo(out, 14, 6, pkt.length - 34))).toBe(0xffff);
  });

  it('segments a TSO send into MSS-sized TCP frames with lengths, IDs, sequence numbers, flags and checksums fixed', () => {
    const r = new NicRig();
    r.setupTx(16);
    const payload = bytes(2500, 11);
    const big = ipv4Packet({ proto: 6, payload, id: 0x4000, flags: 0x19, seq: 0xfffffc00 }); // FIN PSH ACK, wraps
    // What Linux's e1000_tso does to the header: IP length and checksum 0, TCP seeded for length 0.
    big[16] = big[17] = big[24] = big[25] = 0;
    const seed = pseudo(big, 14, 6, 0);
    big[50] = seed >> 8;
    big[51] = seed & 0xff;
    const hdrlen = 54;
    r.putTx(r.contextDesc({ ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, tucmd: 0x01 | 0x02 | TSE, paylen: payload.length, hdrlen, mss: 1000 }));
    r.putTx(r.dataDesc(TX_BUF, big.subarray(0, hdrlen), IFCS | TSE, 0x03));
    r.putTx(r.dataDesc(TX_BUF + 0x1000, big.subarray(hdrlen, hdrlen + 1500), IFCS | TSE));
    r.putTx(r.dataDesc(TX_BUF + 0x2000, big.subarray(hdrlen + 1500), EOP | IFCS | TSE | RS));
    r.kickTx();
    expect(r.wire.sent.map((f) => f.length)).toEqual([1054, 1054, 554]);
    let off = 0;
    r.wire.sent.forEach((f, i) => {
      const len = f.length - hdrlen;
      expect((f[16]! << 8) | f[17]!).toBe(f.length - 14); // IP total length
      expect((f[18]! << 8) | f[19]!).toBe(0x4000 + i); // IP ID
      expect(inetSum(f, 14, 34)).toBe(0xffff); // IP header checksum
      expect(new DataView(f.buffer).getUint32(38)).toBe((0xfffffc00 + off) >>> 0);
      expect(f[47]).toBe(i === 2 ? 0x19 : 0x10); // FIN and PSH on the last segment only
      expect(inetSum(f, 34, f.length, pseudo(f, 14, 6, f.length - 34))).toBe(0xffff);
      expect(f.subarray(hdrlen)).toEqual(payload.subarray(off, off + len));
      off += len;
    });
    expect(r.read(S.GPTC)).toBe(3);
  });

  it('holds descriptors while the transmitter is off and sends them when it is enabled', () => {
    const r = new NicRig();
    r.setupTx();
    r.write(R.TCTL, 0);
    r.putTx(r.dataDesc(TX_BUF, frameTo(PEER), EOP | IFCS | RS));
    r.kickTx();
    expect(r.wire.sent).toHaveLength(0);
    expect(r.read(R.TDH)).toBe(0);
    r.write(R.TCTL, 0xa);
    expect(r.wire.sent).toHaveLength(1);
  });
});

describe('e1000: receive', () => {
  it('puts a unicast frame in the next buffer with length (FCS included), DD|EOP and RXT0', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.write(R.IMS, ICR_RXT0);
    const f = frameTo(MAC, 200);
    r.wire.deliver(f);
    const d = r.rxDesc(0);
    expect(d.length).toBe(204);
    expect(d.status & 0x03).toBe(0x03);
    expect(d.errors).toBe(0);
    expect(d.data.subarray(0, 200)).toEqual(f);
    expect(r.read(R.RDH)).toBe(1);
    expect(r.irq.level).toBe(true);
    expect(r.read(R.ICR) & ICR_RXT0).toBe(ICR_RXT0);
    expect(r.irq.level).toBe(false);
    expect(r.read(S.GPRC)).toBe(1);
    expect(r.read(S.GORCL)).toBe(204);
    expect(r.nic.counters).toMatchObject({ rxPackets: 1, rxBytes: 200 });
  });

  it('filters by address: other unicast dropped, broadcast with BAM, multicast by the MTA hash, promiscuous mode', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.wire.deliver(frameTo(Uint8Array.from([0x52, 0x54, 0, 0, 0, 1])));
    expect(r.read(R.RDH)).toBe(0);
    r.wire.deliver(frameTo(BROADCAST));
    expect(r.read(R.RDH)).toBe(1);
    const mcast = Uint8Array.from([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
    r.wire.deliver(frameTo(mcast));
    expect(r.read(R.RDH)).toBe(1);
    // Linux's hash for filter type 0: bits 47:36 of the address.
    const hash = ((mcast[4]! >> 4) | (mcast[5]! << 4)) & 0xfff;
    r.write(R.MTA + (hash >> 5) * 4, 1 << (hash & 31));
    r.wire.deliver(frameTo(mcast));
    expect(r.read(R.RDH)).toBe(2);
    r.write(R.RCTL, r.read(R.RCTL) | 0x8); // UPE
    r.wire.deliver(frameTo(Uint8Array.from([0x52, 0x54, 0, 0, 0, 1])));
    expect(r.read(R.RDH)).toBe(3);
    // A second unicast address in RAR[1].
    r.write(R.RCTL, r.read(R.RCTL) & ~0x8);
    r.write(R.RAL0 + 8, 0x04030202);
    r.write(R.RAH0 + 8, 0x80000605);
    r.wire.deliver(frameTo(Uint8Array.from([2, 2, 3, 4, 5, 6])));
    expect(r.read(R.RDH)).toBe(4);
    expect(r.read(S.BPRC)).toBe(1);
    expect(r.read(S.MPRC)).toBe(1);
  });

  it('pads runt frames to 60 bytes and drops oversized ones (ROC) unless long packets are enabled', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.wire.deliver(frameTo(MAC, 42));
    expect(r.rxDesc(0).length).toBe(64);
    r.wire.deliver(frameTo(MAC, 1600));
    expect(r.read(R.RDH)).toBe(1);
    expect(r.read(S.ROC)).toBe(1);
  });

  it('keeps frames in the packet buffer without descriptors, drops (MPC, RXO) when it is full, delivers on RDT', () => {
    const r = new NicRig();
    r.setupRx(8, 1);
    r.write(R.PBA, 1); // 1 KiB of receive buffer
    r.write(R.IMS, ICR_RXO | ICR_RXT0 | ICR_RXDMT0);
    r.wire.deliver(frameTo(MAC, 400, 1));
    expect(r.read(R.ICR) & (ICR_RXT0 | ICR_RXDMT0)).toBe(ICR_RXT0 | ICR_RXDMT0); // ring now empty
    r.wire.deliver(frameTo(MAC, 400, 2)); // waits in the buffer
    r.wire.deliver(frameTo(MAC, 400, 3)); // waits too (800 of 1024 bytes)
    r.wire.deliver(frameTo(MAC, 400, 4)); // no room: lost
    expect(r.read(S.RNBC)).toBe(3);
    expect(r.read(S.MPC)).toBe(1);
    expect(r.read(R.ICR) & ICR_RXO).toBe(ICR_RXO);
    expect(r.nic.counters.rxDropped).toBe(1);
    r.write(R.RDT, 3); // two more buffers
    expect(r.read(R.RDH)).toBe(3);
    expect(r.rxDesc(1).data.subarray(14, 400)).toEqual(bytes(386, 2));
    expect(r.rxDesc(2).data.subarray(14, 400)).toEqual(bytes(386, 3));
  });

  it('spreads a frame over several descriptors when the buffers are small (RCTL.BSIZE 256)', () => {
    const r = new NicRig();
    r.setupRx(8, 7, 3 << 16);
    const f = frameTo(MAC, 600);
    r.wire.deliver(f);
    const parts = [0, 1, 2].map((i) => r.rxDesc(i));
    expect(parts.map((p) => p.length)).toEqual([256, 256, 92]);
    expect(parts.map((p) => p.status & 3)).toEqual([1, 1, 3]);
    const joined = new Uint8Array(600);
    joined.set(r.memory.readBytes(RX_BUF, 256), 0);
    joined.set(r.memory.readBytes(RX_BUF + 2048, 256), 256);
    joined.set(r.memory.readBytes(RX_BUF + 4096, 88), 512);
    expect(joined).toEqual(f);
  });

  it('strips an 802.1Q tag into the special field when CTRL.VME is set', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.write(R.CTRL, r.read(R.CTRL) | (1 << 30));
    const inner = frameTo(MAC, 100);
    const tagged = new Uint8Array(104);
    tagged.set(inner.subarray(0, 12));
    tagged.set([0x81, 0x00, 0x00, 0x05], 12);
    tagged.set(inner.subarray(12), 16);
    r.wire.deliver(tagged);
    const d = r.rxDesc(0);
    expect(d.status & 0x08).toBe(0x08);
    expect(d.special).toBe(5);
    expect(d.data.subarray(0, 100)).toEqual(inner);
  });

  it('checks IPv4 and TCP/UDP checksums when RXCSUM asks (TCPCS/IPCS, TCPE/IPE), IXSM otherwise', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    const tcp = ipv4Packet({ proto: 6, payload: bytes(300), dst: MAC, src: PEER });
    const cs = ~inetSum(tcp, 34, tcp.length, pseudo(tcp, 14, 6, tcp.length - 34)) & 0xffff;
    tcp[50] = cs >> 8;
    tcp[51] = cs & 0xff;
    r.wire.deliver(tcp); // RXCSUM 0: nothing checked
    expect(r.rxDesc(0).status & 0x64).toBe(0x04);
    r.write(R.RXCSUM, (1 << 8) | (1 << 9) | 14); // IPOFL | TUOFL, packet checksum from byte 14
    r.wire.deliver(tcp);
    let d = r.rxDesc(1);
    expect(d.status & 0x64).toBe(0x60); // IPCS | TCPCS, no IXSM
    expect(d.errors).toBe(0);
    const raw = r.memory.read16(0x20000 + 16 + 10);
    expect(raw).toBe(inetSum(tcp, 14, tcp.length));
    const bad = tcp.slice();
    bad[100] ^= 0x40; // one flipped payload bit
    r.wire.deliver(bad);
    d = r.rxDesc(2);
    expect(d.status & 0x60).toBe(0x60);
    expect(d.errors).toBe(0x20); // TCPE
    const badIp = tcp.slice();
    badIp[22] = 1; // TTL changed without fixing the header checksum
    r.wire.deliver(badIp);
    expect(r.rxDesc(3).errors & 0x40).toBe(0x40); // IPE
    const arp = frameTo(MAC, 60);
    arp[12] = 0x08;
    arp[13] = 0x06;
    r.wire.deliver(arp);
    expect(r.rxDesc(4).status & 0x64).toBe(0x04); // not IPv4: not checked
    const udp0 = ipv4Packet({ proto: 17, payload: bytes(20), dst: MAC, src: PEER }); // UDP checksum 0 = none
    r.wire.deliver(udp0);
    expect(r.rxDesc(5).status & 0x64).toBe(0x40); // IP header checked, UDP not
  });

  it('ignores frames while the receiver is disabled', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.write(R.RCTL, 0);
    r.wire.deliver(frameTo(MAC));
    r.write(R.RCTL, 0x8002);
    expect(r.read(R.RDH)).toBe(0);
  });
});

describe('e1000: save and restore', () => {
  it('continues mid-traffic from a saved state: half-built TX packet, waiting RX frames, counters, interrupt', () => {
    const a = new NicRig();
    a.setupTx();
    a.setupRx(8, 1);
    a.write(R.IMS, ICR_RXT0 | ICR_TXDW);
    a.wire.deliver(frameTo(MAC, 300, 1));
    a.wire.deliver(frameTo(MAC, 300, 2)); // waits: no descriptor
    const pkt = ipv4Packet({ proto: 17, payload: bytes(100) });
    a.putTx(a.dataDesc(TX_BUF, pkt.subarray(0, 50), IFCS));
    a.kickTx(); // first half of a packet handed over, no EOP yet
    expect(a.wire.sent).toHaveLength(0);

    const state = deserialize(serialize(a.nic.saveState())) as Record<string, unknown>;
    const pciState = deserialize(serialize(a.pci.saveState())) as Record<string, unknown>;
    const b = new NicRig();
    b.memory.ram.set(a.memory.ram);
    b.pci.loadState(pciState);
    b.nic.loadState(state);
    b.txCount = a.txCount;
    b.txTail = a.txTail;
    expect(b.irq.level).toBe(true); // RXT0 still pending
    b.putTx(b.dataDesc(TX_BUF + 4096, pkt.subarray(50), EOP | IFCS | RS));
    b.kickTx();
    expect(b.wire.sent).toHaveLength(1);
    expect(b.wire.sent[0]).toEqual(pkt);
    b.write(R.RDT, 2);
    expect(b.rxDesc(1).data.subarray(14, 300)).toEqual(bytes(286, 2));
    expect(b.read(S.GPRC)).toBe(2);
    expect(b.nic.counters.rxPackets).toBe(2);
  });

  it('freezes receive DMA (paused or saving VM) and delivers what waited afterwards', () => {
    const r = new NicRig();
    r.setupRx(8, 7);
    r.nic.freeze(true);
    const before = r.memory.readBytes(RX_BUF, 2048);
    r.wire.deliver(frameTo(MAC, 100));
    expect(r.memory.readBytes(RX_BUF, 2048)).toEqual(before);
    expect(r.read(R.RDH)).toBe(0);
    r.nic.freeze(false);
    expect(r.read(R.RDH)).toBe(1);
  });
});

describe('e1000: bad input', () => {
  it('survives narrow and stray register accesses, bogus ring setups and unmapped buffers', () => {
    const r = new NicRig();
    expect(r.memory.read8(E1000_MMIO_BASE + R.RAL0)).toBe(0x52);
    expect(r.memory.read16(E1000_MMIO_BASE + R.RAL0 + 2)).toBe(0x1200);
    r.memory.write8(E1000_MMIO_BASE + R.ITR, 0x12);
    expect(r.read(R.ITR)).toBe(0x12);
    r.write(0x1fffc, 0xdeadbeef); // an unused register: stored, harmless
    r.write(S.GPRC, 1234); // counters are read-only
    expect(r.read(S.GPRC)).toBe(0);
    r.write(R.STATUS, 0);
    expect(r.read(R.STATUS) & 2).toBe(2);
    r.out32(E1000_IO_BASE, 0xffffffff); // IOADDR out of range wraps into the window
    r.in32(E1000_IO_BASE + 4);
    r.in8(E1000_IO_BASE + 5);
    // TX ring whose head points past its end: nothing happens, nothing breaks.
    r.setupTx(8);
    r.write(R.TDH, 100);
    r.write(R.TDT, 3);
    expect(r.wire.sent).toHaveLength(0);
    // A descriptor pointing at unmapped memory sends whatever the bus returns (all ones).
    r.write(R.TDH, 0);
    r.write(R.TDT, 0);
    const d = r.dataDesc(TX_BUF, frameTo(PEER), EOP | IFCS | RS);
    new DataView(d.buffer).setUint32(0, 0xf0000000, true);
    r.putTx(d);
    r.kickTx();
    expect(r.wire.sent).toHaveLength(1);
    expect(r.wire.sent[0]!.every((b) => b === 0xff)).toBe(true);
    // TSO context with MSS 0: the packet is dropped, not looped on.
    r.putTx(r.contextDesc({ tucss: 34, tucso: 50, tucmd: 0x07, hdrlen: 54, mss: 0 }));
    r.putTx(r.dataDesc(TX_BUF, ipv4Packet({ proto: 6, payload: bytes(500) }), EOP | TSE | RS, 3));
    r.kickTx();
    expect(r.wire.sent).toHaveLength(1);
    // The device still works.
    r.putTx(r.dataDesc(TX_BUF, frameTo(PEER), EOP | IFCS | RS));
    r.kickTx();
    expect(r.wire.sent).toHaveLength(2);
    // Receive with RDLEN 0: frames wait, nothing is written.
    r.write(R.RDLEN, 0);
    r.write(R.RCTL, 0x8002);
    r.wire.deliver(frameTo(MAC));
    expect(r.read(S.RNBC)).toBe(1);
    expect(r.memory.readBytes(RX_BUF, 64).every((b) => b === 0)).toBe(true);
  });

  it('rejects malformed MAC addresses with a clear message', () => {
    expect(() => parseMac('52:54:00:12:34')).toThrow(/not six hexadecimal bytes/);
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect([...parseMac('52-54-00-AB-cd-EF')]).toEqual([0x52, 0x54, 0, 0xab, 0xcd, 0xef]);
  });
});
