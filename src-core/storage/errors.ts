// Error helpers for the storage layer. Every failure a caller can see is a HangarError with a
// message that names the image and what was wrong, so tools and the VMM can report it as is.
import { HangarError } from '../api/errors.ts';

/** The image file is damaged or hostile: a header or table holds an impossible value. */
export function corrupt(path: string, what: string): HangarError {
  return new HangarError('corrupt', `${path}: corrupt image: ${what}`, { path });
}

export function unsupported(path: string, what: string): HangarError {
  return new HangarError('unsupported', `${path}: ${what}`, { path });
}

export function ioError(path: string, err: unknown): HangarError {
  if (err instanceof HangarError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return new HangarError('not-found', `${path}: no such file`, { path });
  if (e && e.code === 'EEXIST') return new HangarError('exists', `${path}: already exists`, { path });
  if (e && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'))
    return new HangarError('inaccessible', `${path}: permission denied`, { path });
  const msg = e && typeof e.message === 'string' ? e.message : String(err);
  return new HangarError('io', `${path}: ${msg}`, { path });
}

/** Bounds check for guest requests: offset/length must be sane integers inside the disk. */
export function checkRange(path: string, capacity: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
    throw new HangarError('usage', `${path}: invalid request offset ${offset} length ${length}`);
  if (offset + length > capacity)
    throw new HangarError('usage', `${path}: request [${offset}, ${offset + length}) is past the end of the disk (${capacity} bytes)`);
}

export function readOnlyError(path: string): HangarError {
  return new HangarError('state', `${path}: image is open read-only`, { path });
}
