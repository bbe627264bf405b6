// Host-side resource policy: process priority, CPU affinity, memory admission and the limit on
// running VMs. The manager (or `hangar start`) checks admission before it creates a VM
// process; the VM process applies priority and affinity to itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, freemem, setPriority } from 'node:os';
import { delimiter, join } from 'node:path';
import { HangarError } from '../api/errors.ts';

export type Priority = 'low' | 'normal' | 'high';
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high'];

/** Nice values: low yields to everything else, high needs root (CAP_SYS_NICE) on Linux. */
export const NICE: Record<Priority, number> = { low: 10, normal: 0, high: -5 };

export function applyPriority(pid: number, p: Priority): void {
  try {
    setPriority(pid, NICE[p]);
  } catch (err) {
    throw new HangarError('unsupported', `cannot set priority ${p} (nice ${NICE[p]}) on process ${pid}: ${(err as Error).message}${p === 'high' ? '; raising priority needs root or CAP_SYS_NICE' : ''}`);
  }
}

export function findOnPath(tool: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
}

/** Checks a core list against the host: every core must exist. */
export function checkAffinity(cores: readonly number[], hostCores = cpus().length): void {
  if (cores.length === 0) throw new HangarError('invalid-config', 'resources.affinity: an empty core list; give at least one host core or remove the setting');
  const bad = cores.filter((c) => !Number.isInteger(c) || c < 0 || c >= hostCores);
  if (bad.length) throw new HangarError('invalid-config', `resources.affinity: host core(s) ${bad.join(', ')} do not exist; this host has cores 0-${hostCores - 1}`);
}

/** Pins every thread of `pid` to `cores` with taskset. */
export function applyAffinity(pid: number, cores: readonly number[]): void {
  checkAffinity(cores);
  const taskset = findOnPath('taskset');
  if (!taskset) throw new HangarError('unsupported', 'CPU affinity needs the taskset tool (Debian package util-linux), which is not on PATH; install it or remove resources.affinity');
  const r = spawnSync(taskset, ['-a', '-p', '-c', cores.join(','), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new HangarError('io', `taskset could not pin process ${pid} to cores ${cores.join(',')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Host memory the kernel can give without swapping (MemAvailable), in bytes. */
export function availableMemoryBytes(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

export interface AdmissionPolicy {
  /** Memory kept for the host and the manager, MiB. */
  reserveMiB: number;
  /** How much of the free memory (after the reserve) VMs may claim, percent (100 = none overcommitted). */
  overcommitPercent: number;
  /** Most VMs running at once. */
  maxRunning: number;
}

export const DEFAULT_POLICY: AdmissionPolicy = { reserveMiB: 256, overcommitPercent: 100, maxRunning: 16 };

/** Policy from the environment (the CLI has no long-running manager to hold settings). */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): AdmissionPolicy {
  const num = (name: string, dflt: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new HangarError('usage', `${name}: ${JSON.stringify(v)} is not valid; allowed: a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    reserveMiB: num('HANGAR_MEMORY_RESERVE_MIB', DEFAULT_POLICY.reserveMiB, 0, 1 << 20),
    overcommitPercent: num('HANGAR_OVERCOMMIT_PERCENT', DEFAULT_POLICY.overcommitPercent, 1, 1000),
    maxRunning: num('HANGAR_MAX_RUNNING', DEFAULT_POLICY.maxRunning, 1, 1024),
  };
}

/** Throws when the VM may not start now; the message says how much is missing. */
export function checkAdmission(
  vm: { name: string; memoryMiB: number },
  running: number,
  policy: AdmissionPolicy,
  availableBytes = availableMemoryBytes(),
): void {
  if (running >= policy.maxRunning) {
    throw new HangarError('state', `cannot start "${vm.name}": ${running} VMs are running and the limit is ${policy.maxRunning} (HANGAR_MAX_RUNNING); stop one first`);
  }
  const availMiB = Math.floor(availableBytes / (1024 * 1024));
  const usable = Math.floor(((availMiB - policy.reserveMiB) * policy.overcommitPercent) / 100);
  if (vm.memoryMiB > usable) {
    throw new HangarError('state',
      `cannot start "${vm.name}": it needs ${vm.memoryMiB} MiB of RAM but only ${Math.max(0, usable)} MiB may be given to VMs ` +
      `(${availMiB} MiB available on the host, ${policy.reserveMiB} MiB reserved, overcommit ${policy.overcommitPercent}%); ` +
      `${vm.memoryMiB - Math.max(0, usable)} MiB missing. Free host memory, lower the VM's memory, or raise HANGAR_OVERCOMMIT_PERCENT.`,
      { neededMiB: vm.memoryMiB, usableMiB: usable, missingMiB: vm.memoryMiB - Math.max(0, usable) });
  }
}
