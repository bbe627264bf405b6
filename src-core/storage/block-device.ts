// The block layer's one interface. Disk controllers (IDE, AHCI, virtio-blk), the image tools
// and appliance export all read and write guest disks through it, whatever the image format.

export interface BlockDevice {
  /** Virtual size in bytes, a multiple of 512. */
  readonly capacity: number;
  readonly readOnly: boolean;
  /** Fill `buf` from the virtual disk starting at byte `offset`. Reads past the end are errors. */
  read(buf: Uint8Array, offset: number): Promise<void>;
  /** Write `buf` at byte `offset`. Durable only after flush() resolves. */
  write(buf: Uint8Array, offset: number): Promise<void>;
  /** Make every completed write durable (data and metadata, fdatasync). */
  flush(): Promise<void>;
  /** Tell the image that a range no longer holds data; it may deallocate it. Reads then return zeros. */
  discard(offset: number, length: number): Promise<void>;
  /** Flush and release the file handles. The object is unusable afterwards. */
  close(): Promise<void>;
}
