// A real VM process running the real engine (CPU, PIC, UART, ACPI PM) on a hand-assembled
// real-mode program, driven through its control socket: the whole lifecycle.
import { statSync, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src-core/vmm/control-client.ts';
import { VmManager, type VmExit } from '../../../src-core/vmm/vm-manager.ts';
import { effectiveState, pidAlive, vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { tsxImport } from '../../../src-core/vmm/launcher.ts';
import { readSavedStateHeader } from '../../../src-core/vmm/saved-state.ts';
import type { StatusResult } from '../../../src-core/vmm/protocol.ts';
import { PROGRAM_COUNTER_ADDRESS, PROGRAM_READY_MARKER } from '../../../src-core/vmm/engines/boot-program.ts';
import { PROGRAM_BOOT, createProgramVm, serialCollector, tempLibrary, waitForEvent } from './helpers.ts';

const lib = tempLibrary();
const exits: VmExit[] = [];
const manager = new VmManager(lib, { onExit: (e) => exits.push(e) });

afterAll(async () => {
  await manager.shutdown();
});

describe('VM lifecycle on the real engine', () => {
  it('starts, pauses, resumes, saves, restores and powers off through the ACPI button', { timeout: 90_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'Life');
    const files = vmFiles(path, config.uuid);
    const { vm, state } = await manager.start('Life', { boot: PROGRAM_BOOT });
    expect(state).toBe('Running');
    expect(statSync(files.socket).mode & 0o777).toBe(0o600);
    expect((await effectiveState(files)).state).toBe('Running');

    const c = await ControlClient.connect(files.socket);
    const serial = serialCollector(c);
    await c.subscribe(['serial', 'state'], { backlog: true });
    await serial.waitFor(PROGRAM_READY_MARKER);

    // Pause: the guest stops retiring instructions.
    const paused = await c.request<StatusResult>('pause');
    expect(paused.state).toBe('Paused');
    const s1 = await c.request<{ instructions: number }>('query-stats');
    await new Promise((r) => setTimeout(r, 2300));
    const s2 = await c.request<{ instructions: number; current: { instructionsPerSec: number } }>('query-stats');
    expect(s1.instructions).toBeGreaterThan(0);
    expect(s2.instructions).toBe(s1.instructions);
    expect(s2.current.instructionsPerSec).toBe(0);
    await expect(c.request('pause')).rejects.toThrow(/cannot pause: the VM is Paused/);

    // Resume: serial input is echoed by the guest program.
    expect((await c.request<StatusResult>('resume')).state).toBe('Running');
    await c.request('serial-input', { text: 'ping' });
    await serial.waitFor(`${PROGRAM_READY_MARKER}\r\nping`);

    // Save state: the process exits, the VM is Saved with a file in Snapshots/.
    const saved = await c.request<{ state: string; file: string }>('savestate');
    expect(saved.state).toBe('Saved');
    const e1 = await vm!.exited;
    expect(e1.code).toBe(0);
    expect(e1.state).toBe('Saved');
    expect((await effectiveState(files)).state).toBe('Saved');
    const { header } = await readSavedStateHeader(files.savedState);
    expect(header.uuid).toBe(config.uuid);
    expect(header.ramBytes).toBe(16 * 1024 * 1024);
    expect(existsSync(files.socket)).toBe(false);

    // Restore: the guest continues (its counter keeps counting up from the saved value and
    // the program does not print its banner again).
    const again = await manager.start('Life', { boot: PROGRAM_BOOT });
    expect(again.state).toBe('Running');
    expect(existsSync(files.savedState)).toBe(false);
    const c2 = await ControlClient.connect(files.socket);
    const serial2 = serialCollector(c2);
    await c2.subscribe(['serial', 'state']);
    await c2.request('serial-input', { text: 'back' });
    await serial2.waitFor('back');
    expect(serial2.text()).not.toContain(PROGRAM_READY_MARKER);
    expect(readFileSync(files.log, 'utf8')).toMatch(/restored from .* in \d+ ms/);

    // ACPI power button: the guest sees PWRBTN_STS and powers off through PM1 control.
    const off = waitForEvent(c2, (ev) => ev.event === 'state' && ev.state === 'PoweredOff');
    await c2.request('acpi-powerbutton');
    await off;
    const e2 = await again.vm!.exited;
    expect(e2.state).toBe('PoweredOff');
    expect(e2.reason).toMatch(/guest powered off/);
    expect((await effectiveState(files)).state).toBe('PoweredOff');
    c.close();
    c2.close();
  });

  it('rejects illegal transitions and bad commands with clear errors', async () => {
    const { path, config } = await createProgramVm(lib, 'Strict');
    const files = vmFiles(path, config.uuid);
    await expect(manager.discardState('Strict')).rejects.toThrow(/cannot discardstate: the VM is PoweredOff/);
    await expect(manager.control('Strict', 'pause')).rejects.toThrow(/not running/);
    const { vm } = await manager.start('Strict', { boot: PROGRAM_BOOT });
    await expect(manager.start('Strict', { boot: PROGRAM_BOOT })).rejects.toThrow(/already Running/);
    const c = await ControlClient.connect(files.socket);
    await expect(c.request('resume')).rejects.toThrow(/cannot resume: the VM is Running; resume needs the VM to be Paused/);
    await expect(c.request('serial-input', { text: 'a', b64: 'YQ==' })).rejects.toThrow(/exactly one of/);
    await expect(c.request('query-stats', { history: -1 })).rejects.toThrow(/"history" must be a whole number from 0 to 3600/);
    await expect(c.request('attach-media', { controller: 'SATA', port: 0, path: '/x.iso' })).rejects.toThrow(/attach-media: no drive at controller "SATA" port 0; attached drives: none/);
    // Malformed lines get an error response, and the connection stays usable.
    const errors: string[] = [];
    const raw = await ControlClient.connect(files.socket);
    const got = new Promise<void>((res) => {
      (raw as unknown as { socket: import('node:net').Socket }).socket.on('data', (d: Buffer) => {
        errors.push(d.toString());
        if (errors.join('').split('\n').length > 3) res();
      });
    });
    raw.writeRaw('not json\n{"cmd":"fly"}\n[1]\n');
    await got;
    const text = errors.join('');
    expect(text).toContain('not valid JSON');
    expect(text).toContain('unknown command \\"fly\\"; allowed: query-status');
    expect(text).toContain('must be a JSON object');
    expect((await raw.request<StatusResult>('query-status')).state).toBe('Running');
    raw.close();
    await c.request('poweroff');
    expect((await vm!.exited).state).toBe('PoweredOff');
    c.close();
  });

  it('a VM process killed with SIGKILL becomes Aborted and the manager carries on', { timeout: 90_000 }, async () => {
    await createProgramVm(lib, 'Victim');
    const { path, config } = await createProgramVm(lib, 'Bystander');
    const victim = await manager.start('Victim', { boot: PROGRAM_BOOT });
    const bystander = await manager.start('Bystander', { boot: PROGRAM_BOOT });
    process.kill(victim.pid, 'SIGKILL');
    const e = await victim.vm!.exited;
    expect(e.state).toBe('Aborted');
    expect(e.signal).toBe('SIGKILL');
    expect(e.reason).toContain('killed by SIGKILL');
    expect(e.lastLogLines.join('\n')).toContain('state Starting -> Running');
    expect(exits.some((x) => x.name === 'Victim' && x.state === 'Aborted')).toBe(true);
    expect((await manager.control<StatusResult>('Bystander', 'query-status')).state).toBe('Running');
    // The manager keeps the statistics history of the VMs it supervises.
    await new Promise((r) => setTimeout(r, 2500));
    const hist = manager.history(config.uuid, 3600);
    expect(hist.length).toBeGreaterThan(0);
    expect(hist[hist.length - 1]!.instructions).toBeGreaterThan(0);
    expect(hist[hist.length - 1]!.guestRamBytes).toBe(16 * 1024 * 1024);
    // Aborted is persisted and a new start is allowed.
    const victimCfg = await lib.get('Victim');
    expect((await effectiveState(vmFiles(victimCfg.path, victimCfg.config.uuid))).state).toBe('Aborted');
    const again = await manager.start('Victim', { boot: PROGRAM_BOOT });
    expect(again.state).toBe('Running');
    await manager.control('Victim', 'poweroff');
    await again.vm!.exited;
    await manager.control('Bystander', 'poweroff');
    expect((await bystander.vm!.exited).state).toBe('PoweredOff');
    expect((await effectiveState(vmFiles(path, config.uuid))).state).toBe('PoweredOff');
  });

  it('a supervised VM powers off when its manager exits', { timeout: 90_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'Orphan');
    const r = spawnSync(process.execPath, ['--import', tsxImport(), join(import.meta.dirname, 'fixtures', 'manager-exits.ts'), lib.home, 'Orphan'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    const files = vmFiles(path, config.uuid);
    for (let i = 0; i < 200 && pidAlive(pid); i++) await new Promise((res) => setTimeout(res, 50));
    expect(pidAlive(pid)).toBe(false);
    const s = await effectiveState(files);
    expect(s).toMatchObject({ state: 'PoweredOff', reason: 'the manager exited' });
  });
});

