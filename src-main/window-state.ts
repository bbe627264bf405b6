// The main window's size, position and maximised state, kept between runs in a small JSON
// file. A damaged file or a position on a screen that is gone falls back to defaults.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../src-core/library/atomic-file.ts';

export interface Bounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

export interface WindowState extends Bounds {
  maximized: boolean;
}

export const DEFAULT_STATE: WindowState = { width: 1200, height: 780, maximized: false };
const MIN = { width: 640, height: 420 };

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Keep a saved state only if it is sane and its title bar lands on one of the displays. */
export function sanitizeState(raw: unknown, displays: readonly Bounds[]): WindowState {
  const s = raw as Partial<WindowState> | null;
  if (!s || typeof s !== 'object' || !finite(s.width) || !finite(s.height)) return { ...DEFAULT_STATE };
  const width = Math.max(MIN.width, Math.round(s.width));
  const height = Math.max(MIN.height, Math.round(s.height));
  const out: WindowState = { width, height, maximized: s.maximized === true };
  if (finite(s.x) && finite(s.y)) {
    const x = Math.round(s.x);
    const y = Math.round(s.y);
    const visible = displays.some((d) => x + 100 >= (d.x ?? 0) && x + 100 <= (d.x ?? 0) + d.width && y >= (d.y ?? 0) && y + 20 <= (d.y ?? 0) + d.height);
    if (visible) Object.assign(out, { x, y });
  }
  return out;
}

export async function loadWindowState(file: string, displays: readonly Bounds[]): Promise<WindowState> {
  try {
    return sanitizeState(JSON.parse(await readFile(file, 'utf8')), displays);
  } catch {
    return { ...DEFAULT_STATE };
  }
}

export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state) + '\n', { keepPrevious: false });
}
