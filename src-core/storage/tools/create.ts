// `disk create`: a new empty image, or a copy-on-write overlay over a base image.
import { HangarError } from '../../api/errors.ts';
import type { FormatName } from '../format.ts';
import { openImage, probeFormat, requireFormat } from '../open.ts';

export interface CreateRequest {
  format: string;
  path: string;
  /** Bytes; may be left out for an overlay, which then takes the base's size. */
  size?: number;
  backing?: string;
  backingFormat?: string;
  subformat?: string;
  cluster?: number;
  allowUnsafePaths?: boolean;
}

export async function createImage(req: CreateRequest): Promise<{ size: number }> {
  const fmt = requireFormat(req.format);
  let size = req.size;
  let backing: { path: string; format: FormatName } | undefined;
  if (req.backing) {
    const bfmt = req.backingFormat ? requireFormat(req.backingFormat).name : await probeFormat(req.backing);
    // Open the base once: it must exist and be readable in the format we record.
    const base = await openImage(req.backing, bfmt, { readOnly: true, allowUnsafePaths: req.allowUnsafePaths });
    try {
      size ??= base.capacity;
    } finally {
      await base.close();
    }
    backing = { path: req.backing, format: bfmt };
  }
  if (size === undefined) throw new HangarError('usage', 'a size is required (e.g. 10G) unless --backing is given');
  await fmt.create(req.path, size, { backing, subformat: req.subformat, cluster: req.cluster });
  return { size };
}
