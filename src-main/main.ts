// Electron main process entry. All logic lives in app.ts and its modules; this file only
// hands them the real Electron and the paths of this installation.
import { join } from 'node:path';
import * as electron from 'electron';
import { hangarHome } from '../src-core/library/paths.ts';
import { startApp } from './app.ts';

startApp(electron, {
  home: hangarHome(),
  // Bundled layout (src-main/build.ts): dist/main/{main,preload}.js beside dist/renderer.
  preload: join(import.meta.dirname, 'preload.js'),
  rendererRoot: join(import.meta.dirname, '..', 'renderer'),
  argv: process.argv,
  platform: process.platform,
});
