// Electron's security checklist in one place: locked-down web preferences, no navigation away
// from the app, no new windows, no webviews, no permissions.
import { isAppUrl } from './protocol.ts';

export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  } as const;
}

/** May the window go to this URL? Only pages of the app itself. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/** The parts of WebContents the guards use. */
export interface GuardedContents {
  on(event: 'will-navigate' | 'will-redirect', l: (e: { preventDefault(): void; url: string }) => void): void;
  on(event: 'will-attach-webview', l: (e: { preventDefault(): void }) => void): void;
  setWindowOpenHandler(h: (d: { url: string }) => { action: 'deny' }): void;
}

export function guardContents(contents: GuardedContents): void {
  contents.on('will-navigate', (e) => {
    if (!navigationAllowed(e.url)) e.preventDefault();
  });
  contents.on('will-redirect', (e) => {
    if (!navigationAllowed(e.url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
