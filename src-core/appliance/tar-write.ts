// Writing an OVA: a tar stream into one file handle, entries in the order the caller adds them
// (the .ovf first, then the .mf, then disks, as the OVF spec requires). Each file's bytes are
// streamed; the declared size is enforced so a short or long source cannot corrupt the archive.
import type { FileHandle } from 'node:fs/promises';
import { HangarError } from '../api/errors.ts';
import { BLOCK, fileHeader } from './tar-header.ts';

export class TarWriter {
  private pos = 0;

  constructor(private readonly fh: FileHandle, private readonly label: string) {}

  get bytesWritten(): number {
    return this.pos;
  }

  private async put(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await this.fh.write(b, off, b.length - off, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }

  async addBuffer(name: string, data: Uint8Array): Promise<void> {
    await this.addStream(name, data.length, [data]);
  }

  /** Add a file of exactly `size` bytes read from `source`. */
  async addStream(name: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onBytes?: (n: number) => void): Promise<void> {
    await this.put(fileHeader(name, size));
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      if (n > size) throw new HangarError('io', `${this.label}: ${name} grew while being archived (more than ${size} bytes)`);
      await this.put(chunk);
      onBytes?.(chunk.length);
    }
    if (n !== size) throw new HangarError('io', `${this.label}: ${name} shrank while being archived (${n} of ${size} bytes)`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) await this.put(new Uint8Array(pad));
  }

  /**
   * Add a file whose content is not known yet but whose size is: zeros now, the real bytes later
   * through patch(). Returns where the content starts. (The manifest precedes the disks in an
   * OVA, but its digests are computed while the disks stream in.)
   */
  async reserve(name: string, size: number): Promise<number> {
    await this.put(fileHeader(name, size));
    const at = this.pos;
    await this.put(new Uint8Array(size + ((BLOCK - (size % BLOCK)) % BLOCK)));
    return at;
  }

  async patch(at: number, data: Uint8Array, size: number): Promise<void> {
    if (data.length !== size) throw new Error(`tar: patch of ${data.length} bytes into a ${size}-byte reservation`);
    let off = 0;
    while (off < data.length) off += (await this.fh.write(data, off, data.length - off, at + off)).bytesWritten;
  }

  /** End-of-archive: two zero blocks. */
  async finish(): Promise<void> {
    await this.put(new Uint8Array(2 * BLOCK));
  }
}
