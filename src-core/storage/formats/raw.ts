// Raw images: the file is the disk, byte for byte. Created sparse (a truncate), discards punch
// holes where the host supports it. Raw never claims a file when probing.
import { stat } from 'node:fs/promises';
import { HangarError } from '../../api/errors.ts';
import type { ImageFormat, ImageInfo, OpenImage, OpenOptions, CreateOptions, ResizeOptions } from '../format.ts';
import { HostFile } from '../host-file.ts';
import { checkRange, readOnlyError, unsupported, ioError } from '../errors.ts';

class RawImage implements OpenImage {
  private closed = false;
  constructor(private file: HostFile, readonly capacity: number, readonly readOnly: boolean) {}

  private live(): void {
    if (this.closed) throw new HangarError('state', `${this.file.path}: image is closed`);
  }

  async read(buf: Uint8Array, offset: number): Promise<void> {
    this.live();
    checkRange(this.file.path, this.capacity, offset, buf.length);
    await this.file.readAt(buf, offset);
  }

  async write(buf: Uint8Array, offset: number): Promise<void> {
    this.live();
    if (this.readOnly) throw readOnlyError(this.file.path);
    checkRange(this.file.path, this.capacity, offset, buf.length);
    await this.file.writeAt(buf, offset);
  }

  async flush(): Promise<void> {
    this.live();
    if (!this.readOnly) await this.file.datasync();
  }

  async discard(offset: number, length: number): Promise<void> {
    this.live();
    if (this.readOnly) throw readOnlyError(this.file.path);
    checkRange(this.file.path, this.capacity, offset, length);
    await this.file.zeroRange(offset, length);
  }

  async info(): Promise<ImageInfo> {
    this.live();
    return { format: 'raw', virtualSize: this.capacity, actualSize: await this.file.allocatedSize() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.readOnly) await this.file.datasync();
    this.closed = true;
    await this.file.close();
  }
}

export const rawFormat: ImageFormat = {
  name: 'raw',
  probe: () => false,

  async open(path: string, opts: OpenOptions = {}): Promise<OpenImage> {
    const file = await HostFile.open(path, !opts.readOnly);
    const size = await file.size();
    // A raw disk's capacity is its file size; a ragged tail past the last sector is not addressable.
    return new RawImage(file, size - (size % 512), !!opts.readOnly);
  },

  async create(path: string, size: number, opts: CreateOptions = {}): Promise<void> {
    if (opts.backing) throw unsupported(path, 'raw images cannot have a backing file');
    if (opts.subformat && opts.subformat !== 'sparse' && opts.subformat !== 'full')
      throw unsupported(path, `raw has no subformat "${opts.subformat}" (use sparse or full)`);
    const file = await HostFile.create(path);
    try {
      if (opts.subformat === 'full') await file.zeroRange(0, size);
      await file.truncate(size);
      await file.datasync();
    } finally {
      await file.close();
    }
  },

  async resize(path: string, newSize: number, opts: ResizeOptions = {}): Promise<void> {
    let cur: number;
    try {
      cur = (await stat(path)).size;
    } catch (err) {
      throw ioError(path, err);
    }
    if (newSize < cur && !opts.shrink)
      throw new HangarError('usage', `${path}: new size ${newSize} is smaller than ${cur}; pass --shrink to cut the disk (data past the end is lost)`);
    const file = await HostFile.open(path, true);
    try {
      await file.truncate(newSize);
      await file.datasync();
    } finally {
      await file.close();
    }
  },
};
