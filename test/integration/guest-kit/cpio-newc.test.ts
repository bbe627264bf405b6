// The newc writer against the format as the kernel reads it: exact header bytes for a known
// entry, 4-byte alignment of names and data, the trailer, and rejection of archives the kernel
// would unpack wrongly. (The boot tests then prove the kernel accepts a real archive.)
import { describe, expect, it } from 'vitest';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeCpioNewc } from '../../../scripts/guest-kit/cpio-newc.ts';

interface Parsed {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Uint8Array;
  offset: number;
}

/** An independent reader, written from the format description, used only to check the writer. */
function parseNewc(buf: Uint8Array): Parsed[] {
  const dec = new TextDecoder('latin1');
  const out: Parsed[] = [];
  let off = 0;
  for (;;) {
    expect(off % 4).toBe(0);
    const h = dec.decode(buf.subarray(off, off + 110));
    expect(h.slice(0, 6)).toBe('070701');
    const f = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const namesize = f(11);
    const size = f(6);
    const nameStart = off + 110;
    const name = dec.decode(buf.subarray(nameStart, nameStart + namesize - 1));
    expect(buf[nameStart + namesize - 1]).toBe(0);
    const dataStart = Math.ceil((nameStart + namesize) / 4) * 4;
    const entry: Parsed = {
      name,
      ino: f(0),
      mode: f(1),
      uid: f(2),
      gid: f(3),
      nlink: f(4),
      mtime: f(5),
      rdevMajor: f(9),
      rdevMinor: f(10),
      data: buf.subarray(dataStart, dataStart + size),
      offset: off,
    };
    out.push(entry);
    off = Math.ceil((dataStart + size) / 4) * 4;
    if (name === 'TRAILER!!!') break;
  }
  expect(off).toBe(buf.length);
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('cpio newc writer', () => {
  it('writes the exact header the format prescribes for a single file', () => {
    const a = writeCpioNewc([{ type: 'file', path: 'init', data: enc('hi\n'), mode: 0o755 }], { mtime: 0x5f5e100 });
    const expected =
      '070701' +
      '00000001' + // ino
      '000081ed' + // S_IFREG | 0755
      '00000000' + '00000000' + // uid, gid
      '00000001' + // nlink
      '05f5e100' + // mtime
      '00000003' + // size
      '00000000' + '00000000' + // dev major/minor
      '00000000' + '00000000' + // rdev major/minor
      '00000005' + // "init\0"
      '00000000'; // check
    expect(new TextDecoder().decode(a.subarray(0, 110))).toBe(expected);
    // 110 + 5 = 115 -> padded to 116; data 3 -> padded to 4; then the trailer.
    expect(new TextDecoder().decode(a.subarray(110, 115))).toBe('init\0');
    expect(a[115]).toBe(0);
    expect(new TextDecoder().decode(a.subarray(116, 119))).toBe('hi\n');
    expect(new TextDecoder().decode(a.subarray(120, 126))).toBe('070701');
    const parsed = parseNewc(a);
    expect(parsed.map((p) => p.name)).toEqual(['init', 'TRAILER!!!']);
  });

  it('round-trips directories, files of every padding, symlinks and device nodes', () => {
    const files = [0, 1, 2, 3, 4, 5, 1000].map((n) => ({
      type: 'file' as const,
      path: `d/f${n}`,
      data: Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff),
    }));
    const a = writeCpioNewc([
      { type: 'dir', path: 'd' },
      ...files,
      { type: 'symlink', path: 'd/sh', target: '/bin/busybox' },
      { type: 'chardev', path: 'd/console', major: 5, minor: 1 },
    ]);
    const p = parseNewc(a);
    expect(p.map((e) => e.name)).toEqual(['d', ...files.map((f) => f.path), 'd/sh', 'd/console', 'TRAILER!!!']);
    expect(p[0]!.mode).toBe(S_IFDIR | 0o755);
    expect(p[0]!.nlink).toBe(2);
    for (let i = 0; i < files.length; i++) {
      expect(p[i + 1]!.mode).toBe(S_IFREG | 0o644);
      expect(Buffer.from(p[i + 1]!.data).equals(Buffer.from(files[i]!.data))).toBe(true);
    }
    const link = p.find((e) => e.name === 'd/sh')!;
    expect(link.mode).toBe(S_IFLNK | 0o777);
    expect(new TextDecoder().decode(link.data)).toBe('/bin/busybox');
    const dev = p.find((e) => e.name === 'd/console')!;
    expect(dev.mode).toBe(S_IFCHR | 0o600);
    expect([dev.rdevMajor, dev.rdevMinor]).toEqual([5, 1]);
    expect(dev.data.length).toBe(0);
    // Distinct inode numbers: the kernel treats equal (ino, nlink>1) pairs as hard links.
    const inos = p.filter((e) => e.name !== 'TRAILER!!!').map((e) => e.ino);
    expect(new Set(inos).size).toBe(inos.length);
    expect(p.every((e) => e.uid === 0 && e.gid === 0)).toBe(true);
  });

  it('is deterministic', () => {
    const entries = [
      { type: 'dir' as const, path: 'bin' },
      { type: 'file' as const, path: 'bin/x', data: enc('abc'), mode: 0o755 },
    ];
    expect(Buffer.from(writeCpioNewc(entries)).equals(Buffer.from(writeCpioNewc(entries)))).toBe(true);
  });

  it('rejects paths and orders the kernel would mishandle, naming the path', () => {
    const f = (path: string) => ({ type: 'file' as const, path, data: enc('x') });
    expect(() => writeCpioNewc([f('/init')])).toThrow(/invalid archive path '\/init'/);
    expect(() => writeCpioNewc([f('a/../init')])).toThrow(/invalid archive path 'a\/..\/init'/);
    expect(() => writeCpioNewc([f('')])).toThrow(/invalid archive path/);
    expect(() => writeCpioNewc([f('init'), f('init')])).toThrow(/duplicate archive path 'init'/);
    expect(() => writeCpioNewc([f('bin/sh')])).toThrow(/'bin\/sh' comes before its parent directory 'bin'/);
    expect(() => writeCpioNewc([{ type: 'symlink', path: 'l', target: '' }])).toThrow(/symlink 'l' has an empty target/);
    expect(() => writeCpioNewc([{ type: 'chardev', path: 'c', major: -1, minor: 0 }])).toThrow(/rdevmajor -1 of 'c'/);
  });
});
