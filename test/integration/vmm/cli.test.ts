// The VM commands as a user runs them: start --headless (with a TCP console), list --running, stats, console with
// its detach key, control, savestate and restore, discardstate, and the errors for bad use.
// The VM boots Hangar's built-in real-mode test program on the real engine (a Linux guest
// takes minutes to boot on the interpreter; demo-lifecycle.test.ts covers that).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HANGAR_BIN, runHangar, tempDir } from '../../helpers/cli.ts';

const MIN = 60_000;

function consoleSession(env: Record<string, string>, name: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HANGAR_BIN, 'console', name], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (!typed && stdout.includes('HANGAR-PROGRAM-READY')) {
        typed = true;
        child.stdin.write('hello');
      }
      if (stdout.includes('HANGAR-PROGRAM-READY\r\nhello')) child.stdin.write('\x1d');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
  });
}

describe('hangar VM commands', () => {
  it('start, list --running, stats, console, control, save/restore, discardstate', async () => {
    const env = { HANGAR_HOME: tempDir() };
    const h = (...a: string[]) => runHangar(a, env);
    expect((await h('create', '--name', 'cli-vm', '--ostype', 'Other_64', '--memory', '16')).code).toBe(0);

    // COM1 also on a loopback TCP console: start --headless says how to reach it.
    const tcpPort = 20000 + Math.floor(Math.random() * 20000);
    expect((await h('modify', 'cli-vm', '--serial', `COM1:tcp:${tcpPort}`)).code).toBe(0);
    const st = await h('start', 'cli-vm', '--headless', '--boot-test-program');
    expect(st.stderr).toBe('');
    expect(st.stdout).toMatch(/VM "cli-vm" is Running \(process \d+\)\.\nControl socket: .*control\.sock\n/);
    expect(st.stdout).toContain(`COM1 console: nc 127.0.0.1 ${tcpPort}\n`);
    let viaTcp = '';
    const tcp = connect(tcpPort, '127.0.0.1');
    tcp.on('data', (d: Buffer) => (viaTcp += d.toString('latin1')));
    for (let i = 0; i < 200 && !viaTcp.includes('HANGAR-PROGRAM-READY'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(viaTcp).toContain('HANGAR-PROGRAM-READY');
    tcp.destroy();

    const running = await h('list', '--running');
    expect(running.stdout).toMatch(/^NAME\s+UUID\s+STATE\s+PID/);
    expect(running.stdout).toMatch(/cli-vm\s+\S+\s+Running\s+\d+/);
    const json = JSON.parse((await h('list', '--running', '--json')).stdout) as { name: string; state: string }[];
    expect(json).toMatchObject([{ name: 'cli-vm', state: 'Running' }]);

    await new Promise((r) => setTimeout(r, 1500));
    const stats = await h('stats', 'cli-vm');
    expect(stats.stdout).toMatch(/guest [\d.]+ MIPS\s+cpu [\d.]+%\s+ram 16 MiB\s+rss [\d.]+ MiB\s+disk n\/a\s+net n\/a/);
    const sj = JSON.parse((await h('stats', 'cli-vm', '--json')).stdout) as { instructions: number };
    expect(sj.instructions).toBeGreaterThan(0);

    const con = await consoleSession(env, 'cli-vm');
    expect(con.code).toBe(0);
    expect(con.stdout).toContain('HANGAR-PROGRAM-READY\r\nhello');
    expect(con.stderr).toContain('Press Ctrl-] to detach');
    expect(con.stderr).toContain('Detached from "cli-vm"; it keeps running.');

    expect((await h('control', 'cli-vm', 'pause')).stdout).toBe('VM "cli-vm" is Paused\n');
    const again = await h('control', 'cli-vm', 'pause');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('hangar: cannot pause: the VM is Paused; pause needs the VM to be Running\n');
    expect((await h('control', 'cli-vm', 'resume')).stdout).toBe('VM "cli-vm" is Running\n');
    const bad = await h('control', 'cli-vm', 'explode');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('control: unknown action "explode"; allowed: pause, resume, reset, acpipowerbutton, poweroff, savestate');
    const dup = await h('start', 'cli-vm', '--headless', '--boot-test-program');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('VM "cli-vm" is already Running');

    expect((await h('control', 'cli-vm', 'savestate')).stdout).toMatch(/VM "cli-vm" is Saved \(.*saved-state\.hgs, \d+ ms\)/);
    expect((await h('list', '--running')).stdout).toBe('No VMs are running.\n');
    const notRunning = await h('stats', 'cli-vm');
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain('VM "cli-vm" is not running (it is Saved)');
    // discardstate, then a fresh start; and a restore from a second save.
    expect((await h('discardstate', 'cli-vm')).stdout).toContain('is PoweredOff');
    const noState = await h('discardstate', 'cli-vm');
    expect(noState.stderr).toContain('cannot discardstate: the VM is PoweredOff');
    expect((await h('start', 'cli-vm', '--headless', '--boot-test-program')).code).toBe(0);
    expect((await h('control', 'cli-vm', 'savestate')).code).toBe(0);
    expect((await h('start', 'cli-vm', '--headless', '--boot-test-program')).stdout).toContain('is Running');
    expect((await h('control', 'cli-vm', 'acpipowerbutton')).stdout).toContain('Pressed the power button');
    // The test program answers the power button by powering off through ACPI.
    for (let i = 0; i < 200 && (await h('list', '--running')).stdout !== 'No VMs are running.\n'; i++) await new Promise((r) => setTimeout(r, 250));
    expect((await h('list', '--running')).stdout).toBe('No VMs are running.\n');
    const missing = await h('start', 'no-such-vm', '--headless');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no VM named or with UUID "no-such-vm"');
  }, 20 * MIN);

  it('a VM whose firmware the engine cannot boot fails to start with the reason', async () => {
    const env = { HANGAR_HOME: tempDir() };
    expect((await runHangar(['create', '--name', 'bios-vm', '--ostype', 'Other_64', '--memory', '16'], env)).code).toBe(0);
    const r = await runHangar(['start', 'bios-vm', '--headless'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('uses bios firmware, which the engine cannot boot yet');
    const show = await runHangar(['list', '--running'], env);
    expect(show.stdout).toBe('No VMs are running.\n');
  }, 5 * MIN);
});
