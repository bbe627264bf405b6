// Every disk-image format Hangar knows, listed explicitly in probe order (raw last: it claims
// nothing). The table is built on first use, not at module load, because format modules open
// backing images through this registry and so import it back (an import cycle that must not
// touch their exports during evaluation).
import type { FormatName, ImageFormat } from '../format.ts';
import { qcow2Format } from './qcow2.ts';
import { rawFormat } from './raw.ts';
import { vdiFormat } from './vdi.ts';
import { vhdFormat } from './vhd.ts';
import { vmdkFormat } from './vmdk.ts';

function table(): ImageFormat[] {
  return [
    qcow2Format,
    vdiFormat,
    vmdkFormat,
    vhdFormat,
    rawFormat, // keep last
  ];
}

let formats: Map<FormatName, ImageFormat> | undefined;
const extra = new Map<FormatName, ImageFormat>();

function all(): Map<FormatName, ImageFormat> {
  if (!formats) {
    formats = new Map();
    for (const f of table()) formats.set(f.name, f);
  }
  return formats;
}

/** Add a format at run time (tests); the built-in table above is the normal way. */
export function registerFormat(f: ImageFormat): void {
  extra.set(f.name, f);
  all().set(f.name, f);
}

export function formatByName(name: FormatName): ImageFormat | undefined {
  return all().get(name);
}

/** All formats in probe order, raw last. */
export function allFormats(): ImageFormat[] {
  const list = [...all().values()];
  return [...list.filter((f) => f.name !== 'raw'), ...list.filter((f) => f.name === 'raw')];
}
