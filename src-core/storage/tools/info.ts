// `disk info`: what an image is — format, sizes, backing chain, snapshots, dirty flag.
import path from 'node:path';
import type { FormatName, ImageInfo } from '../format.ts';
import { openImageGuessing } from '../open.ts';
import { resolveBackingPath } from '../backing.ts';
import { formatSize } from '../size.ts';

export interface ChainEntry {
  path: string;
  format: FormatName;
  virtualSize: number;
  actualSize: number;
}

export interface InfoResult extends ImageInfo {
  path: string;
  /** The images below this one, nearest first. */
  backingChain: ChainEntry[];
}

export async function imageInfo(file: string, opts: { format?: FormatName; allowUnsafePaths?: boolean } = {}): Promise<InfoResult> {
  const { image } = await openImageGuessing(file, opts.format, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths });
  let info: ImageInfo;
  try {
    info = await image.info();
  } finally {
    await image.close();
  }
  // The open above already validated and opened the whole chain; walk it again for the listing.
  const backingChain: ChainEntry[] = [];
  let cur: ImageInfo = info;
  let curPath = file;
  while (cur.backing && backingChain.length < 16) {
    const next = resolveBackingPath(curPath, cur.backing.path, !!opts.allowUnsafePaths);
    const { image: b, format } = await openImageGuessing(next, cur.backing.format, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths });
    try {
      cur = await b.info();
    } finally {
      await b.close();
    }
    backingChain.push({ path: next, format, virtualSize: cur.virtualSize, actualSize: cur.actualSize });
    curPath = next;
  }
  return { ...info, path: file, backingChain };
}

export function formatInfo(r: InfoResult): string {
  const lines = [
    `image: ${r.path}`,
    `file format: ${r.format}${r.subformat ? ` (${r.subformat})` : ''}`,
    `virtual size: ${formatSize(r.virtualSize)} (${r.virtualSize} bytes)`,
    `disk size: ${formatSize(r.actualSize)}`,
  ];
  if (r.clusterSize) lines.push(`cluster size: ${r.clusterSize}`);
  if (r.backing) lines.push(`backing file: ${r.backing.path}${r.backing.format ? ` (format: ${r.backing.format})` : ''}`);
  for (const [i, c] of r.backingChain.entries())
    lines.push(`backing chain ${i + 1}: ${path.relative(process.cwd(), c.path) || c.path} [${c.format}, ${formatSize(c.virtualSize)}]`);
  if (r.dirty !== undefined) lines.push(`dirty: ${r.dirty ? 'yes (not closed cleanly, or in use)' : 'no'}`);
  if (r.snapshots && r.snapshots.length > 0) {
    lines.push('snapshots:');
    lines.push('  ID  NAME  VM STATE  DATE');
    for (const s of r.snapshots) lines.push(`  ${s.id}  ${s.name}  ${formatSize(s.vmStateSize)}  ${s.date.toISOString()}`);
  }
  return lines.join('\n');
}
