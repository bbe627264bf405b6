// Human sizes for the disk tools: "10G", "512M", "1.5T", "4096" (bytes) — binary units as
// qemu-img uses them. Results must be whole 512-byte sectors.
import { usageError } from '../api/errors.ts';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTPB]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) throw usageError(`invalid size "${text}": use a number with an optional unit K, M, G, T (e.g. 10G, 512M)`);
  const value = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(value) || value <= 0) throw usageError(`invalid size "${text}": must be a positive whole number of bytes`);
  if (value % 512 !== 0) throw usageError(`invalid size "${text}": must be a multiple of 512 bytes`);
  return value;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0).replace(/\.0+$/, '')} ${units[i]}`;
}
