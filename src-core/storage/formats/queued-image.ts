// The request plumbing VDI and VHD images share. Requests run one at a time (block allocation
// and metadata updates must not interleave); each is refused after close and checked against
// the disk's bounds (and read-only mode for writes) before the format's own code sees it;
// close flushes, then releases the file and the parent chain.
import { HangarError } from '../../api/errors.ts';
import type { BlockDevice } from '../block-device.ts';
import { SerialQueue } from '../serial.ts';
import type { Run } from './runs.ts';
import { checkRange, checkWritable } from './vdi-vhd-vmdk-common.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';

export abstract class QueuedImage implements BlockDevice {
  readonly readOnly: boolean;
  protected readonly queue = new SerialQueue();
  protected closed = false;

  protected constructor(
    protected readonly file: ImageFile,
    readonly capacity: number,
    /** Closed together with this image (the parent of a differencing image). */
    private readonly closesWith: BlockDevice | undefined,
  ) {
    this.readOnly = file.readOnly;
  }

  // The format's own work, called inside the queue with the request already checked.
  protected abstract readUnlocked(buf: Uint8Array, offset: number): Promise<void>;
  protected abstract writeUnlocked(buf: Uint8Array, offset: number): Promise<void>;
  protected abstract discardUnlocked(offset: number, length: number): Promise<void>;
  protected abstract mapUnlocked(offset: number, length: number): Promise<Run[]>;
  /** Make completed writes durable; a no-op once closed or when read-only. */
  protected abstract flushUnlocked(): Promise<void>;

  private alive(): void {
    if (this.closed) throw new HangarError('state', `${this.file.path} is closed`);
  }

  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.queue.run(async () => {
      this.alive();
      checkRange(this.file.path, this.capacity, offset, buf.length);
      await this.readUnlocked(buf, offset);
    });
  }

  write(buf: Uint8Array, offset: number): Promise<void> {
    return this.queue.run(async () => {
      this.alive();
      checkWritable(this.file.path, this.readOnly);
      checkRange(this.file.path, this.capacity, offset, buf.length);
      await this.writeUnlocked(buf, offset);
    });
  }

  discard(offset: number, length: number): Promise<void> {
    return this.queue.run(async () => {
      this.alive();
      checkWritable(this.file.path, this.readOnly);
      checkRange(this.file.path, this.capacity, offset, length);
      await this.discardUnlocked(offset, length);
    });
  }

  mapRanges(offset: number, length: number): Promise<Run[]> {
    return this.queue.run(async () => {
      this.alive();
      checkRange(this.file.path, this.capacity, offset, length);
      return this.mapUnlocked(offset, length);
    });
  }

  flush(): Promise<void> {
    return this.queue.run(() => this.flushUnlocked());
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      try {
        await this.flushUnlocked();
      } finally {
        this.closed = true;
        await this.file.close();
        if (this.closesWith) await this.closesWith.close();
      }
    });
  }
}
