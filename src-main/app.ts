// The desktop shell's wiring. Electron comes in as a parameter so tests can run all of this
// against a fake; main.ts passes the real module.
import { join } from 'node:path';
import type * as Electron from 'electron';
import { BRIDGE_EVENTS_MESSAGE } from '../src-core/api/bridge.ts';
import type { HangarEvent, UiCommand } from '../src-core/api/service.ts';
import { Library } from '../src-core/library/library.ts';
import { createHangarService } from '../src-core/server/lifecycle-service.ts';
import { watchRegistry } from '../src-core/server/registry-watch.ts';
import { argvSkip, parseLaunchArgs, type LaunchRequest } from './args.ts';
import { registerIpc } from './ipc.ts';
import { menuTemplate, type MenuItemSpec } from './menu.ts';
import { applianceImport, openMachineFile, type OpenResult } from './open-files.ts';
import { APP_SCHEME, APP_URL, SCHEME_PRIVILEGES, serveAppRequest } from './protocol.ts';
import { guardContents, secureWebPreferences, type GuardedContents } from './security.ts';
import { loadWindowState, saveWindowState } from './window-state.ts';

export type ElectronApi = Pick<typeof Electron, 'app' | 'BrowserWindow' | 'ipcMain' | 'protocol' | 'Menu' | 'dialog' | 'screen' | 'session' | 'MessageChannelMain'>;

export interface AppOptions {
  /** HANGAR_HOME: the library this app manages. */
  home: string;
  /** Path of the compiled preload script. */
  preload: string;
  /** Built renderer folder (dist/renderer by default). */
  rendererRoot?: string;
  argv: readonly string[];
  platform: string;
}

export interface RunningApp {
  /** Settles once the window is up and files from the command line are handled. */
  ready: Promise<void>;
  /** Opens files as a double-click or a second launch would (exposed for tests). */
  openRequest(req: LaunchRequest): Promise<OpenResult[]>;
}

export function startApp(e: ElectronApi, opts: AppOptions): RunningApp {
  const { app } = e;
  if (!app.requestSingleInstanceLock()) {
    // Another Hangar is running; it receives our argv through 'second-instance'.
    app.quit();
    return { ready: Promise.resolve(), openRequest: async () => [] };
  }
  e.protocol.registerSchemesAsPrivileged(SCHEME_PRIVILEGES);

  const ports = new Set<Electron.MessagePortMain>();
  const emit = (ev: HangarEvent): void => {
    for (const p of ports) p.postMessage(ev);
  };
  const runtime = createHangarService(new Library(opts.home), { onEvent: emit });
  const { service } = runtime;
  app.on('will-quit', () => void runtime.close());
  // Changes made by the CLI while the app runs reach the window too.
  const watcher = watchRegistry(opts.home, () => emit({ type: 'machines-changed' }));
  app.on('will-quit', () => watcher.close());
  let win: Electron.BrowserWindow | undefined;
  let isReady = false;
  const early: LaunchRequest = { machines: [], appliances: [], ignored: [] };
  /** Appliances to import, held until a page has its event port to receive them. */
  const pendingImports: string[] = [];
  const sendImport = (path: string): void => {
    if (ports.size) emit({ type: 'command', command: 'import-appliance', path });
    else pendingImports.push(path);
  };

  const openRequest = async (req: LaunchRequest): Promise<OpenResult[]> => {
    const results: OpenResult[] = [];
    for (const f of req.machines) results.push(await openMachineFile(service, f));
    for (const f of req.appliances) {
      const r = applianceImport(f);
      results.push(r);
      if (r.kind === 'import') sendImport(r.path);
    }
    for (const r of results) {
      if (r.kind === 'failed') e.dialog.showErrorBox('Hangar could not open a file', `${r.message}\n\n${r.hint}`);
    }
    return results;
  };

  app.on('open-file', (event, path) => {
    // macOS: double-click or drop on the dock icon; may arrive before 'ready'.
    event.preventDefault();
    const req = parseLaunchArgs(['--', path], 0);
    if (!isReady) {
      early.machines.push(...req.machines);
      early.appliances.push(...req.appliances);
    } else void openRequest(req);
  });
  app.on('second-instance', (_event, argv) => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
    void openRequest(parseLaunchArgs(argv, argvSkip(app.isPackaged)));
  });
  app.on('web-contents-created', (_event, contents) => guardContents(contents as unknown as GuardedContents));
  app.on('window-all-closed', () => {
    if (opts.platform !== 'darwin') app.quit();
  });

  const stateFile = (): string => join(app.getPath('userData'), 'window-state.json');

  const createWindow = async (): Promise<void> => {
    const displays = e.screen.getAllDisplays().map((d) => d.workArea);
    const state = await loadWindowState(stateFile(), displays);
    const w = new e.BrowserWindow({
      ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
      width: state.width,
      height: state.height,
      minWidth: 640,
      minHeight: 420,
      show: false,
      title: 'Hangar',
      webPreferences: secureWebPreferences(opts.preload),
    });
    win = w;
    if (state.maximized) w.maximize();
    w.once('ready-to-show', () => w.show());
    w.on('close', () => {
      void saveWindowState(stateFile(), { ...w.getNormalBounds(), maximized: w.isMaximized() }).catch(() => {});
    });
    w.on('closed', () => {
      if (win === w) win = undefined;
    });
    w.webContents.on('did-finish-load', () => {
      // A fresh event port per page load; the old one went with the old page.
      const { port1, port2 } = new e.MessageChannelMain();
      ports.add(port1);
      port1.on('close', () => ports.delete(port1));
      port1.start();
      w.webContents.postMessage(BRIDGE_EVENTS_MESSAGE, null, [port2]);
      // Messages wait in the port until the page starts it, so these are not lost.
      for (const path of pendingImports.splice(0)) port1.postMessage({ type: 'command', command: 'import-appliance', path } satisfies HangarEvent);
    });
    await w.loadURL(APP_URL);
  };

  const sendCommand = (command: UiCommand): void => emit({ type: 'command', command });
  const toMenu = (items: MenuItemSpec[]): Electron.MenuItemConstructorOptions[] => items.map((i) => {
    const o: Electron.MenuItemConstructorOptions = {};
    if (i.label) o.label = i.label;
    if (i.role) o.role = i.role as Electron.MenuItemConstructorOptions['role'];
    if (i.type) o.type = i.type;
    if (i.accelerator) o.accelerator = i.accelerator;
    const command = i.command;
    if (command) o.click = () => sendCommand(command);
    if (i.submenu) o.submenu = toMenu(i.submenu);
    return o;
  });

  const ready = app.whenReady().then(async () => {
    e.protocol.handle(APP_SCHEME, (req) => serveAppRequest(req.url, opts.rendererRoot));
    e.session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    registerIpc(e.ipcMain as unknown as Parameters<typeof registerIpc>[0], service);
    e.Menu.setApplicationMenu(e.Menu.buildFromTemplate(toMenu(menuTemplate(opts.platform))));
    await createWindow();
    isReady = true;
    const fromArgs = parseLaunchArgs(opts.argv, argvSkip(app.isPackaged));
    await openRequest({ machines: [...fromArgs.machines, ...early.machines], appliances: [...fromArgs.appliances, ...early.appliances], ignored: [] });
  });
  app.on('activate', () => {
    if (isReady && !win) void createWindow();
  });
  return { ready, openRequest };
}
