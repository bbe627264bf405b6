// A VM's configured network adapters, built as e1000 NICs on the engine's PCI bus and attached
// to their backends (user-mode NAT, src-core/net/user-net.ts). Adapter n of the enabled ones is
// PCI slot 3 + n. The engine emulates only the e1000 (82540EM) so far: adapters configured as
// another model get an e1000 instead, and a warning says so (every mainstream guest drives it).
//
// Also here: the byte and frame counters for statistics, holding receive DMA while the VM is
// paused or being saved, and closing the backends (host sockets, forwarded ports) at exit.
import { HangarError } from '../../api/errors.ts';
import type { Machine } from '../../engine/machine.ts';
import { E1000, E1000_FIRST_SLOT, formatMac, parseMac } from '../../engine/devices/e1000.ts';
import type { MachineConfig, NetworkAdapter } from '../../library/config.ts';
import type { NetBackend } from '../../net/backend.ts';
import { createUserNet } from '../../net/user-net.ts';
import type { NetCounters } from '../stats.ts';

/** Opens the backend an adapter's attachment asks for. Tests substitute their own. */
export type BackendFactory = (adapter: NetworkAdapter, log: (line: string) => void) => Promise<NetBackend>;

export const natBackend: BackendFactory = (a, log) => {
  if (a.attachment !== 'nat') throw new HangarError('unsupported', `network adapter ${a.slot}: attachment "${String(a.attachment)}" is not supported; use nat`);
  return createUserNet({ guestMac: a.mac, portForwards: a.portForwards, log });
};

export interface AttachedAdapter {
  slot: number;
  model: string;
  mac: string;
  nic: E1000;
  backend: NetBackend;
}

const MAX_ADAPTERS = 8;

export class VmNetwork {
  readonly adapters: AttachedAdapter[] = [];
  readonly warnings: string[] = [];

  private constructor(private readonly machine: Machine) {}

  /** Builds a NIC per enabled adapter and opens its backend; on failure closes what it opened. */
  static async open(machine: Machine, cfg: MachineConfig, opts: { log?: (line: string) => void; backend?: BackendFactory } = {}): Promise<VmNetwork> {
    const n = new VmNetwork(machine);
    try {
      await n.attachConfigured(cfg, opts.backend ?? natBackend, opts.log ?? (() => {}));
    } catch (err) {
      await n.close();
      throw err;
    }
    return n;
  }

  private async attachConfigured(cfg: MachineConfig, factory: BackendFactory, log: (line: string) => void): Promise<void> {
    const enabled = cfg.network.filter((a) => a.enabled);
    if (enabled.length > MAX_ADAPTERS) {
      throw new HangarError('invalid-config', `${enabled.length} network adapters are enabled; the engine supports at most ${MAX_ADAPTERS}`);
    }
    for (const [index, a] of enabled.entries()) {
      let mac: Uint8Array;
      try {
        mac = parseMac(a.mac);
      } catch (err) {
        throw new HangarError('invalid-config', `network adapter ${a.slot}: ${(err as Error).message}`);
      }
      if (a.model !== 'e1000') this.warnings.push(`network adapter ${a.slot}: the engine has no ${a.model} device yet; the guest gets an Intel e1000 (82540EM) instead`);
      const backend = await factory(a, (line) => log(`network adapter ${a.slot}: ${line}`)).catch((err: Error) => {
        throw err instanceof HangarError ? err : new HangarError('io', `network adapter ${a.slot}: cannot open the ${a.attachment} backend: ${err.message}`);
      });
      const irq = this.machine.pciIntx(E1000_FIRST_SLOT + index, 0); // INTA of the NIC's slot, routed as the DSDT says
      const nic = new E1000(this.machine.io, this.machine.memory, this.machine.pci, irq, { mac, index });
      this.machine.devices.push(nic);
      nic.attach(backend);
      this.adapters.push({ slot: a.slot, model: a.model, mac: formatMac(mac), nic, backend });
    }
  }

  /** One log line per adapter. */
  describe(): string[] {
    return this.adapters.map((a) => `network adapter ${a.slot}: e1000 (82540EM) at PCI 00:${a.nic.slot.toString(16).padStart(2, '0')}.0, MAC ${a.mac}, NAT`);
  }

  /** One log line per adapter with its traffic (written when the VM process ends). */
  summary(): string[] {
    return this.adapters.map(({ slot, nic }) => {
      const c = nic.counters;
      return `network adapter ${slot}: received ${c.rxPackets} frames (${c.rxBytes} bytes), sent ${c.txPackets} frames (${c.txBytes} bytes), ${nic.tx.tsoPackets} TSO sends, ${c.rxDropped} frames dropped for lack of receive buffers`;
    });
  }

  /** Wake-up hook for the run loop: a frame arrived for the guest. */
  set onActivity(cb: (() => void) | undefined) {
    for (const a of this.adapters) a.nic.onActivity = cb;
  }

  /** Sum over every adapter, or null when the VM has none (statistics). */
  counters(): NetCounters | null {
    if (this.adapters.length === 0) return null;
    const sum: NetCounters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };
    for (const { nic } of this.adapters) {
      sum.rxBytes += nic.counters.rxBytes;
      sum.txBytes += nic.counters.txBytes;
      sum.rxPackets += nic.counters.rxPackets;
      sum.txPackets += nic.counters.txPackets;
    }
    return sum;
  }

  /** Hold receive DMA (paused, saving): guest RAM must not change under a snapshot. */
  freeze(frozen: boolean): void {
    for (const a of this.adapters) a.nic.freeze(frozen);
  }

  /** Close every backend (host sockets, forwarded ports). */
  async close(): Promise<void> {
    for (const a of this.adapters) await a.backend.close().catch(() => {});
  }
}
