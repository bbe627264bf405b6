import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../../../src-main/app.ts';
import { Library } from '../../../src-core/library/library.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { pidAlive } from '../../../src-core/vmm/vm-files.ts';
import { createProgramVm, PROGRAM_BOOT } from '../vmm/helpers.ts';
import { fakeElectron, FakeWindow, type Fake } from './fake-electron.ts';

let dir: string;
let fake: Fake;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-main-'));
  await mkdir(join(dir, 'userData'));
  await mkdir(join(dir, 'dist'));
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>Hangar</title>');
  fake = fakeElectron(join(dir, 'userData'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(argv: string[] = ['/opt/Hangar/hangar']) {
  return startApp(fake.electron, { home: join(dir, 'home'), preload: '/app/preload.js', rendererRoot: join(dir, 'dist'), argv, platform: 'linux' });
}

async function makeVm(name: string): Promise<string> {
  const other = new Library(join(dir, 'elsewhere'));
  return (await other.create({ name, osType: 'Linux_64' })).path;
}

describe('desktop shell', () => {
  it('quits when another instance holds the single-instance lock', async () => {
    fake.app.lock = false;
    const running = start();
    await running.ready;
    expect(fake.app.quitCalled).toBe(true);
    expect(FakeWindow.all).toHaveLength(0);
  });

  it('opens one locked-down window on the app protocol and hands it an event port', async () => {
    const running = start();
    fake.app.readyResolve();
    await running.ready;
    expect(FakeWindow.all).toHaveLength(1);
    const w = FakeWindow.all[0]!;
    expect(w.loaded).toBe('hangar://app/index.html');
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, preload: '/app/preload.js' });
    expect(fake.privileged).toEqual([{ scheme: 'hangar', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    w.webContents.emit('did-finish-load');
    expect(w.webContents.posted.map((p) => p.channel)).toEqual(['hangar:events']);
    expect(fake.ports[0]!.started).toBe(true);
    // Permissions are refused outright.
    let granted: boolean | undefined;
    fake.permissionHandler!({}, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    // The menu forwards machine actions to the window over the event port.
    const machine = (fake.menu as { label: string; submenu: { label: string; click?: () => void }[] }[]).find((m) => m.label === '&Machine')!;
    machine.submenu.find((i) => i.label === 'New…')!.click!();
    expect(fake.ports[0]!.messages).toEqual([{ type: 'command', command: 'new-machine' }]);
  });

  it('serves the renderer with a CSP on the custom protocol and nothing outside it', async () => {
    const running = start();
    fake.app.readyResolve();
    await running.ready;
    const serve = fake.protocolHandlers.get('hangar')!;
    const res = await serve({ url: 'hangar://app/index.html' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('<title>Hangar</title>');
    expect((await serve({ url: 'hangar://app/../../etc/passwd' })).status).toBe(404);
    expect((await serve({ url: 'hangar://other/index.html' })).status).toBe(404);
  });

  it('validates the sender frame and the arguments of every IPC call', async () => {
    const running = start();
    fake.app.readyResolve();
    await running.ready;
    const call = fake.handlers.get('hangar:call')!;
    const top = { url: 'hangar://app/index.html', parent: null };
    expect(await call({ senderFrame: top }, 'listMachines', {})).toEqual({ ok: true, result: [] });
    expect(await call({ senderFrame: { url: 'https://evil.example/', parent: null } }, 'listMachines', {})).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await call({ senderFrame: { url: 'hangar://app/index.html', parent: {} } }, 'listMachines', {})).toMatchObject({ ok: false });
    expect(await call({ senderFrame: null }, 'listMachines', {})).toMatchObject({ ok: false });
    expect(await call({ senderFrame: top }, 'getMachine', { ref: ['x'] })).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await call({ senderFrame: top }, 'deleteEverything', {})).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await call({ senderFrame: top }, 'listMachines', {}, 'extra')).toMatchObject({ ok: false, error: { code: 'usage' } });
  });

  it('registers a .hangar given on the command line once and tries to start it, saying why it did not', async () => {
    const vm = await makeVm('fromdisk');
    const running = start(['/opt/Hangar/hangar', '--no-sandbox', vm]);
    fake.app.readyResolve();
    await running.ready;
    const lib = new Library(join(dir, 'home'));
    expect((await lib.list()).map((m) => m.path)).toEqual([vm]);
    // A BIOS VM cannot boot on the engine yet: the start is tried and the dialog says why.
    expect(fake.errors).toHaveLength(1);
    expect(fake.errors[0]!.message).toMatch(/VM "fromdisk" did not start: .*bios firmware, which the engine cannot boot yet/);
    expect(fake.errors[0]!.message).toContain('The VM is in the library');
    const again = await running.openRequest({ machines: [vm], appliances: [], ignored: [] });
    expect(again).toEqual([expect.objectContaining({ kind: 'failed', message: expect.stringMatching(/did not start/) })]);
    expect((await lib.list()).map((m) => m.path)).toEqual([vm]);
  }, 60_000);

  it('double-clicking a running VM leaves it running (no second start)', async () => {
    const lib = new Library(join(dir, 'home'));
    const { path, config } = await createProgramVm(lib, 'Busy');
    const started = await new VmManager(lib).start('Busy', { boot: PROGRAM_BOOT, detached: true });
    try {
      const running = start(['/opt/Hangar/hangar', path]);
      fake.app.readyResolve();
      await running.ready;
      expect(fake.errors).toEqual([]);
      const r = await running.openRequest({ machines: [path], appliances: [], ignored: [] });
      expect(r).toEqual([{ kind: 'known', uuid: config.uuid, name: 'Busy', state: 'Running' }]);
      expect(fake.errors).toEqual([]);
    } finally {
      await new VmManager(lib).control('Busy', 'poweroff').catch(() => undefined);
      if (pidAlive(started.pid)) process.kill(started.pid, 'SIGKILL');
    }
  }, 60_000);

  it('queues open-file events that arrive before ready and handles second launches', async () => {
    const a = await makeVm('early');
    const b = await makeVm('second');
    const running = start();
    let prevented = false;
    fake.app.emit('open-file', { preventDefault: () => (prevented = true) }, a);
    expect(prevented).toBe(true);
    fake.app.readyResolve();
    await running.ready;
    // Before the page has loaded an appliance waits; once it has its port, the import dialog opens.
    fake.app.emit('second-instance', {}, ['/opt/Hangar/hangar', b, join(dir, 'thing.ova')]);
    for (let i = 0; i < 500 && (await new Library(join(dir, 'home')).list()).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 500 && (await new Library(join(dir, 'home')).list()).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const names = (await new Library(join(dir, 'home')).list()).map((m) => (m.accessible ? m.config.name : '?')).sort();
    expect(names).toEqual(['early', 'second']);
    expect(FakeWindow.all[0]!.focused).toBe(true);
    // Both were started on open; as BIOS VMs they could not boot, and each says so.
    for (let i = 0; i < 500 && fake.errors.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.errors.map((x) => x.message.match(/VM "(\w+)" did not start/)?.[1]).sort()).toEqual(['early', 'second']);
    expect(fake.ports).toHaveLength(0);
    FakeWindow.all[0]!.webContents.emit('did-finish-load');
    expect(fake.ports[0]!.messages).toEqual([{ type: 'command', command: 'import-appliance', path: join(dir, 'thing.ova') }]);
    // With a page up, the next one goes straight to it.
    expect(await running.openRequest({ machines: [], appliances: ['other.ova'], ignored: [] })).toEqual([{ kind: 'import', path: join(process.cwd(), 'other.ova') }]);
    expect(fake.ports[0]!.messages).toContainEqual({ type: 'command', command: 'import-appliance', path: join(process.cwd(), 'other.ova') });
  });

  it('reports a .hangar that cannot be read instead of crashing', async () => {
    await writeFile(join(dir, 'broken.hangar'), '{ not json');
    const running = start(['/opt/Hangar/hangar', join(dir, 'broken.hangar')]);
    fake.app.readyResolve();
    await running.ready;
    expect(fake.errors).toHaveLength(1);
    expect(fake.errors[0]!.message).toContain('broken.hangar is damaged: not valid JSON');
  });

  it('keeps the window state between runs', async () => {
    let running = start();
    fake.app.readyResolve();
    await running.ready;
    const w = FakeWindow.all[0]!;
    w.bounds = { x: 100, y: 120, width: 900, height: 650 };
    w.maximized = true;
    w.emit('close');
    const stateFile = join(dir, 'userData', 'window-state.json');
    for (let i = 0; i < 500; i++) {
      if (await readFile(stateFile, 'utf8').then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(JSON.parse(await readFile(join(dir, 'userData', 'window-state.json'), 'utf8'))).toEqual({ x: 100, y: 120, width: 900, height: 650, maximized: true });
    fake = fakeElectron(join(dir, 'userData'));
    running = start();
    fake.app.readyResolve();
    await running.ready;
    expect(FakeWindow.all[0]!.options).toMatchObject({ x: 100, y: 120, width: 900, height: 650 });
    expect(FakeWindow.all[0]!.maximized).toBe(true);
  });
});
