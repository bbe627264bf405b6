// Every disk-image format Hangar knows, in probe order (raw last: it claims nothing).
import type { FormatName, ImageFormat } from '../format.ts';

const formats = new Map<FormatName, ImageFormat>();

export function registerFormat(f: ImageFormat): void {
  formats.set(f.name, f);
}

export function formatByName(name: FormatName): ImageFormat | undefined {
  return formats.get(name);
}

export function allFormats(): ImageFormat[] {
  return [...formats.values()];
}
