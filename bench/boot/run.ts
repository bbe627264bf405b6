// Boot benchmark: wall time from process start to HANGAR-GUEST-READY on the serial console,
// for `hangar run` (the TypeScript interpreter) and for `qemu-system-x86_64 -M pc` with TCG,
// same kernel, initramfs, command line and memory, measured in the same run. Prints both
// times and the ratio Hangar / QEMU.
//
// Usage: npx tsx bench/boot/run.ts [--timeout-min N] [--vmlinux] [--runs N]
//   --vmlinux  also time Hangar booting the uncompressed vmlinux from the same bzImage
//              (skips the XZ decompressor; QEMU still boots the bzImage)
import { spawn } from 'node:child_process';
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

/** Spawn `hangar run` and time process start -> marker. The child is ended by its pid. */
function timeHangar(kernel: string, initrd: string, timeoutMs: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [
      join(REPO, 'bin', 'hangar.mjs'), 'run', '--kernel', kernel, '--initrd', initrd,
      '--append', APPEND, '--memory', String(MEMORY_MIB), '--serial', 'stdio',
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      if (child.exitCode === null && child.pid !== undefined) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
      }
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(
      `hangar: marker not seen within ${timeoutMs / 1000} s\n${out.slice(-1500)}`))), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      if (out.includes(READY_MARKER)) finish(() => resolvePromise(performance.now() - start));
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => {
      if (!out.includes(READY_MARKER)) finish(() => reject(new Error(`hangar exited (${code}) before the marker\n${err}${out.slice(-1500)}`)));
    });
  });
}

async function main(): Promise<void> {
  const timeoutMs = Number(arg('--timeout-min') ?? 90) * 60_000;
  const runs = Number(arg('--runs') ?? 1);
  const kit = await ensureGuestKit({ log: (m) => process.stderr.write(`${m}\n`) });
  console.log(`kernel ${kit.kernelVersion}, busybox ${kit.busyboxVersion}, ${MEMORY_MIB} MiB, append "${APPEND}"`);
  const qemuTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const q = await timeQemuToMarker({ kernel: kit.kernel, initrd: kit.initramfs, append: APPEND, memoryMiB: MEMORY_MIB, timeoutMs: 300_000 });
    qemuTimes.push(q.ms);
    console.log(`qemu-system-x86_64 -M pc (TCG): ${(q.ms / 1000).toFixed(2)} s`);
  }
  const qemu = Math.min(...qemuTimes);
  const hangar = await timeHangar(kit.kernel, kit.initramfs, timeoutMs);
  console.log(`hangar run (bzImage): ${(hangar / 1000).toFixed(2)} s`);
  console.log(`ratio hangar/qemu (bzImage): ${(hangar / qemu).toFixed(1)}`);
  if (process.argv.includes('--vmlinux')) {
    const vmlinux = extractVmlinux(kit.kernel, kit.dir);
    const hv = await timeHangar(vmlinux, kit.initramfs, timeoutMs);
    console.log(`hangar run (vmlinux, no decompressor): ${(hv / 1000).toFixed(2)} s`);
    console.log(`ratio hangar(vmlinux)/qemu(bzImage): ${(hv / qemu).toFixed(1)}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
