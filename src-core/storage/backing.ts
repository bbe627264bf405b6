// Backing-file resolution: a hostile image can name any host file as its base, so a stored
// path is only followed when it stays inside the overlay's folder, unless the caller allows
// unsafe paths explicitly. Chains are bounded in depth and may not loop.
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { HangarError } from '../api/errors.ts';

export const MAX_CHAIN_DEPTH = 16;

/** Resolve `stored` (as written in the image at `imagePath`) to a host path, enforcing the folder rule. */
export function resolveBackingPath(imagePath: string, stored: string, allowUnsafe: boolean): string {
  if (stored.length === 0 || stored.includes('\0'))
    throw new HangarError('corrupt', `${imagePath}: invalid backing file name`, { path: imagePath });
  const dir = path.dirname(path.resolve(imagePath));
  const resolved = path.resolve(dir, stored);
  if (allowUnsafe) return resolved;
  if (path.isAbsolute(stored) || /^[a-z][a-z0-9+.-]*:/i.test(stored))
    throw unsafe(imagePath, stored, 'is an absolute path or protocol');
  if (!inside(dir, resolved)) throw unsafe(imagePath, stored, 'leaves the image folder');
  // A symlink inside the folder may still point elsewhere.
  let real: string;
  try {
    real = realpathSync(resolved);
  } catch {
    return resolved; // missing file: the open reports it
  }
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    realDir = dir;
  }
  if (!inside(realDir, real)) throw unsafe(imagePath, stored, 'resolves (through a link) outside the image folder');
  return resolved;
}

function inside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function unsafe(imagePath: string, stored: string, why: string): HangarError {
  return new HangarError(
    'unsupported',
    `${imagePath}: backing file "${stored}" ${why}; refusing to open it (pass allowUnsafePaths / --allow-unsafe-paths to permit)`,
    { path: imagePath, backing: stored },
  );
}

/** The name to store in an overlay for its base: relative when the base sits in the overlay's folder tree. */
export function backingNameFor(overlayPath: string, basePath: string): string {
  const dir = path.dirname(path.resolve(overlayPath));
  const abs = path.resolve(basePath);
  return inside(dir, abs) ? path.relative(dir, abs) : abs;
}

/**
 * Enter one more image into a backing chain: `chain` holds the real paths of the images above
 * it. Stops loops and runaway depth. Returns the chain to pass to the next level down.
 */
export function enterChain(p: string, chain: readonly string[] = []): string[] {
  let real = path.resolve(p);
  try {
    real = realpathSync(real);
  } catch {
    /* missing: the open reports it */
  }
  if (chain.includes(real))
    throw new HangarError('corrupt', `${p}: backing chain loops back to an image already in the chain`, { path: p });
  if (chain.length >= MAX_CHAIN_DEPTH)
    throw new HangarError('unsupported', `${p}: backing chain deeper than ${MAX_CHAIN_DEPTH} images`, { path: p });
  return [...chain, real];
}
