// Where the built renderer lives (npm run build:renderer writes it there).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HangarError } from '../api/errors.ts';

export const RENDERER_DIST = resolve(import.meta.dirname, '..', '..', 'dist', 'renderer');

export function requireRendererDist(dir = RENDERER_DIST): string {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new HangarError('not-found', `the GUI is not built: ${join(dir, 'index.html')} is missing; run "npm run build:renderer" first`);
  }
  return dir;
}
