import { describe, expect, it, vi } from 'vitest';
import { argvSkip, parseLaunchArgs } from '../../../src-main/args.ts';
import { sanitizeState, DEFAULT_STATE } from '../../../src-main/window-state.ts';
import { guardContents, navigationAllowed } from '../../../src-main/security.ts';
import { menuTemplate } from '../../../src-main/menu.ts';
import { BRIDGE_CALL_CHANNEL, BRIDGE_EVENTS_MESSAGE } from '../../../src-core/api/bridge.ts';

describe('launch arguments', () => {
  it('picks .hangar and .ova files, skipping the executable, app path and switches', () => {
    expect(parseLaunchArgs(['/usr/bin/electron', '/src/app', '--no-sandbox', '/vms/a.hangar', 'B.OVA', 'notes.txt'], argvSkip(false)))
      .toEqual({ machines: ['/vms/a.hangar'], appliances: ['B.OVA'], ignored: ['notes.txt'] });
    expect(parseLaunchArgs(['C:\\Hangar\\Hangar.exe', 'C:\\vms\\x.hangar'], argvSkip(true)).machines).toEqual(['C:\\vms\\x.hangar']);
    expect(parseLaunchArgs(['hangar', '--', '-odd name.hangar'], 1).machines).toEqual(['-odd name.hangar']);
    expect(parseLaunchArgs(['hangar', '-psn_0_12345'], 1)).toEqual({ machines: [], appliances: [], ignored: [] });
  });
});

describe('window state', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  it('keeps a sane state on a present screen', () => {
    expect(sanitizeState({ x: 50, y: 60, width: 1000, height: 700, maximized: true }, screen)).toEqual({ x: 50, y: 60, width: 1000, height: 700, maximized: true });
  });
  it('drops a position on a screen that is gone, and enforces a minimum size', () => {
    expect(sanitizeState({ x: 5000, y: 60, width: 100, height: 100 }, screen)).toEqual({ width: 640, height: 420, maximized: false });
  });
  it('falls back to defaults for damaged data', () => {
    expect(sanitizeState('nope', screen)).toEqual(DEFAULT_STATE);
    expect(sanitizeState({ width: 'big', height: 2 }, screen)).toEqual(DEFAULT_STATE);
    expect(sanitizeState(null, screen)).toEqual(DEFAULT_STATE);
  });
});

describe('navigation guards', () => {
  it('allows only the app origin and denies new windows and webviews', () => {
    expect(navigationAllowed('hangar://app/index.html')).toBe(true);
    expect(navigationAllowed('https://example.com/')).toBe(false);
    expect(navigationAllowed('file:///etc/passwd')).toBe(false);
    expect(navigationAllowed('not a url')).toBe(false);
    const handlers = new Map<string, (e: { preventDefault(): void; url: string }) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    guardContents({
      on: (ev: string, l: (e: { preventDefault(): void; url: string }) => void) => handlers.set(ev, l),
      setWindowOpenHandler: (h) => (openHandler = h),
    } as Parameters<typeof guardContents>[0]);
    const prevent = vi.fn();
    handlers.get('will-navigate')!({ preventDefault: prevent, url: 'https://example.com/' });
    handlers.get('will-navigate')!({ preventDefault: prevent, url: 'hangar://app/index.html' });
    handlers.get('will-redirect')!({ preventDefault: prevent, url: 'http://127.0.0.1:1/' });
    handlers.get('will-attach-webview')!({ preventDefault: prevent, url: '' });
    expect(prevent).toHaveBeenCalledTimes(3);
    expect(openHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });
});

describe('menus and preload', () => {
  it('has the machine actions with their shortcuts on every platform', () => {
    for (const p of ['linux', 'win32', 'darwin']) {
      const machine = menuTemplate(p).find((m) => m.label === '&Machine')!;
      expect(machine.submenu!.map((i) => [i.label, i.accelerator, i.command])).toEqual([
        ['New…', 'CmdOrCtrl+N', 'new-machine'], ['Settings…', 'CmdOrCtrl+S', 'settings'], ['Clone…', 'CmdOrCtrl+O', 'clone'], ['Remove…', undefined, 'remove'],
        [undefined, undefined, undefined], ['Import Appliance…', 'CmdOrCtrl+I', 'import-appliance'],
      ]);
    }
    expect(menuTemplate('darwin')[0]!.label).toBe('Hangar');
  });

  it('exposes exactly one call function, never ipcRenderer, and forwards only the event port', async () => {
    const exposed = new Map<string, unknown>();
    const listeners = new Map<string, (e: { ports: unknown[] }) => void>();
    const invoke = vi.fn(async () => ({ ok: true, result: [] }));
    vi.doMock('electron', () => ({
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => exposed.set(k, v) },
      ipcRenderer: { invoke, on: (ch: string, l: (e: { ports: unknown[] }) => void) => listeners.set(ch, l) },
    }));
    const posted: unknown[][] = [];
    vi.stubGlobal('location', { origin: 'hangar://app' });
    vi.stubGlobal('postMessage', (...a: unknown[]) => posted.push(a));
    const preload = await import('../../../src-main/preload.ts');
    expect(preload.CALL_CHANNEL).toBe(BRIDGE_CALL_CHANNEL);
    expect(preload.EVENTS_MESSAGE).toBe(BRIDGE_EVENTS_MESSAGE);
    expect([...exposed.keys()]).toEqual(['hangar']);
    const api = exposed.get('hangar') as Record<string, unknown>;
    expect(Object.keys(api)).toEqual(['call']);
    expect(Object.isFrozen(api)).toBe(true);
    await (api.call as (m: string, p: unknown) => Promise<unknown>)('listMachines', {});
    expect(invoke).toHaveBeenCalledWith('hangar:call', 'listMachines', {});
    listeners.get('hangar:events')!({ ports: ['PORT'] });
    expect(posted).toEqual([['hangar:events', 'hangar://app', ['PORT']]]);
    vi.unstubAllGlobals();
    vi.doUnmock('electron');
  });
});
