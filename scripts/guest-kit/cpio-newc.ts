// Writer for the cpio "newc" format (magic 070701), the only archive format the Linux kernel
// unpacks as an initramfs. Written here rather than calling the `cpio` tool so that the kit needs
// no extra package, device nodes can be added without root, and the output is byte-for-byte
// deterministic (fixed owners, mtimes and inode numbers, entries in the given order).
//
// Layout of one entry: a 110-byte ASCII header (magic + 13 eight-digit hex fields), the path name
// with its NUL, padding to a multiple of 4, the data, padding to a multiple of 4. The archive
// ends with an entry named "TRAILER!!!".

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const MAX_U32 = 0xffffffff;

function hex8(n: number, field: string, path: string): string {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) {
    throw new Error(`cpio: ${field} ${n} of '${path}' does not fit the newc header (0..0xffffffff)`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Archive paths are relative ("bin/sh"), without "..", empty or absolute components. */
function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.includes('\0') || path.split('/').some((c) => c === '' || c === '..' || c === '.')) {
    throw new Error(`cpio: invalid archive path '${path}' (must be relative, without '.', '..' or empty components)`);
  }
}

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function header(h: Header): Uint8Array {
  const name = new TextEncoder().encode(h.name + '\0');
  const fields = [
    '070701',
    hex8(h.ino, 'inode', h.name),
    hex8(h.mode, 'mode', h.name),
    hex8(0, 'uid', h.name), // everything belongs to root in the guest
    hex8(0, 'gid', h.name),
    hex8(h.nlink, 'nlink', h.name),
    hex8(h.mtime, 'mtime', h.name),
    hex8(h.size, 'size', h.name),
    hex8(0, 'devmajor', h.name),
    hex8(0, 'devminor', h.name),
    hex8(h.rdevMajor, 'rdevmajor', h.name),
    hex8(h.rdevMinor, 'rdevminor', h.name),
    hex8(name.length, 'namesize', h.name),
    hex8(0, 'check', h.name),
  ].join('');
  const head = new TextEncoder().encode(fields);
  const out = new Uint8Array(head.length + name.length + pad4(head.length + name.length));
  out.set(head, 0);
  out.set(name, head.length);
  return out;
}

/**
 * Serialises `entries` in order into one newc archive. Parents must come before children for the
 * kernel to unpack them (it does not create missing directories), so this checks that too.
 */
export function writeCpioNewc(entries: readonly CpioEntry[], opts: { mtime?: number } = {}): Uint8Array {
  const mtime = opts.mtime ?? 0;
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  const dirs = new Set<string>();
  let ino = 1;
  for (const e of entries) {
    checkPath(e.path);
    if (seen.has(e.path)) throw new Error(`cpio: duplicate archive path '${e.path}'`);
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    if (parent !== '' && !dirs.has(parent)) {
      throw new Error(`cpio: '${e.path}' comes before its parent directory '${parent}'`);
    }
    seen.add(e.path);
    let mode: number;
    let data: Uint8Array = new Uint8Array(0);
    let nlink = 1;
    let rdevMajor = 0;
    let rdevMinor = 0;
    switch (e.type) {
      case 'dir':
        mode = S_IFDIR | ((e.mode ?? 0o755) & 0o7777);
        nlink = 2;
        dirs.add(e.path);
        break;
      case 'file':
        mode = S_IFREG | ((e.mode ?? 0o644) & 0o7777);
        data = e.data;
        break;
      case 'symlink':
        if (e.target === '') throw new Error(`cpio: symlink '${e.path}' has an empty target`);
        mode = S_IFLNK | 0o777;
        data = new TextEncoder().encode(e.target);
        break;
      case 'chardev':
        mode = S_IFCHR | ((e.mode ?? 0o600) & 0o7777);
        rdevMajor = e.major;
        rdevMinor = e.minor;
        break;
    }
    parts.push(header({ ino: ino++, mode, nlink, mtime, size: data.length, rdevMajor, rdevMinor, name: e.path }));
    if (data.length > 0) {
      parts.push(data);
      parts.push(new Uint8Array(pad4(data.length)));
    }
  }
  parts.push(header({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0, name: 'TRAILER!!!' }));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
