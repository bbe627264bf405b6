// A streaming tar reader that yields regular files only. Links, directories, devices and
// anything else are refused, as is an archive that ends before its end-of-archive blocks.
// Names are returned as written; the caller decides which names it accepts (it never uses them
// as paths on disk).
import { HangarError } from '../api/errors.ts';
import { BLOCK, isZeroBlock, parseHeader, parsePax } from './tar-header.ts';

const MAX_META = 1 << 20; // pax / GNU long-name payloads

export interface TarEntry {
  name: string;
  size: number;
}

/** Pulls exact byte counts out of an async stream of chunks. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  offset = 0;

  constructor(src: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>) {
    this.it = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : (async function* () { yield* src; })();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  /** Exactly n bytes, or fewer only at end of stream. */
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.fill()));
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** Up to n bytes, at least one unless at end of stream (avoids copying large chunks). */
  async some(n: number): Promise<Buffer> {
    if (this.buf.length === 0) await this.fill();
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

export class TarReader {
  private readonly src: ByteSource;
  private remaining = 0;
  private padding = 0;
  private current?: TarEntry;
  private ended = false;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>, private readonly label: string) {
    this.src = new ByteSource(source);
  }

  private truncated(what: string): HangarError {
    return new HangarError('corrupt', `${this.label}: truncated archive: ${what}`);
  }

  private async block(what: string): Promise<Buffer> {
    const b = await this.src.take(BLOCK);
    if (b.length < BLOCK) throw this.truncated(`ends inside ${what}`);
    return b;
  }

  private async payload(size: number, what: string): Promise<Buffer> {
    if (size > MAX_META) throw new HangarError('corrupt', `${this.label}: ${what} of ${size} bytes is implausibly large`);
    const data = await this.src.take(size);
    if (data.length < size) throw this.truncated(`ends inside ${what}`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await this.src.take(pad)).length < pad) throw this.truncated(`ends inside ${what}`);
    return Buffer.from(data);
  }

  /** The next regular file, or undefined at the end of the archive. Skips unread data of the previous one. */
  async next(): Promise<TarEntry | undefined> {
    if (this.ended) return undefined;
    if (this.current) await this.skip();
    let longName: string | undefined;
    let pax = new Map<string, string>();
    for (;;) {
      const b = await this.src.take(BLOCK);
      if (b.length === 0) throw this.truncated('no end-of-archive marker');
      if (b.length < BLOCK) throw this.truncated('ends inside a header');
      if (isZeroBlock(b)) {
        // End of archive: GNU and bsdtar write two zero blocks; accept end of stream after one.
        const second = await this.src.take(BLOCK);
        if (second.length === BLOCK && !isZeroBlock(second)) throw new HangarError('corrupt', `${this.label}: data after an empty tar block`);
        this.ended = true;
        return undefined;
      }
      const h = parseHeader(b);
      const name = pax.get('path') ?? longName ?? h.name;
      const size = pax.has('size') ? Number(pax.get('size')) : h.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new HangarError('corrupt', `${this.label}: entry ${JSON.stringify(name)} has an invalid size`);
      switch (h.type) {
        case 'x':
          pax = parsePax(await this.payload(h.size, 'a pax header'));
          continue;
        case 'g':
          await this.payload(h.size, 'a global pax header'); // archive-wide comments; nothing we use
          continue;
        case 'L':
          longName = (await this.payload(h.size, 'a GNU long name')).toString('utf8').replace(/\0+$/, '');
          continue;
        case '0': case '7':
          this.current = { name, size };
          this.remaining = size;
          this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
          return this.current;
        case '1':
          throw new HangarError('corrupt', `${this.label}: ${JSON.stringify(name)} is a hard link (to ${JSON.stringify(h.linkName)}); links are not accepted in appliances`);
        case '2':
          throw new HangarError('corrupt', `${this.label}: ${JSON.stringify(name)} is a symbolic link (to ${JSON.stringify(pax.get('linkpath') ?? h.linkName)}); links are not accepted in appliances`);
        case '5':
          throw new HangarError('corrupt', `${this.label}: ${JSON.stringify(name)} is a directory; an appliance holds only files`);
        default:
          throw new HangarError('corrupt', `${this.label}: ${JSON.stringify(name)} has tar type ${JSON.stringify(h.type)}; only regular files are accepted`);
      }
    }
  }

  /** Data of the current entry, in chunks. Throws when the archive ends early. */
  async *data(chunk = 4 << 20): AsyncGenerator<Buffer> {
    const name = this.current?.name;
    while (this.remaining > 0) {
      const b = await this.src.some(Math.min(chunk, this.remaining));
      if (b.length === 0) throw this.truncated(`${JSON.stringify(name)} is cut short (${this.remaining} of its ${this.current!.size} bytes missing)`);
      this.remaining -= b.length;
      yield b;
    }
    if ((await this.src.take(this.padding)).length < this.padding) throw this.truncated(`ends inside the padding of ${JSON.stringify(name)}`);
    this.padding = 0;
    this.current = undefined;
  }

  async skip(): Promise<void> {
    for await (const _ of this.data()) {
      // discard
    }
  }

  /** Bytes of the archive consumed so far (header and data of the current entry's header included). */
  get position(): number {
    return this.src.offset;
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}
