// VMM benchmark. Prints, from one run on this machine:
//  1. start-to-marker: wall time from the start request to HANGAR-GUEST-READY on COM1 for a
//     library VM started through the VMM (own process, control socket) and for the same
//     kernel, initramfs and command line under `hangar run`; the difference is the VMM's
//     overhead (process start, config, socket, state files).
//  2. save state and restore of a 256 MiB guest: the time the VM process takes to write the
//     state file, the time to load it back into a fresh engine (target: under 1 s), and the
//     wall time of `start` on a Saved VM until it runs again.
//
// Usage: npx tsx bench/vmm/run.ts [--program] [--memory MIB]
//   --program  boot the built-in real-mode test program instead of Linux (seconds instead of
//              minutes; its RAM is mostly zero pages, so save/restore figures are a best case)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureGuestKit } from '../../scripts/guest-kit.ts';
import { Library } from '../../src-core/library/library.ts';
import { ControlClient } from '../../src-core/vmm/control-client.ts';
import { createDemoVm, demoKernel } from '../../src-core/vmm/demo-vm.ts';
import { bootProgram, PROGRAM_READY_MARKER } from '../../src-core/vmm/engines/boot-program.ts';
import type { BootSource } from '../../src-core/vmm/engines/vm-engine.ts';
import { vmFiles } from '../../src-core/vmm/vm-files.ts';
import { VmManager } from '../../src-core/vmm/vm-manager.ts';

const args = process.argv.slice(2);
const useProgram = args.includes('--program');
const memIdx = args.indexOf('--memory');
const memoryMiB = memIdx >= 0 ? Number(args[memIdx + 1]) : 256;
const REPO = resolve(import.meta.dirname, '..', '..');
const MARKER = useProgram ? PROGRAM_READY_MARKER : 'HANGAR-GUEST-READY';

function waitSerial(c: ControlClient, marker: string): Promise<void> {
  let buf = '';
  return new Promise((res) => {
    c.onEvent((ev) => {
      if (ev.event !== 'serial') return;
      buf += Buffer.from(ev.b64, 'base64').toString('latin1');
      if (buf.includes(marker)) res();
    });
  });
}

/** `hangar run` to the marker on its stdout, killed once seen. */
function hangarRunToMarker(kernel: string, initrd: string, cmdline: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'hangar.mjs'), 'run', '--kernel', kernel, '--initrd', initrd, '--append', cmdline, '--memory', String(memoryMiB)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes(MARKER)) {
        const ms = performance.now() - t0;
        child.kill('SIGKILL');
        res(ms);
      }
    });
    child.on('exit', (code) => {
      if (!out.includes(MARKER)) rej(new Error(`hangar run exited (${code}) before the marker; output tail: ${out.slice(-400)}`));
    });
  });
}

/**
 * What this host charges for the first touch of fresh memory (a page fault per 4 KiB page).
 * Saving reads every page of guest RAM and restoring writes every stored one, so on hosts
 * where faults are slow (nested virtualization) this dominates both figures.
 */
function firstTouchMsPer256MiB(): number {
  const a = new Int32Array(new ArrayBuffer(256 * 1024 * 1024));
  const t = performance.now();
  let s = 0;
  for (let i = 0; i < a.length; i += 1024) s += a[i]!;
  return performance.now() - t + s;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const loadBefore = load();
  const touchMs = firstTouchMsPer256MiB();
  const lib = new Library(mkdtempSync(join(tmpdir(), 'hangar-bench-vmm-')));
  const manager = new VmManager(lib);
  let boot: BootSource | undefined;
  let runMs: number | undefined;
  let name: string;
  if (useProgram) {
    boot = { kind: 'program', imageB64: Buffer.from(bootProgram()).toString('base64') };
    name = 'Bench Program';
    await lib.create({ name, osType: 'Other_64', memoryMiB, customize: (c) => { c.storage = []; c.network = []; c.display.controller = 'none'; } });
  } else {
    const kit = await ensureGuestKit();
    name = 'Bench Linux';
    const cmdline = 'console=ttyS0';
    await createDemoVm(lib, kit, { name, memoryMiB, cmdline });
    process.stderr.write('timing hangar run to the marker (interpreted Linux boot: minutes)...\n');
    runMs = await hangarRunToMarker(demoKernel(kit), kit.initramfs, cmdline);
  }
  const { path, config } = await lib.get(name);
  const files = vmFiles(path, config.uuid);

  process.stderr.write('timing VMM start to the marker...\n');
  const t0 = performance.now();
  const r1 = await manager.start(name, { ...(boot ? { boot } : {}), timeoutMs: 3_600_000 });
  const upMs = performance.now() - t0;
  const c = await ControlClient.connect(files.socket);
  const seen = waitSerial(c, MARKER);
  await c.subscribe(['serial'], { backlog: true });
  await seen;
  const markerMs = performance.now() - t0;

  const saved = await c.request<{ ms: number; dataPages: number }>('savestate');
  await r1.vm!.exited;
  const fileBytes = statSync(files.savedState).size;
  const t1 = performance.now();
  const r2 = await manager.start(name, { ...(boot ? { boot } : {}) });
  const restoreWallMs = performance.now() - t1;
  const restoreMs = Number(/restored from .* in (\d+) ms/.exec(readFileSync(files.log, 'utf8'))?.[1] ?? NaN);
  await manager.control(name, 'poweroff');
  await r2.vm!.exited;

  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`guest: ${useProgram ? 'real-mode test program' : 'Debian kernel + busybox initramfs'}, ${memoryMiB} MiB`);
  console.log(`VMM start -> Running:            ${fmt(upMs)}`);
  console.log(`VMM start -> marker:             ${fmt(markerMs)}`);
  if (runMs !== undefined) console.log(`hangar run -> marker:            ${fmt(runMs)}  (VMM overhead ${fmt(markerMs - runMs)}, ratio ${(markerMs / runMs).toFixed(2)})`);
  console.log(`save state (in the VM process):  ${saved.ms} ms, file ${(fileBytes / 1048576).toFixed(1)} MiB, ${saved.dataPages} non-zero pages of ${memoryMiB * 256}`);
  console.log(`restore (load into the engine):  ${restoreMs} ms  (target < 1000 ms: ${restoreMs < 1000 ? 'met' : 'NOT met'})`);
  console.log(`start of a Saved VM -> Running:  ${fmt(restoreWallMs)} (includes starting the VM process)`);
  console.log(`host calibration: first touch of 256 MiB of fresh memory takes ${touchMs.toFixed(0)} ms here`);
  // Timings taken on a shared host mean little without the load they were taken under.
  console.log(`load average (1/5/15 min): ${loadBefore} at the start, ${load()} at the end`);
}

await main();
