// The statistics checked against independent measures, on a real VM process running the test
// program: the instruction count against the program's own loop counter in guest RAM (9
// instructions per iteration, read back from the saved state), and CPU% against the kernel's
// accounting of the VM process (/proc/PID/stat utime + stime) over the same seconds.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src-core/vmm/control-client.ts';
import { PROGRAM_COUNTER_ADDRESS, PROGRAM_READY_MARKER } from '../../../src-core/vmm/engines/boot-program.ts';
import type { StatsSample } from '../../../src-core/vmm/stats.ts';
import { readSavedState } from '../../../src-core/vmm/saved-state.ts';
import { vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { PROGRAM_BOOT, createProgramVm, serialCollector, tempLibrary } from './helpers.ts';

const lib = tempLibrary();
const manager = new VmManager(lib);
afterAll(() => manager.shutdown(), 30_000);

/** Instructions the program runs before its loop: 8 set-up, 5 per banner byte, 3 at the NUL. */
const PROLOGUE = 8 + 5 * `${PROGRAM_READY_MARKER}\r\n`.length + 3;
/** inc [counter]; mov dx; in ax; test ah; jnz; mov dx; in al; test al; jz (no input, no button). */
const PER_ITERATION = 9;

/** User + system CPU seconds the kernel charged to `pid` (fields 14 and 15 of /proc/PID/stat). */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state), so utime (14) and stime (15) are f[11] and f[12]; USER_HZ is 100 on Linux.
  return (Number(f[11]) + Number(f[12])) / 100;
}

describe('statistics accuracy', () => {
  it('counts exactly the instructions the guest retired', { timeout: 60_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'Counted');
    const files = vmFiles(path, config.uuid);
    const { vm } = await manager.start('Counted', { boot: PROGRAM_BOOT });
    const c = await ControlClient.connect(files.socket);
    const serial = serialCollector(c);
    await c.subscribe(['serial'], { backlog: true });
    await serial.waitFor(PROGRAM_READY_MARKER);
    await new Promise((r) => setTimeout(r, 1500));
    await c.request('pause');
    const live = (await c.request<{ instructions: number }>('query-stats')).instructions;
    await c.request('savestate');
    await vm!.exited;
    const ram = new Uint8Array(16 * 1024 * 1024);
    const saved = await readSavedState(files.savedState, ram, { ramIsZero: true });
    const engine = (saved.state as { engine: { instructions: number } }).engine;
    const counter = Buffer.from(ram.buffer).readUInt32LE(PROGRAM_COUNTER_ADDRESS);
    expect(counter).toBeGreaterThan(1000);
    // The pause lands anywhere inside an iteration: after the k-th of its 9 instructions.
    const k = engine.instructions - PROLOGUE - PER_ITERATION * (counter - 1);
    expect(k).toBeGreaterThanOrEqual(1);
    expect(k).toBeLessThanOrEqual(PER_ITERATION);
    // What query-stats reported is the same count the engine saved.
    expect(live).toBe(engine.instructions);
    c.close();
  });

  it('CPU% agrees with the kernel\'s accounting of the VM process; the rate is instructions over time', { timeout: 60_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'Timed', (c) => {
      c.resources = { cpuCap: 50 };
    });
    const { vm, pid } = await manager.start('Timed', { boot: PROGRAM_BOOT });
    const c = await ControlClient.connect(vmFiles(path, config.uuid).socket);
    const samples: { s: StatsSample; proc: number }[] = [];
    const enough = new Promise<void>((res) => {
      c.onEvent((ev) => {
        if (ev.event !== 'stats') return;
        samples.push({ s: ev.sample, proc: procCpuSeconds(pid) });
        if (samples.length >= 6) res();
      });
    });
    await c.subscribe(['stats']);
    await enough;
    // Skip the first sample (it covers the process start); compare the other intervals.
    const window = samples.slice(1);
    let sampledCpuS = 0;
    for (let i = 1; i < window.length; i++) {
      const a = window[i - 1]!.s;
      const b = window[i]!.s;
      const dt = (b.uptimeMs - a.uptimeMs) / 1000;
      sampledCpuS += (b.cpuPercent / 100) * dt;
      // The rate is the counter's growth over the interval (rounding only).
      expect(Math.abs(b.instructionsPerSec - (b.instructions - a.instructions) / dt)).toBeLessThan(0.02 * b.instructionsPerSec + 1000);
      expect(b.instructionsPerSec).toBeGreaterThan(0);
    }
    const procCpuS = window[window.length - 1]!.proc - window[0]!.proc;
    // /proc counts in 10 ms ticks and is read a moment after each sample: allow 15% + 60 ms.
    expect(Math.abs(sampledCpuS - procCpuS)).toBeLessThan(0.15 * procCpuS + 0.06);
    // The 50% cap holds the process near half a core (unless the host gives it less).
    const seconds = (window[window.length - 1]!.s.uptimeMs - window[0]!.s.uptimeMs) / 1000;
    expect(sampledCpuS / seconds).toBeLessThan(0.6);
    await manager.control('Timed', 'poweroff');
    await vm!.exited;
    c.close();
  });
});
