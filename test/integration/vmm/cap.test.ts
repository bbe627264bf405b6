// Execution cap: two VMs pinned to the same host core with caps of 25% and 75% share it in
// that ratio (within 15%). Both run the busy-loop guest program on the real engine, so each
// always wants the whole core and only the cap decides.
import { readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { PROGRAM_BOOT, createProgramVm, tempLibrary } from '../../unit/vmm/helpers.ts';

/** CPU time (user + system) of a process in clock ticks, from /proc. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const lib = tempLibrary();
const manager = new VmManager(lib);
afterAll(() => manager.shutdown());

describe('execution cap', () => {
  it('two VMs capped at 25% and 75% share one core 1:3 (within 15%)', async () => {
    await createProgramVm(lib, 'Cap25', (c) => (c.resources = { cpuCap: 25, affinity: [0], priority: 'high' }));
    await createProgramVm(lib, 'Cap75', (c) => (c.resources = { cpuCap: 75, affinity: [0], priority: 'high' }));
    const a = await manager.start('Cap25', { boot: PROGRAM_BOOT });
    const b = await manager.start('Cap75', { boot: PROGRAM_BOOT });
    // The host running the tests may be shared; lift both VM processes above other load so
    // the measurement is of the cap, not of the host's scheduler (together the VMs ask for
    // one core, so nothing else starves). With Linux autogroups, nice only ranks processes of
    // one session against each other, so the session's group is raised too where allowed.
    for (const pid of [a.pid, b.pid]) {
      setPriority(pid, -19);
      try {
        writeFileSync(`/proc/${pid}/autogroup`, '-19');
      } catch {
        // no autogroups or no permission: the plain nice value has to do
      }
    }
    await new Promise((r) => setTimeout(r, 2000));
    const a0 = cpuTicks(a.pid);
    const b0 = cpuTicks(b.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 8000));
    const secs = (performance.now() - t0) / 1000;
    const da = cpuTicks(a.pid) - a0;
    const db = cpuTicks(b.pid) - b0;
    const ratio = db / da;
    // eslint-disable-next-line no-console
    console.log(`cap 25%: ${(da / secs).toFixed(1)} ticks/s, cap 75%: ${(db / secs).toFixed(1)} ticks/s, ratio ${ratio.toFixed(2)} (want 3)`);
    expect(ratio).toBeGreaterThan(3 * 0.85);
    expect(ratio).toBeLessThan(3 * 1.15);
    const status = await manager.control<{ cpuCap: number; priority: string }>('Cap25', 'query-status');
    expect(status).toMatchObject({ cpuCap: 25, priority: 'high' });
    await manager.control('Cap25', 'poweroff');
    await manager.control('Cap75', 'poweroff');
    await Promise.all([a.vm!.exited, b.vm!.exited]);
    try {
      writeFileSync(`/proc/${process.pid}/autogroup`, '0');
    } catch {
      // as above
    }
  });
});
