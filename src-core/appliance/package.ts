// An appliance package as a sequence of files: an OVA read as a tar stream, or an .ovf with its
// files beside it. Both enforce the same rules: the descriptor first, then only the manifest,
// the certificate and files named in References, each once and no larger than declared.
import { createReadStream } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, isAbsolute } from 'node:path';
import { HangarError } from '../api/errors.ts';
import type { OvfEnvelope, OvfFileRef } from './ovf-model.ts';
import { TarReader } from './tar-read.ts';

export const MAX_DESCRIPTOR = 16 << 20;
export const MAX_SMALL_FILE = 1 << 20;

export type PackageFileKind = { kind: 'manifest' } | { kind: 'certificate' } | { kind: 'file'; ref: OvfFileRef };

export interface PackageFile {
  name: string;
  size: number;
  what: PackageFileKind;
  data(): AsyncIterable<Buffer>;
}

export interface AppliancePackage {
  label: string;
  descriptorName: string;
  descriptor: Buffer;
  /** The remaining files in package order. Missing files are simply not yielded. */
  files(env: OvfEnvelope): AsyncGenerator<PackageFile>;
  close(): Promise<void>;
}

/** Names that could escape a folder if anyone ever used them as paths. */
function unsafeName(name: string): string | undefined {
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || name.startsWith('\\')) return 'is an absolute path';
  if (name.split(/[/\\]/).includes('..')) return 'contains ".."';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f]/.test(name)) return 'contains control characters';
  return undefined;
}

/** Classify a package member, refusing anything the rules do not allow. */
export function classify(env: OvfEnvelope, descriptorName: string, name: string, size: number, seen: Set<string>, label: string): PackageFileKind {
  const bad = unsafeName(name);
  if (bad) throw new HangarError('corrupt', `${label}: member ${JSON.stringify(name)} ${bad}; refusing the package`);
  if (seen.has(name)) throw new HangarError('corrupt', `${label}: ${JSON.stringify(name)} appears twice in the package`);
  seen.add(name);
  const base = descriptorName.slice(0, -extname(descriptorName).length);
  if (name === `${base}.mf`) {
    if (size > MAX_SMALL_FILE) throw new HangarError('corrupt', `${label}: manifest ${name} is ${size} bytes, implausibly large`);
    return { kind: 'manifest' };
  }
  if (name === `${base}.cert`) {
    if (size > MAX_SMALL_FILE) throw new HangarError('corrupt', `${label}: certificate ${name} is ${size} bytes, implausibly large`);
    return { kind: 'certificate' };
  }
  const ref = env.files.find((f) => f.href === name);
  if (!ref) throw new HangarError('corrupt', `${label}: ${JSON.stringify(name)} is not named in the descriptor's References (only those files, the manifest and the certificate are allowed)`);
  if (ref.size !== undefined && size > ref.size) {
    throw new HangarError('corrupt', `${label}: ${name} is ${size} bytes but the descriptor declares ${ref.size}; refusing a file larger than declared`);
  }
  return { kind: 'file', ref };
}

async function readAll(it: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of it) {
    n += c.length;
    if (n > max) throw new HangarError('corrupt', `${what} is larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

export async function openOva(path: string): Promise<AppliancePackage> {
  const label = basename(path);
  const archiveSize = (await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new HangarError('not-found', `${path}: no such file`);
    throw err;
  })).size;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const tar = new TarReader(stream, label);
  try {
    const first = await tar.next();
    if (!first) throw new HangarError('corrupt', `${label}: the archive is empty`);
    if (!first.name.toLowerCase().endsWith('.ovf') || first.name.includes('/') || unsafeName(first.name)) {
      throw new HangarError('corrupt', `${label}: the first file must be the .ovf descriptor, found ${JSON.stringify(first.name)}`);
    }
    if (first.size > MAX_DESCRIPTOR) throw new HangarError('corrupt', `${label}: descriptor ${first.name} is ${first.size} bytes, more than ${MAX_DESCRIPTOR}`);
    const descriptor = await readAll(tar.data(), MAX_DESCRIPTOR, first.name);
    return {
      label,
      descriptorName: first.name,
      descriptor,
      async *files(env) {
        const seen = new Set([first.name]);
        for (;;) {
          const e = await tar.next();
          if (!e) return;
          // A header claiming more data than the file holds is caught before anything is written.
          if (e.size > archiveSize - tar.position) {
            throw new HangarError('corrupt', `${label}: truncated archive or lying header: ${JSON.stringify(e.name)} declares ${e.size} bytes but only ${archiveSize - tar.position} remain in the file`);
          }
          const what = classify(env, first.name, e.name, e.size, seen, label);
          yield { name: e.name, size: e.size, what, data: () => tar.data() };
        }
      },
      close: async () => {
        await tar.close();
        stream.destroy();
      },
    };
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

/** A regular file inside `dir`, not reached through a symbolic link; undefined when absent. */
async function memberPath(dir: string, name: string, label: string): Promise<string | undefined> {
  const p = join(dir, name);
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (st.isSymbolicLink()) throw new HangarError('corrupt', `${label}: ${name} is a symbolic link; package files must be regular files`);
  if (!st.isFile()) throw new HangarError('corrupt', `${label}: ${name} is not a regular file`);
  const real = await realpath(p);
  const rel = relative(await realpath(dir), real);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new HangarError('corrupt', `${label}: ${name} resolves outside the package folder`);
  return p;
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

export async function openOvfFolder(path: string): Promise<AppliancePackage> {
  const label = basename(path);
  const dir = dirname(path);
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new HangarError('not-found', `${path}: no such file`);
    throw err;
  });
  if (!st.isFile()) throw new HangarError('usage', `${path}: not a regular file`);
  if (st.size > MAX_DESCRIPTOR) throw new HangarError('corrupt', `${label}: descriptor is ${st.size} bytes, more than ${MAX_DESCRIPTOR}`);
  const descriptor = await readAll(fileChunks(path), MAX_DESCRIPTOR, label);
  return {
    label,
    descriptorName: label,
    descriptor,
    async *files(env) {
      const base = label.slice(0, -extname(label).length);
      const seen = new Set([label]);
      for (const name of [`${base}.mf`, `${base}.cert`, ...env.files.map((f) => f.href)]) {
        const p = await memberPath(dir, name, label);
        if (!p) continue;
        const size = (await lstat(p)).size;
        const what = classify(env, label, name, size, seen, label);
        yield { name, size, what, data: () => fileChunks(p) };
      }
    },
    close: async () => undefined,
  };
}

export async function openPackage(path: string): Promise<AppliancePackage> {
  const ext = extname(path).toLowerCase();
  if (ext === '.ova') return openOva(path);
  if (ext === '.ovf') return openOvfFolder(path);
  throw new HangarError('usage', `${path}: expected a .ova or .ovf file`);
}
