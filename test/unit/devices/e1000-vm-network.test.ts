// VmNetwork: the configured adapters become e1000 NICs on a real Machine's PCI bus, attached
// to backends; and one NIC attached to the real user-mode NAT answers an ARP request the way
// a guest would see it (transmit ring -> NAT -> receive ring), with the counters moving.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { E1000_MMIO_BASE } from '../../../src-core/engine/devices/e1000.ts';
import { R } from '../../../src-core/engine/devices/e1000-regs.ts';
import { Machine } from '../../../src-core/engine/machine.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { VmNetwork } from '../../../src-core/vmm/engines/vm-network.ts';
import { formatSample, StatsSampler } from '../../../src-core/vmm/stats.ts';
import { CaptureBackend, ethHeader } from './e1000-rig.ts';

const TX_RING = 0x10000;
const RX_RING = 0x20000;
const TX_BUF = 0x30000;
const RX_BUF = 0x40000;

function machine(): Machine {
  return new Machine({ memoryMiB: 16, createCpu: ({ memory, io }) => new Cpu(memory, io) });
}

function config(network: ReturnType<typeof newMachineConfig>['network']) {
  const c = newMachineConfig({ name: 'net', osType: 'Linux_64' });
  c.network = network;
  return c;
}

const cfgRead = (m: Machine, slot: number, reg: number): number => {
  m.io.write(0xcf8, 4, (0x80000000 | (slot << 11) | reg) >>> 0);
  return m.io.read(0xcfc, 4) >>> 0;
};

describe('VmNetwork', () => {
  it('builds one e1000 per enabled adapter at PCI slots 3, 4..., with the configured MACs, and warns about other models', async () => {
    const m = machine();
    const backends: CaptureBackend[] = [];
    const net = await VmNetwork.open(m, config([
      { slot: 1, enabled: true, attachment: 'nat', model: 'e1000', mac: '52:54:00:12:34:56', portForwards: [] },
      { slot: 2, enabled: false, attachment: 'nat', model: 'e1000', mac: '52:54:00:12:34:57', portForwards: [] },
      { slot: 3, enabled: true, attachment: 'nat', model: 'virtio-net', mac: '0A:48:47:01:02:03', portForwards: [] },
    ]), { backend: async () => { const b = new CaptureBackend(); backends.push(b); return b; } });
    expect(net.adapters.map((a) => a.nic.slot)).toEqual([3, 4]);
    expect(cfgRead(m, 3, 0)).toBe(0x100e8086);
    expect(cfgRead(m, 4, 0)).toBe(0x100e8086);
    expect(cfgRead(m, 5, 0)).toBe(0xffffffff);
    expect(net.warnings).toEqual([expect.stringMatching(/adapter 3: the engine has no virtio-net device yet; the guest gets an Intel e1000/)]);
    expect(net.describe()[1]).toContain('MAC 0a:48:47:01:02:03');
    // The second NIC's registers are in its own window, with its own address in RAR0.
    const bar = cfgRead(m, 4, 0x10);
    expect(bar).not.toBe(cfgRead(m, 3, 0x10));
    expect(m.memory.read32(bar + R.RAL0) >>> 0).toBe(0x0147480a);
    expect(m.devices.includes(net.adapters[1]!.nic)).toBe(true);
    expect(net.counters()).toEqual({ rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 });
    await net.close();
    expect(backends.every((b) => b.closed)).toBe(true);
  });

  it('has null counters and no devices without adapters; rejects a bad MAC naming the adapter', async () => {
    const m = machine();
    const net = await VmNetwork.open(m, config([]), { backend: async () => new CaptureBackend() });
    expect(net.counters()).toBeNull();
    await expect(VmNetwork.open(machine(), config([
      { slot: 2, enabled: true, attachment: 'nat', model: 'e1000', mac: 'zz:54:00:12:34:56', portForwards: [] },
    ]), { backend: async () => new CaptureBackend() })).rejects.toThrow(/network adapter 2: MAC address "zz:54:00:12:34:56" is not six hexadecimal bytes/);
  });

  it('carries an ARP request to the real NAT and its reply back into the receive ring', async () => {
    const m = machine();
    const mac = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    const net = await VmNetwork.open(m, config([
      { slot: 1, enabled: true, attachment: 'nat', model: 'e1000', mac: '52:54:00:12:34:56', portForwards: [] },
    ]));
    try {
      let woke = 0;
      net.onActivity = () => woke++;
      const w = (reg: number, v: number) => m.memory.write32(E1000_MMIO_BASE + reg, v);
      const r = (reg: number) => m.memory.read32(E1000_MMIO_BASE + reg) >>> 0;
      for (let i = 0; i < 8; i++) m.memory.write32(RX_RING + i * 16, RX_BUF + i * 2048);
      w(R.RDBAL, RX_RING);
      w(R.RDLEN, 128);
      w(R.RDT, 7);
      w(R.RCTL, 0x8002);
      w(R.TDBAL, TX_RING);
      w(R.TDLEN, 128);
      w(R.TCTL, 0xa);
      // Who has 10.0.2.2? Tell 10.0.2.15.
      const arp = new Uint8Array(42);
      arp.set(ethHeader(new Uint8Array(6).fill(0xff), mac, 0x0806));
      arp.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
      arp.set(mac, 22);
      arp.set([10, 0, 2, 15], 28);
      arp.set([10, 0, 2, 2], 38);
      m.memory.writeBytes(TX_BUF, arp);
      m.memory.write32(TX_RING, TX_BUF);
      m.memory.write32(TX_RING + 8, arp.length | ((0x01 | 0x02 | 0x08) << 24));
      w(R.TDT, 1);
      for (let i = 0; i < 100 && r(R.RDH) === 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(r(R.RDH)).toBe(1);
      const reply = m.memory.readBytes(RX_BUF, 42);
      expect([...reply.subarray(0, 6)]).toEqual([...mac]);
      expect((reply[12]! << 8) | reply[13]!).toBe(0x0806);
      expect((reply[20]! << 8) | reply[21]!).toBe(2); // ARP reply
      expect([...reply.subarray(28, 32)]).toEqual([10, 0, 2, 2]);
      expect(woke).toBeGreaterThan(0);
      const c = net.counters()!;
      expect(c.txPackets).toBe(1);
      expect(c.txBytes).toBe(60); // padded to the Ethernet minimum
      expect(c.rxPackets).toBe(1);
      expect(c.rxBytes).toBeGreaterThanOrEqual(42);
      expect(net.summary()[0]).toMatch(/^network adapter 1: received 1 frames \(\d+ bytes\), sent 1 frames \(60 bytes\), 0 TSO sends, 0 frames dropped/);
    } finally {
      await net.close();
    }
  });

  it('feeds the statistics sample (net counters copied, shown by hangar stats), null without adapters', () => {
    const sampler = new StatsSampler(1 << 20, 0, { user: 0, system: 0 });
    const net = { rxBytes: 300 * 1024, txBytes: 2048, rxPackets: 210, txPackets: 17 };
    const s = sampler.sample({ instructions: 1, net }, 1000, { user: 0, system: 0 }, 1 << 20);
    net.rxBytes = 0; // later changes to the live counters do not alter the sample
    expect(s.net).toEqual({ rxBytes: 300 * 1024, txBytes: 2048, rxPackets: 210, txPackets: 17 });
    expect(formatSample(s)).toContain('net rx 300 KiB/210 pkts tx 2.0 KiB/17 pkts');
    expect(formatSample(sampler.sample({ instructions: 2 }, 2000, { user: 0, system: 0 }, 1 << 20))).toContain('net n/a');
  });
});
