// `disk resize`: change an image's virtual size (grow; shrink only where the format allows it).
import { unsupported } from '../errors.ts';
import type { FormatName } from '../format.ts';
import { probeFormat, requireFormat } from '../open.ts';

export async function resizeImage(file: string, newSize: number, opts: { format?: FormatName; shrink?: boolean } = {}): Promise<void> {
  const fmt = requireFormat(opts.format ?? (await probeFormat(file)));
  if (!fmt.resize) throw unsupported(file, `resizing ${fmt.name} images is not supported`);
  await fmt.resize(file, newSize, { shrink: opts.shrink });
}
