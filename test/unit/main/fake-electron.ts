// A fake of the Electron APIs the shell uses: records what the shell asks for and lets tests
// fire the events Electron would.
import { EventEmitter } from 'node:events';
import type { ElectronApi } from '../../../src-main/app.ts';

export class FakeWindow extends EventEmitter {
  static all: FakeWindow[] = [];
  readonly webContents = Object.assign(new EventEmitter(), { posted: [] as { channel: string; ports: unknown[] }[], postMessage(channel: string, _m: unknown, ports: unknown[]) { this.posted.push({ channel, ports }); } });
  loaded?: string;
  shown = false;
  maximized = false;
  focused = false;
  bounds = { x: 10, y: 20, width: 1000, height: 700 };
  constructor(readonly options: Record<string, unknown>) {
    super();
    FakeWindow.all.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
  }
  maximize(): void { this.maximized = true; }
  isMaximized(): boolean { return this.maximized; }
  isMinimized(): boolean { return false; }
  restore(): void {}
  focus(): void { this.focused = true; }
  show(): void { this.shown = true; }
  getNormalBounds() { return this.bounds; }
}

export class FakePort extends EventEmitter {
  messages: unknown[] = [];
  started = false;
  postMessage(m: unknown): void { this.messages.push(m); }
  start(): void { this.started = true; }
}

export interface Fake {
  electron: ElectronApi;
  app: EventEmitter & { quitCalled: boolean; lock: boolean; isPackaged: boolean; userData: string; readyResolve: () => void };
  handlers: Map<string, (...a: unknown[]) => Promise<unknown>>;
  protocolHandlers: Map<string, (req: { url: string }) => Promise<Response>>;
  privileged: unknown[];
  errors: { title: string; message: string }[];
  menu: unknown[];
  ports: FakePort[];
  permissionHandler?: (wc: unknown, p: string, cb: (ok: boolean) => void) => void;
}

export function fakeElectron(userData: string): Fake {
  FakeWindow.all = [];
  let readyResolve = (): void => {};
  const ready = new Promise<void>((r) => (readyResolve = r));
  const app = Object.assign(new EventEmitter(), {
    quitCalled: false,
    lock: true,
    isPackaged: true,
    userData,
    readyResolve,
    requestSingleInstanceLock() { return app.lock; },
    quit() { app.quitCalled = true; },
    whenReady: () => ready,
    getPath: (name: string) => (name === 'userData' ? app.userData : '/nonexistent'),
  });
  const fake: Fake = {
    electron: undefined as unknown as ElectronApi,
    app,
    handlers: new Map(),
    protocolHandlers: new Map(),
    privileged: [],
    errors: [],
    menu: [],
    ports: [],
  };
  const electron = {
    app,
    BrowserWindow: FakeWindow,
    ipcMain: {
      handle: (ch: string, fn: (...a: unknown[]) => Promise<unknown>) => fake.handlers.set(ch, fn),
      removeHandler: (ch: string) => fake.handlers.delete(ch),
    },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown[]) => fake.privileged.push(...s),
      handle: (scheme: string, fn: (req: { url: string }) => Promise<Response>) => fake.protocolHandlers.set(scheme, fn),
    },
    Menu: {
      buildFromTemplate: (t: unknown[]) => t,
      setApplicationMenu: (m: unknown[]) => (fake.menu = m),
    },
    dialog: { showErrorBox: (title: string, message: string) => fake.errors.push({ title, message }) },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: { defaultSession: { setPermissionRequestHandler: (h: Fake['permissionHandler']) => (fake.permissionHandler = h) } },
    MessageChannelMain: class {
      port1 = new FakePort();
      port2 = new FakePort();
      constructor() { fake.ports.push(this.port1); }
    },
  };
  fake.electron = electron as unknown as ElectronApi;
  return fake;
}
