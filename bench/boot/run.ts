// Boot benchmark: wall time from process start to HANGAR-GUEST-READY on the serial console,
// measured in one run for
//   - `hangar run` (the TypeScript interpreter) with the uncompressed vmlinux,
//   - `hangar run` with the bzImage (its XZ decompressor runs on the interpreter),
//   - `qemu-system-x86_64 -M pc` with TCG (no KVM) and the bzImage,
// all with the guest kit's kernel, initramfs, command line and memory. Prints each time, the
// ratios against QEMU, and the host load average before and after (timings on a busy host are
// not comparable). For Hangar it also prints the CPU time the process used up to the marker
// (from /proc): a wall time well above it means the host was busy, not that Hangar was slow.
//
// Every child is spawned directly (no shell, no npx) so that the timeout and the end of a run
// kill exactly that process by its pid, and the benchmark waits until it is gone.
//
// Usage: npx tsx bench/boot/run.ts [--timeout-min N] [--bzimage-timeout-min N] [--runs N]
//                                  [--no-bzimage] [--no-vmlinux]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ensureGuestKit } from '../../scripts/guest-kit.ts';
import { READY_MARKER, timeQemuToMarker } from '../lib/qemu.ts';
import { extractVmlinux } from '../../test/integration/boot/guest-session.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const APPEND = 'console=ttyS0 hangar.action=poweroff';
const MEMORY_MIB = 256;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** CPU seconds (user + system) process `pid` has used, from /proc; undefined off Linux. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

interface Timing { ms: number; cpuS?: number }

/**
 * Spawn `hangar run` and time process start -> marker. The child is killed by its pid once the
 * marker shows (or on timeout / early exit) and reaped before this resolves or rejects.
 */
function timeHangar(kernel: string, initrd: string, timeoutMs: number): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [
      join(REPO, 'bin', 'hangar.mjs'), 'run', '--kernel', kernel, '--initrd', initrd,
      '--append', APPEND, '--memory', String(MEMORY_MIB), '--serial', 'stdio', '--no-reboot',
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let outcome: (() => void) | undefined;
    const settle = (fn: () => void) => {
      if (outcome) return;
      outcome = fn;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
      } else {
        fn(); // already exited: nothing to wait for
      }
    };
    const timer = setTimeout(() => settle(() => reject(new Error(
      `hangar: marker not seen within ${timeoutMs / 60_000} min\n${out.slice(-1500)}`))), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      if (out.includes(READY_MARKER)) {
        const ms = performance.now() - start;
        const cpuS = child.pid !== undefined ? cpuSeconds(child.pid) : undefined;
        settle(() => resolvePromise({ ms, cpuS }));
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) => settle(() => reject(new Error(`hangar: could not start: ${e.message}`))));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (outcome) outcome();
      else reject(new Error(`hangar exited (${code ?? signal}) before the marker\n${err}${out.slice(-1500)}`));
    });
  });
}

interface Row { what: string; ms?: number; cpuS?: number; error?: string }

async function main(): Promise<void> {
  const timeoutMs = Number(arg('--timeout-min') ?? 30) * 60_000;
  const bzTimeoutMs = Number(arg('--bzimage-timeout-min') ?? 90) * 60_000;
  const runs = Math.max(1, Number(arg('--runs') ?? 1));
  const kit = await ensureGuestKit({ log: (m) => process.stderr.write(`${m}\n`) });
  const vmlinux = kit.vmlinux ?? extractVmlinux(kit.kernel, kit.dir);
  console.log(`kernel ${kit.kernelVersion}, busybox ${kit.busyboxVersion}, ${MEMORY_MIB} MiB, append "${APPEND}"`);
  console.log(`load average at start: ${load()}`);
  const rows: Row[] = [];
  const measure = async (what: string, fn: () => Promise<Timing>) => {
    try {
      const { ms, cpuS } = await fn();
      rows.push({ what, ms, cpuS });
      const cpu = cpuS !== undefined ? `, process CPU ${cpuS.toFixed(1)} s` : '';
      console.log(`${what}: ${(ms / 1000).toFixed(2)} s${cpu}   (load ${load()})`);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      rows.push({ what, error });
      console.log(`${what}: FAILED ${error.split('\n')[0]}`);
    }
  };
  for (let i = 0; i < runs; i++) {
    await measure('qemu-system-x86_64 -M pc, TCG (bzImage)', async () =>
      ({ ms: (await timeQemuToMarker({ kernel: kit.kernel, initrd: kit.initramfs, append: APPEND, memoryMiB: MEMORY_MIB, timeoutMs: 300_000 })).ms }));
  }
  if (!process.argv.includes('--no-vmlinux')) {
    for (let i = 0; i < runs; i++) await measure('hangar run (vmlinux)', () => timeHangar(vmlinux, kit.initramfs, timeoutMs));
  }
  if (!process.argv.includes('--no-bzimage')) {
    for (let i = 0; i < runs; i++) await measure('hangar run (bzImage)', () => timeHangar(kit.kernel, kit.initramfs, bzTimeoutMs));
  }
  const best = (what: string) => {
    const ok = rows.filter((r) => r.what === what && r.ms !== undefined).map((r) => r.ms!);
    return ok.length ? Math.min(...ok) : undefined;
  };
  const qemu = best('qemu-system-x86_64 -M pc, TCG (bzImage)');
  console.log(`load average at end: ${load()}`);
  for (const what of ['hangar run (vmlinux)', 'hangar run (bzImage)']) {
    const h = best(what);
    if (h !== undefined && qemu !== undefined) console.log(`ratio ${what} / qemu (bzImage): ${(h / qemu).toFixed(1)}`);
  }
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
