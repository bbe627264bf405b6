// A VMDK disk is a list of extents laid end to end. Each kind (hosted sparse, stream-optimized,
// flat, zero) implements this one contract; offsets are bytes relative to the extent's start.
import { HangarError } from '../../api/errors.ts';
import { checkWritable } from './vdi-vhd-vmdk-common.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';

import type { Run } from './runs.ts';

export interface VmdkExtent {
  /** Size in bytes. */
  readonly size: number;
  readonly readOnly: boolean;
  read(buf: Uint8Array, offset: number): Promise<void>;
  write(buf: Uint8Array, offset: number): Promise<void>;
  discard(offset: number, length: number): Promise<void>;
  map(offset: number, length: number): Promise<Run[]>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Host bytes the extent's file occupies (0 for a zero extent). */
  allocatedBytes(): Promise<number>;
  /** Grain size for sparse extents. */
  readonly grainBytes?: number;
}

/** Raw data at a fixed offset in a file (FLAT and VMFS extents). */
export class FlatExtent implements VmdkExtent {
  constructor(
    private readonly file: ImageFile,
    readonly size: number,
    private readonly start: number,
    readonly readOnly: boolean,
  ) {}

  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.file.readInto(buf, this.start + offset, 'flat extent data');
  }

  async write(buf: Uint8Array, offset: number): Promise<void> {
    checkWritable(this.file.path, this.readOnly);
    await this.file.write(buf, this.start + offset);
  }

  async discard(offset: number, length: number): Promise<void> {
    checkWritable(this.file.path, this.readOnly);
    for (let done = 0; done < length; done += 1 << 20) {
      await this.file.write(new Uint8Array(Math.min(1 << 20, length - done)), this.start + offset + done);
    }
  }

  async map(offset: number, length: number): Promise<Run[]> {
    return length > 0 ? [{ offset, length, allocated: true }] : [];
  }

  flush(): Promise<void> {
    return this.file.sync();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  allocatedBytes(): Promise<number> {
    return this.file.allocatedBytes();
  }
}

/** A ZERO extent: no file, reads zeros, cannot be written. */
export class ZeroExtent implements VmdkExtent {
  readonly readOnly = true;
  constructor(readonly size: number) {}

  async read(buf: Uint8Array): Promise<void> {
    buf.fill(0);
  }

  async write(): Promise<void> {
    throw new HangarError('unsupported', 'a VMDK ZERO extent cannot be written');
  }

  async discard(): Promise<void> {}

  async map(offset: number, length: number): Promise<Run[]> {
    return length > 0 ? [{ offset, length, allocated: false, zero: true }] : [];
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async allocatedBytes(): Promise<number> {
    return 0;
  }
}

/** A NOACCESS extent: present in the layout, but neither readable nor writable. */
export class NoAccessExtent extends ZeroExtent {
  override async read(): Promise<void> {
    throw new HangarError('inaccessible', 'this part of the VMDK disk is marked NOACCESS');
  }
}
