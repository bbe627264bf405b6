// Statistics of one VM, sampled every second inside its VM process, and the history of
// samples a manager keeps (an hour per VM at one sample a second).
//
// Counters that the VM does not have are null, never 0: a missing feature is reported as
// missing. `disk` sums every drive on the VM's IDE controller (null for a VM without drives);
// `net` sums every network adapter (null for a VM without one).

// The sample and counter types are the service API's (src-core/api/runtime.ts): one definition
// for the VM process, the control protocol, the CLI and the GUI.
import type { IoCounters, NetCounters, StatsSample } from '../api/runtime.ts';

export type { IoCounters, NetCounters, StatsSample };

export interface EngineCounters {
  instructions: number;
  disk?: IoCounters;
  net?: NetCounters;
}

/** Turns raw counters taken at two instants into a sample. Pure, so it can be tested. */
export class StatsSampler {
  private lastWall: number;
  private lastCpu: NodeJS.CpuUsage;
  private lastInstr = 0;
  private readonly startWall: number;

  constructor(private readonly guestRamBytes: number, now = performance.now(), cpu = process.cpuUsage()) {
    this.startWall = now;
    this.lastWall = now;
    this.lastCpu = cpu;
  }

  sample(c: EngineCounters, now = performance.now(), cpu = process.cpuUsage(), rss = process.memoryUsage.rss()): StatsSample {
    const dtMs = Math.max(1e-3, now - this.lastWall);
    const cpuUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    const s: StatsSample = {
      t: Date.now(),
      uptimeMs: Math.round(now - this.startWall),
      instructions: c.instructions,
      instructionsPerSec: Math.round(((c.instructions - this.lastInstr) * 1000) / dtMs),
      cpuPercent: Math.round(((cpuUs / 1000) * 1000) / dtMs) / 10,
      guestRamBytes: this.guestRamBytes,
      rssBytes: rss,
      disk: c.disk ? { ...c.disk } : null,
      net: c.net ? { ...c.net } : null,
    };
    this.lastWall = now;
    this.lastCpu = cpu;
    this.lastInstr = c.instructions;
    return s;
  }
}

/** A fixed-size ring of samples; the default holds an hour at one sample a second. */
export class StatsHistory {
  private readonly ring: (StatsSample | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = 3600) {
    this.ring = new Array(capacity);
  }

  push(s: StatsSample): void {
    this.ring[this.next] = s;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  latest(): StatsSample | undefined {
    return this.count ? this.ring[(this.next - 1 + this.capacity) % this.capacity] : undefined;
  }

  /** Samples newer than `sinceMs` ago (all when omitted), oldest first. */
  query(sinceMs?: number, now = Date.now()): StatsSample[] {
    const out: StatsSample[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!;
      if (sinceMs === undefined || s.t >= now - sinceMs) out.push(s);
    }
    return out;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** One line per sample, for `hangar stats`. */
export function formatSample(s: StatsSample): string {
  const mips = (s.instructionsPerSec / 1e6).toFixed(2);
  const disk = s.disk ? `disk r ${formatBytes(s.disk.readBytes)}/${s.disk.readOps} ops w ${formatBytes(s.disk.writeBytes)}/${s.disk.writeOps} ops` : 'disk n/a';
  const net = s.net ? `net rx ${formatBytes(s.net.rxBytes)}/${s.net.rxPackets} pkts tx ${formatBytes(s.net.txBytes)}/${s.net.txPackets} pkts` : 'net n/a';
  return `uptime ${(s.uptimeMs / 1000).toFixed(0)}s  guest ${mips} MIPS  cpu ${s.cpuPercent.toFixed(1)}%  ram ${formatBytes(s.guestRamBytes)}  rss ${formatBytes(s.rssBytes)}  ${disk}  ${net}`;
}
