// One disk-image format: how to recognise it, open it and create it. Each format lives in
// its own module under formats/ and is listed in formats/index.ts.
import type { BlockDevice } from './block-device.ts';

export type FormatName = 'raw' | 'qcow2' | 'vdi' | 'vmdk' | 'vhd';

export interface OpenOptions {
  readOnly?: boolean;
  /** Allow backing files / extents / parents outside the image's own folder. */
  allowUnsafePaths?: boolean;
  /**
   * Real paths of the images above this one in a backing chain (set by formats when they open
   * a base through openImage; callers leave it out). Used to stop loops and runaway depth.
   */
  chain?: readonly string[];
}

export interface CreateOptions {
  /** Backing (base) image for a copy-on-write overlay, and its format. */
  backing?: { path: string; format: FormatName };
  /** Format-specific variant, e.g. 'streamOptimized' for VMDK, 'fixed' for VDI/VHD. */
  subformat?: string;
  cluster?: number;
}

export interface ImageInfo {
  format: FormatName;
  subformat?: string;
  virtualSize: number;
  /** Bytes the file(s) occupy on the host (allocated blocks). */
  actualSize: number;
  backing?: { path: string; format?: FormatName };
  snapshots?: { id: string; name: string; vmStateSize: number; date: Date }[];
  dirty?: boolean;
  clusterSize?: number;
}

/** One run of an allocation map: [offset, offset+length) holds data (allocated) or reads as zeros. */
export type MapRun = { offset: number; length: number; allocated: boolean; zero?: boolean };

export interface OpenImage extends BlockDevice {
  info(): Promise<ImageInfo>;
  /**
   * Which byte ranges hold data (allocated in this image or its backing chain). Conversion
   * uses it to keep zeros unallocated. Returns [offset, length, allocated] runs covering
   * [offset, offset+length).
   */
  mapRanges?(offset: number, length: number): Promise<MapRun[]>;
}

export interface ImageFormat {
  readonly name: FormatName;
  /** True when the first bytes of a file look like this format (raw never claims a file). */
  probe(head: Uint8Array): boolean;
  open(path: string, opts?: OpenOptions): Promise<OpenImage>;
  create(path: string, size: number, opts?: CreateOptions): Promise<void>;
  /** Consistency check of the image's metadata; formats without metadata leave it out. */
  check?(path: string, opts?: CheckOptions): Promise<CheckResult>;
  /** Change the virtual size. Shrinking may be refused by a format. */
  resize?(path: string, newSize: number, opts?: ResizeOptions): Promise<void>;
}

export interface CheckOptions {
  /** Fix what can be fixed safely (leaked clusters, refcounts too low). */
  repair?: boolean;
}

export interface CheckResult {
  /** Problems that can lose or mix up data (e.g. a cluster used twice, a pointer out of the file). */
  corruptions: number;
  /** Space allocated but used by nothing; harmless. */
  leaks: number;
  /** Human-readable findings, one per line. */
  messages: string[];
  /** After a repair: how many problems were fixed. */
  repaired?: number;
}

export interface ResizeOptions {
  /** Allow making the disk smaller (data past the new end is lost). */
  shrink?: boolean;
}
