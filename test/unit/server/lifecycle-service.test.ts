// The running-VM half of the service against a real VM process (the real engine running the
// hand-assembled program that prints a marker and echoes serial input), started detached as
// `hangar start --headless` does: the service sees it through its control socket only.
import { afterAll, describe, expect, it } from 'vitest';
import type { HangarEvent } from '../../../src-core/api/service.ts';
import { createHangarService } from '../../../src-core/server/lifecycle-service.ts';
import { dispatch } from '../../../src-core/server/dispatch.ts';
import { PROGRAM_READY_MARKER } from '../../../src-core/vmm/engines/boot-program.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { effectiveState, pidAlive, vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { createProgramVm, PROGRAM_BOOT, tempLibrary } from '../vmm/helpers.ts';

const lib = tempLibrary();
const events: HangarEvent[] = [];
const handle = createHangarService(lib, { onEvent: (e) => events.push(e), pollMs: 0 });
const { service, hub } = handle;
let pid = 0;

afterAll(async () => {
  await handle.close();
  if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
});

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function consoleText(uuid: string): string {
  return events.filter((e) => e.type === 'console' && e.uuid === uuid)
    .map((e) => (e.type === 'console' ? Buffer.from(e.chunk.b64, 'base64').toString('latin1') : '')).join('');
}

describe('lifecycle service', () => {
  it('sees a VM started elsewhere, streams its console, pauses, resumes, saves its state and discards it', { timeout: 90_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'Headless');
    const uuid = config.uuid;
    expect((await service.listMachines({}))[0]).toMatchObject({ uuid, runtime: { state: 'PoweredOff' } });

    // Started by another process, as `hangar start --headless` does.
    const started = await new VmManager(lib).start('Headless', { boot: PROGRAM_BOOT, detached: true });
    pid = started.pid;
    await hub.sync();
    expect((await service.listMachines({}))[0]).toMatchObject({ runtime: { state: 'Running' } });
    expect(events).toContainEqual({ type: 'vm-state', uuid, state: 'Running' });

    // Starting it again says what is wrong.
    await expect(service.startMachine({ ref: uuid })).rejects.toThrow(/already Running/);
    // Removing a running VM is refused.
    await expect(service.deleteMachine({ ref: uuid })).rejects.toMatchObject({ code: 'state' });

    // Console: the subscription answers with the output so far; input comes back as echo.
    const sub = await until('the marker', async () => {
      const r = await service.consoleSubscribe({ ref: uuid });
      const text = Buffer.from(r.data.b64, 'base64').toString('latin1');
      return text.includes(PROGRAM_READY_MARKER) ? r : (await service.consoleUnsubscribe({ ref: uuid }), undefined);
    });
    expect(sub.end).toBeGreaterThanOrEqual(PROGRAM_READY_MARKER.length);
    expect(await service.consoleInput({ ref: uuid, text: 'xyz' })).toEqual({ bytes: 3 });
    await until('the echo', () => consoleText(uuid).includes('xyz'));
    const chunk = events.find((e) => e.type === 'console');
    expect(chunk?.type === 'console' && chunk.chunk.offset).toBeGreaterThanOrEqual(sub.end);

    // Statistics: live samples as events, and the history from the VM.
    await until('a stats event', () => events.some((e) => e.type === 'vm-stats' && e.uuid === uuid));
    const stats = await service.machineStats({ ref: uuid, seconds: 60 });
    expect(stats.current).not.toBeNull();
    expect(stats.current!.instructions).toBeGreaterThan(0);
    expect(stats.current!.disk).toBeNull(); // no disk device: missing, not zero
    expect(stats.history.length).toBeGreaterThan(0);

    expect(await service.pauseMachine({ ref: uuid })).toEqual({ state: 'Paused' });
    await until('the Paused event', () => events.some((e) => e.type === 'vm-state' && e.uuid === uuid && e.state === 'Paused'));
    await expect(service.pauseMachine({ ref: uuid })).rejects.toThrow(/cannot pause: the VM is Paused/);
    expect(await service.resumeMachine({ ref: uuid })).toEqual({ state: 'Running' });

    // Save state: the process ends, the VM is Saved; discarding it goes back to PoweredOff.
    expect(await service.saveState({ ref: uuid })).toEqual({ state: 'Saved' });
    await until('the process to end', () => !pidAlive(pid));
    await until('the Saved event', () => events.some((e) => e.type === 'vm-state' && e.uuid === uuid && e.state === 'Saved'));
    expect((await service.listMachines({}))[0]).toMatchObject({ runtime: { state: 'Saved' } });
    await expect(service.consoleSubscribe({ ref: uuid })).rejects.toThrow(/is not running \(it is Saved\)/);
    await expect(service.pauseMachine({ ref: uuid })).rejects.toMatchObject({ code: 'state' });
    expect(await service.discardState({ ref: uuid })).toMatchObject({ state: 'PoweredOff', reason: 'saved state discarded' });
    expect((await effectiveState(vmFiles(path, uuid))).state).toBe('PoweredOff');
    await expect(service.discardState({ ref: uuid })).rejects.toThrow(/cannot discardstate: the VM is PoweredOff/);
  });

  it('checks every argument before it reaches a VM', async () => {
    const bad = await dispatch(service, 'consoleInput', { ref: 'x', text: 'a', b64: 'YQ==' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(bad.ok ? '' : bad.error.message).toContain('give exactly one of text or b64');
    expect(await dispatch(service, 'consoleInput', { ref: 'x', b64: 'not base64!' })).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await dispatch(service, 'machineStats', { ref: 'x', seconds: 4000 })).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await dispatch(service, 'startMachine', { ref: 'x', boot: 'evil' })).toMatchObject({ ok: false, error: { code: 'usage' } });
    const missing = await dispatch(service, 'startMachine', { ref: 'no-such-vm' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });
});
