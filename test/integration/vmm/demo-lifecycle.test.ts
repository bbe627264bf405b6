// The demo VM (stock Debian kernel + the guest kit's busybox initramfs, on Hangar's own
// engine) taken through the VMM lifecycle: start, pause, resume, save state, restore, and
// power off. Interpreted Linux boots take minutes, hence the long timeouts.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGuestKit } from '../../../scripts/guest-kit.ts';
import { ControlClient } from '../../../src-core/vmm/control-client.ts';
import { createDemoVm, demoKernel } from '../../../src-core/vmm/demo-vm.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { effectiveState, vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { runHangar, tempDir } from '../../helpers/cli.ts';
import { serialCollector, tempLibrary, waitForEvent } from '../../unit/vmm/helpers.ts';

const MIN = 60_000;
const MARKER = 'HANGAR-GUEST-READY';
const PROMPT = 'hangar-guest# ';

const lib = tempLibrary();
const manager = new VmManager(lib);
afterAll(() => manager.shutdown(), 60_000);

describe('hangar demo', () => {
  it('creates "Demo Linux" from the guest kit in one command', async () => {
    const kit = await ensureGuestKit();
    const env = { HANGAR_HOME: tempDir() };
    const r = await runHangar(['demo'], env);
    expect(r.stderr).not.toContain('hangar:');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Created VM "Demo Linux"');
    const shown = JSON.parse((await runHangar(['show', 'Demo Linux', '--json'], env)).stdout) as { config: { firmware: Record<string, string>; serial: unknown[]; memoryMiB: number } };
    expect(shown.config.firmware).toMatchObject({ type: 'linux', kernel: demoKernel(kit), initrd: kit.initramfs });
    expect([kit.kernel, `${kit.dir}/vmlinux`]).toContain(demoKernel(kit));
    expect(shown.config.serial).toEqual([{ port: 'COM1', mode: 'file', path: 'Logs/com1.log' }]);
    expect(shown.config.memoryMiB).toBe(256);
    const again = await runHangar(['demo'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a VM named "Demo Linux" is already registered');
  }, 10 * MIN);
});

describe('Demo Linux lifecycle on the Hangar engine', () => {
  it('boots, pauses, resumes, saves, restores (still the same shell) and powers off', async () => {
    const kit = await ensureGuestKit();
    const { path, config } = await createDemoVm(lib, kit);
    const files = vmFiles(path, config.uuid);
    const first = await manager.start(config.name);
    expect(first.state).toBe('Running');
    const c = await ControlClient.connect(files.socket);
    const serial = serialCollector(c);
    await c.subscribe(['serial', 'state', 'panic'], { backlog: true });
    await serial.waitFor(MARKER, 45 * MIN);
    await serial.waitFor(PROMPT, 10 * MIN);

    await c.request('pause');
    const i1 = (await c.request<{ instructions: number }>('query-stats')).instructions;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await c.request<{ instructions: number }>('query-stats')).instructions).toBe(i1);
    await c.request('resume');
    await c.request('serial-input', { text: 'echo one-$((40+2))\n' });
    await serial.waitFor('one-42', 10 * MIN);
    expect(readFileSync(`${files.folder}/Logs/com1.log`, 'latin1')).toContain(MARKER);

    const saved = await c.request<{ state: string; ms: number }>('savestate');
    expect(saved.state).toBe('Saved');
    expect((await first.vm!.exited).state).toBe('Saved');
    expect(existsSync(files.savedState)).toBe(true);

    const second = await manager.start(config.name);
    expect(second.state).toBe('Running');
    const c2 = await ControlClient.connect(files.socket);
    const serial2 = serialCollector(c2);
    await c2.subscribe(['serial', 'state']);
    await c2.request('serial-input', { text: 'echo two-$((50+8))\n' });
    await serial2.waitFor('two-58', 10 * MIN);
    // The restored guest continued: no new boot.
    expect(serial2.text()).not.toContain('Linux version');

    const off = waitForEvent(c2, (ev) => ev.event === 'state' && ev.state === 'PoweredOff', 2 * MIN);
    await c2.request('poweroff');
    await off;
    expect((await second.vm!.exited).state).toBe('PoweredOff');
    expect((await effectiveState(files)).state).toBe('PoweredOff');
  }, 90 * MIN);

  // The kit's /init loads the button and evdev modules and runs busybox acpid, whose handler
  // prints HANGAR-POWER-BUTTON and powers off through ACPI S5 (the same path is checked on QEMU
  // in kit-power-button.test.ts).
  it('the ACPI power button shuts the guest down cleanly', async () => {
    const kit = await ensureGuestKit();
    const { path, config } = await createDemoVm(lib, kit, { name: 'Demo ACPI' });
    const files = vmFiles(path, config.uuid);
    const r = await manager.start(config.name);
    const c = await ControlClient.connect(files.socket);
    const serial = serialCollector(c);
    await c.subscribe(['serial', 'state'], { backlog: true });
    await serial.waitFor(PROMPT, 45 * MIN);
    const off = waitForEvent(c, (ev) => ev.event === 'state' && ev.state === 'PoweredOff', 10 * MIN);
    expect(serial.text()).toContain('input: Power Button');
    // A console opened after the boot (a late manager, `hangar console`) still starts at
    // power-on: the VM process keeps the whole boot log as its COM1 backlog.
    const late = await ControlClient.connect(files.socket);
    const lateSerial = serialCollector(late);
    await late.subscribe(['serial'], { backlog: true });
    await lateSerial.waitFor(PROMPT, MIN);
    expect(lateSerial.text()).toMatch(/^Linux version|\] Linux version/);
    expect(lateSerial.text()).toContain(MARKER);
    late.close();
    await c.request('acpi-powerbutton');
    await serial.waitFor('HANGAR-POWER-BUTTON', 10 * MIN);
    await off;
    expect(serial.text()).toContain('reboot: Power down');
    expect((await r.vm!.exited).reason).toMatch(/guest powered off/);
    expect((await effectiveState(files)).state).toBe('PoweredOff');
  }, 60 * MIN);
});
