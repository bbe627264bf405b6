// Opening images by format. An attached disk is always opened with the format its
// configuration names; probing is only for the tools (info, convert without -f) and for
// backing files whose overlay does not record the base format.
import { HangarError, usageError } from '../api/errors.ts';
import type { FormatName, ImageFormat, OpenImage, OpenOptions } from './format.ts';
import { allFormats, formatByName } from './formats/index.ts';
import { HostFile } from './host-file.ts';

const PROBE_BYTES = 4096;

export function requireFormat(name: string): ImageFormat {
  const f = formatByName(name as FormatName);
  if (!f) {
    const known = allFormats()
      .map((x) => x.name)
      .join(', ');
    throw usageError(`unknown disk format "${name}" (known: ${known})`);
  }
  return f;
}

/** Guess an image's format from its first bytes; files no format claims are raw. */
export async function probeFormat(path: string): Promise<FormatName> {
  const file = await HostFile.open(path, false);
  try {
    const head = new Uint8Array(PROBE_BYTES);
    await file.readAt(head, 0);
    for (const f of allFormats()) if (f.name !== 'raw' && f.probe(head)) return f.name;
    return 'raw';
  } finally {
    await file.close();
  }
}

/** Open an image with an explicit format (the only way the VMM opens disks). */
export async function openImage(path: string, format: FormatName, opts: OpenOptions = {}): Promise<OpenImage> {
  return requireFormat(format).open(path, opts);
}

/** For the tools: open with the given format, or the probed one when none is given. */
export async function openImageGuessing(
  path: string,
  format: FormatName | undefined,
  opts: OpenOptions = {},
): Promise<{ image: OpenImage; format: FormatName }> {
  const name = format ?? (await probeFormat(path));
  return { image: await openImage(path, name, opts), format: name };
}

/** Opens a backing image for a format module; the format is probed only if the overlay did not record one. */
export async function openBacking(path: string, format: FormatName | undefined, opts: OpenOptions): Promise<OpenImage> {
  const name = format ?? (await probeFormat(path));
  if (!formatByName(name)) throw new HangarError('unsupported', `${path}: backing format "${name}" is not supported`);
  return openImage(path, name, { ...opts, readOnly: true });
}
