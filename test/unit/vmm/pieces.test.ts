// The VMM's pure parts: state machine, protocol parsing, saved-state file, stats history,
// log rotation, admission policy, state-file interpretation.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import { assertOperation, assertTransition, canTransition, VM_STATES } from '../../../src-core/vmm/states.ts';
import { LineDecoder, parseRequest } from '../../../src-core/vmm/protocol.ts';
import { readSavedState, readSavedStateHeader, writeSavedState } from '../../../src-core/vmm/saved-state.ts';
import { StatsHistory, StatsSampler, type StatsSample } from '../../../src-core/vmm/stats.ts';
import { VmLog, tailLog } from '../../../src-core/vmm/vm-log.ts';
import { checkAdmission, checkAffinity, policyFromEnv } from '../../../src-core/vmm/host-resources.ts';
import { effectiveState, vmFiles, writePersistedState } from '../../../src-core/vmm/vm-files.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'hvmmp-'));

describe('lifecycle state machine', () => {
  it('allows the VirtualBox-style transitions and rejects the rest with a state error', () => {
    expect(canTransition('PoweredOff', 'Starting')).toBe(true);
    expect(canTransition('Running', 'Paused')).toBe(true);
    expect(canTransition('Saved', 'Restoring')).toBe(true);
    expect(canTransition('PoweredOff', 'Running')).toBe(false);
    expect(canTransition('Saved', 'Running')).toBe(false);
    expect(() => assertTransition('PoweredOff', 'Paused')).toThrow(HangarError);
    try {
      assertOperation('resume', 'Running');
    } catch (err) {
      expect((err as HangarError).code).toBe('state');
      expect((err as HangarError).message).toBe('cannot resume: the VM is Running; resume needs the VM to be Paused');
    }
    // Every state can be left somehow (no dead ends).
    for (const s of VM_STATES) expect(VM_STATES.some((t) => canTransition(s, t))).toBe(true);
  });
});

describe('control protocol parsing', () => {
  it('accepts well-formed requests and names what is wrong otherwise', () => {
    expect(parseRequest('{"id":7,"cmd":"pause"}')).toEqual({ id: 7, cmd: 'pause', args: undefined });
    expect(() => parseRequest('{')).toThrow(/not valid JSON/);
    expect(() => parseRequest('{"cmd":"explode"}')).toThrow(/unknown command "explode"; allowed: query-status/);
    expect(() => parseRequest('{"cmd":"pause","args":[1]}')).toThrow(/"args" must be an object/);
    expect(() => parseRequest('{"id":{},"cmd":"pause"}')).toThrow(/"id" must be a number or a string/);
  });

  it('splits lines across chunks and refuses over-long lines', () => {
    const lines: string[] = [];
    const d = new LineDecoder((l) => lines.push(l), 64);
    d.push('{"a":');
    d.push('1}\n\n{"b":2}\r\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(() => d.push('x'.repeat(100))).toThrow(/longer than 64 bytes/);
  });
});

describe('saved-state file', () => {
  it('round-trips engine state and RAM, storing only non-zero pages', async () => {
    const dir = tmp();
    const file = join(dir, 's.hgs');
    const ram = new Uint8Array(1024 * 1024);
    ram[5] = 1;
    ram[4096 * 100 + 4095] = 0xaa;
    ram[ram.length - 1] = 0x55;
    const state = { cpu: { rip: 0x7c00, regs: new Int32Array([1, -2, 3]) }, clock: 12.5 };
    const h = await writeSavedState(file, { uuid: 'u-1', engine: 'program' }, state, ram);
    expect(h.dataPages).toBe(3);
    expect(statSync(file).size).toBeLessThan(4 * 4096 + 1024);
    const into = new Uint8Array(ram.length).fill(0x11); // stale contents must be overwritten
    const back = await readSavedState(file, into);
    expect(Buffer.compare(Buffer.from(into), Buffer.from(ram))).toBe(0);
    expect(back.state).toEqual(state);
    expect((await readSavedStateHeader(file)).header.uuid).toBe('u-1');
  });

  it('refuses damaged or mismatched files with clear errors', async () => {
    const dir = tmp();
    const file = join(dir, 's.hgs');
    const ram = new Uint8Array(64 * 1024).fill(7);
    await writeSavedState(file, { uuid: 'u', engine: 'program' }, { a: 1 }, ram);
    await expect(readSavedState(file, new Uint8Array(128 * 1024))).rejects.toThrow(/for 0.0625 MiB of guest RAM but the VM now has 0.125 MiB/);
    truncateSync(file, statSync(file).size - 10);
    await expect(readSavedState(file, new Uint8Array(64 * 1024))).rejects.toThrow(/damaged: size .* expected/);
    writeFileSync(file, 'not a save');
    await expect(readSavedStateHeader(file)).rejects.toThrow(/bad magic/);
    await expect(readSavedStateHeader(join(dir, 'none'))).rejects.toThrow(/cannot open saved state/);
  });
});

describe('statistics', () => {
  const sample = (t: number): StatsSample => ({
    t, uptimeMs: 0, instructions: 0, instructionsPerSec: 0, cpuPercent: 0, guestRamBytes: 0, rssBytes: 0, disk: null, net: null,
  });

  it('keeps the newest samples up to its capacity and answers time-window queries', () => {
    const h = new StatsHistory(5);
    for (let i = 1; i <= 8; i++) h.push(sample(i * 1000));
    expect(h.size).toBe(5);
    expect(h.query().map((s) => s.t)).toEqual([4000, 5000, 6000, 7000, 8000]);
    expect(h.query(2000, 8000).map((s) => s.t)).toEqual([6000, 7000, 8000]);
    expect(h.latest()!.t).toBe(8000);
    expect(new StatsHistory().capacity).toBe(3600);
  });

  it('computes rates from counters', () => {
    const s = new StatsSampler(1 << 20, 0, { user: 0, system: 0 });
    const out = s.sample({ instructions: 5_000_000 }, 1000, { user: 400_000, system: 100_000 }, 123);
    expect(out.instructionsPerSec).toBe(5_000_000);
    expect(out.cpuPercent).toBe(50);
    expect(out.rssBytes).toBe(123);
    expect(out.disk).toBeNull();
    const out2 = s.sample({ instructions: 6_000_000, disk: { readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4 } }, 3000, { user: 500_000, system: 100_000 }, 1);
    expect(out2.instructionsPerSec).toBe(500_000);
    expect(out2.cpuPercent).toBe(5);
    expect(out2.disk).toEqual({ readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4 });
  });
});

describe('VM log', () => {
  it('rotates on start keeping three older logs', () => {
    const p = join(tmp(), 'Logs', 'hangar.log');
    for (let i = 1; i <= 5; i++) {
      const log = VmLog.fresh(p);
      log.info(`run ${i}`);
      log.close();
    }
    expect(readFileSync(p, 'utf8')).toContain('run 5');
    expect(readFileSync(`${p}.1`, 'utf8')).toContain('run 4');
    expect(readFileSync(`${p}.3`, 'utf8')).toContain('run 2');
    expect(existsSync(`${p}.4`)).toBe(false);
    expect(tailLog(p, 1)[0]).toMatch(/INFO  run 5$/);
  });

  it('rotates when the log outgrows its limit', () => {
    const p = join(tmp(), 'hangar.log');
    const log = new VmLog(p, 200);
    for (let i = 0; i < 10; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
    log.close();
    expect(statSync(p).size).toBeLessThanOrEqual(200);
    expect(existsSync(`${p}.1`)).toBe(true);
    expect(readFileSync(p, 'utf8')).toContain('line 9');
  });
});

describe('admission and resources', () => {
  const policy = { reserveMiB: 256, overcommitPercent: 100, maxRunning: 2 };
  const MiB = 1024 * 1024;

  it('admits a VM that fits and says how much is missing otherwise', () => {
    expect(() => checkAdmission({ name: 'a', memoryMiB: 512 }, 0, policy, 1024 * MiB)).not.toThrow();
    expect(() => checkAdmission({ name: 'big', memoryMiB: 1024 }, 0, policy, 1024 * MiB)).toThrow(
      /cannot start "big": it needs 1024 MiB of RAM but only 768 MiB may be given to VMs \(1024 MiB available on the host, 256 MiB reserved, overcommit 100%\); 256 MiB missing/);
    expect(() => checkAdmission({ name: 'big', memoryMiB: 1024 }, 0, { ...policy, overcommitPercent: 150 }, 1024 * MiB)).not.toThrow();
  });

  it('enforces the limit on running VMs', () => {
    expect(() => checkAdmission({ name: 'c', memoryMiB: 16 }, 2, policy, 8192 * MiB)).toThrow(/2 VMs are running and the limit is 2/);
  });

  it('reads the policy from the environment and rejects bad values', () => {
    expect(policyFromEnv({ HANGAR_MAX_RUNNING: '3', HANGAR_OVERCOMMIT_PERCENT: '200' })).toEqual({ reserveMiB: 256, overcommitPercent: 200, maxRunning: 3 });
    expect(() => policyFromEnv({ HANGAR_MAX_RUNNING: 'many' })).toThrow(/HANGAR_MAX_RUNNING: "many" is not valid/);
  });

  it('checks affinity against the host cores', () => {
    expect(() => checkAffinity([0], 2)).not.toThrow();
    expect(() => checkAffinity([0, 5], 2)).toThrow(/host core\(s\) 5 do not exist; this host has cores 0-1/);
    expect(() => checkAffinity([], 2)).toThrow(/empty core list/);
  });
});

describe('persisted state', () => {
  it('turns a live state whose process is gone into Aborted', async () => {
    const dir = tmp();
    const files = vmFiles(join(dir, 'x.hangar'), '01234567-aaaa-bbbb-cccc-0123456789ab');
    expect((await effectiveState(files)).state).toBe('PoweredOff');
    await writePersistedState(files, { state: 'Running', pid: 2 ** 22 + 12345, socket: files.socket });
    const s = await effectiveState(files);
    expect(s.state).toBe('Aborted');
    expect(s.reason).toMatch(/ended while the VM was Running/);
    await writePersistedState(files, { state: 'Running', pid: process.pid, socket: files.socket });
    expect((await effectiveState(files)).state).toBe('Running');
    writeFileSync(files.stateFile, '{"state":"Flying"}');
    await expect(effectiveState(files)).rejects.toThrow(/unknown state "Flying"/);
  });

  it('puts the control socket in the temporary folder when the VM folder path is too long', () => {
    const deep = join('/tmp', 'a'.repeat(120), 'vm.hangar');
    const f = vmFiles(deep, '01234567-aaaa-bbbb-cccc-0123456789ab');
    expect(f.socket.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(f.socket)).toBeLessThan(100);
  });
});

describe('guest panic detection', () => {
  it('finds a panic line split across serial chunks, once', async () => {
    const { PanicDetector } = await import('../../../src-core/vmm/panic-detector.ts');
    const d = new PanicDetector();
    expect(d.push('[ 1.0] VFS: Cannot open root device\r\n[ 1.1] Kernel pan')).toBeUndefined();
    expect(d.push('ic - not syncing: VFS: Unable to mount root fs\r\n[ 1.2] CPU: 0')).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs');
    expect(d.push(' PID: 1 more output')).toBeUndefined();
    expect(d.push('ordinary boot messages')).toBeUndefined();
  });
});
