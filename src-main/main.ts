// Electron main process entry. All logic lives in app.ts and its modules; this file only
// hands them the real Electron and the paths of this installation.
import { join } from 'node:path';
import * as electron from 'electron';
import { hangarHome } from '../src-core/library/paths.ts';
import { startApp } from './app.ts';

startApp(electron, {
  home: hangarHome(),
  preload: join(import.meta.dirname, 'preload.js'),
  argv: process.argv,
  platform: process.platform,
});
