// Statistics samples as chart series. Rates come from differences of the cumulative
// counters; a counter the engine does not have (null) stays null in every point, so the chart
// and the figures say "not available" instead of drawing a fake zero line.
import type { StatsSample } from '../../../src-core/api/runtime.ts';

export interface Series {
  /** Seconds since the epoch (uPlot's time axis). */
  t: number[];
  cpu: number[];
  guestMiB: number[];
  rssMiB: number[];
  mips: number[];
  diskReadKiBs: (number | null)[];
  diskWriteKiBs: (number | null)[];
  netRxKiBs: (number | null)[];
  netTxKiBs: (number | null)[];
  /** Whether any sample has the counter at all. */
  hasDisk: boolean;
  hasNet: boolean;
}

const MIB = 1048576;

function rate(cur: number | undefined, prev: number | undefined, dtS: number): number | null {
  if (cur === undefined || prev === undefined || dtS <= 0) return null;
  return Math.max(0, (cur - prev) / 1024 / dtS);
}

export function toSeries(samples: readonly StatsSample[]): Series {
  const s: Series = { t: [], cpu: [], guestMiB: [], rssMiB: [], mips: [], diskReadKiBs: [], diskWriteKiBs: [], netRxKiBs: [], netTxKiBs: [], hasDisk: false, hasNet: false };
  let prev: StatsSample | undefined;
  for (const x of samples) {
    const dt = prev ? (x.t - prev.t) / 1000 : 0;
    s.t.push(x.t / 1000);
    s.cpu.push(x.cpuPercent);
    s.guestMiB.push(x.guestRamBytes / MIB);
    s.rssMiB.push(x.rssBytes / MIB);
    s.mips.push(x.instructionsPerSec / 1e6);
    s.diskReadKiBs.push(rate(x.disk?.readBytes, prev?.disk?.readBytes, dt));
    s.diskWriteKiBs.push(rate(x.disk?.writeBytes, prev?.disk?.writeBytes, dt));
    s.netRxKiBs.push(rate(x.net?.rxBytes, prev?.net?.rxBytes, dt));
    s.netTxKiBs.push(rate(x.net?.txBytes, prev?.net?.txBytes, dt));
    if (x.disk) s.hasDisk = true;
    if (x.net) s.hasNet = true;
    prev = x;
  }
  return s;
}

/** Keep the samples of the last `seconds` before the newest one; appends stay in time order. */
export function appendSample(list: readonly StatsSample[], x: StatsSample, seconds: number): StatsSample[] {
  const last = list[list.length - 1];
  if (last && x.t <= last.t) return list as StatsSample[]; // a replay of what the history already has
  const out = [...list, x];
  const from = x.t - seconds * 1000;
  let i = 0;
  while (i < out.length && out[i]!.t < from) i++;
  return i ? out.slice(i) : out;
}

/** Figures for the text next to the charts; null means the counter is missing. */
export function figures(x: StatsSample | null | undefined, prev?: StatsSample): { cpu: string; memory: string; mips: string; disk: string | null; net: string | null } | null {
  if (!x) return null;
  const dt = prev ? (x.t - prev.t) / 1000 : 0;
  const kib = (v: number | null): string => (v === null ? '…' : `${v.toFixed(1)} KiB/s`);
  return {
    cpu: `${x.cpuPercent.toFixed(1)} %`,
    memory: `${(x.guestRamBytes / MIB).toFixed(0)} MiB guest, ${(x.rssBytes / MIB).toFixed(0)} MiB process`,
    mips: `${(x.instructionsPerSec / 1e6).toFixed(2)} MIPS`,
    disk: x.disk ? `read ${kib(rate(x.disk.readBytes, prev?.disk?.readBytes, dt))}, write ${kib(rate(x.disk.writeBytes, prev?.disk?.writeBytes, dt))}` : null,
    net: x.net ? `receive ${kib(rate(x.net.rxBytes, prev?.net?.rxBytes, dt))}, send ${kib(rate(x.net.txBytes, prev?.net?.txBytes, dt))}` : null,
  };
}
