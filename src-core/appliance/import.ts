// `hangar import`: read a package, map each virtual system into a MachineConfig, extract and
// convert its disks into a new VM folder and register it. Nothing half-done survives: any failure
// removes every folder this import created and unregisters what it registered.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, open, rm, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { HangarError } from '../api/errors.ts';
import type { DiskFormat } from '../library/config.ts';
import type { Library } from '../library/library.ts';
import { writeMachineFile } from '../library/machine-file.ts';
import { CONFIG_EXTENSION, defaultMachinesFolder } from '../library/paths.ts';
import type { FormatName } from '../storage/format.ts';
import { formatByName } from '../storage/formats/index.ts';
import { probeFormat } from '../storage/open.ts';
import { convertImage } from '../storage/tools/convert.ts';
import { createImage } from '../storage/tools/create.ts';
import { checkDigest, parseManifest, type DigestAlgorithm, type ManifestEntry } from './manifest.ts';
import { planImport, type ImportPlan, type PlannedDisk } from './map-import.ts';
import type { OvfEnvelope, OvfFileRef } from './ovf-model.ts';
import { parseOvf } from './ovf-parse.ts';
import { MAX_SMALL_FILE, openPackage, type AppliancePackage, type PackageFile } from './package.ts';

export interface ImportRequest {
  file: string;
  library: Library;
  dryRun?: boolean;
  /** Index of the one virtual system to import (0-based); all when undefined. */
  vsys?: number;
  name?: string;
  memoryMiB?: number;
  cpus?: number;
  diskFormat?: DiskFormat;
  newUuid?: boolean;
  /** Folder receiving the VM folders (default HANGAR_HOME/Machines). */
  baseFolder?: string;
  signal?: AbortSignal;
  /** Called once the mapping is known, before anything is written. */
  onPlan?: (plans: PlanOutcome[], env: OvfEnvelope) => void;
  onProgress?: (message: string) => void;
}

export interface PlanOutcome {
  vsys: number;
  plan: ImportPlan;
  eulas: string[];
}

export interface ImportResult {
  plans: PlanOutcome[];
  /** `.hangar` files registered (empty for a dry run). */
  registered: string[];
  notes: string[];
}

const ALL_ALGOS: DigestAlgorithm[] = ['sha256', 'sha1'];

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

function isVmdkHead(head: Buffer): boolean {
  return head.toString('latin1', 0, 4) === 'KDMV' || head.toString('latin1', 0, 64).includes('# Disk DescriptorFile');
}

class Job {
  readonly created: string[] = [];
  readonly registered: { path: string; uuid: string }[] = [];
  readonly notes: string[] = [];
  manifest?: Map<string, ManifestEntry>;
  manifestName = '';
  /** Digests of files read before the manifest arrived, by name and algorithm. */
  readonly early = new Map<string, Map<DigestAlgorithm, string>>();
  readonly seen = new Set<string>();

  constructor(readonly req: ImportRequest, readonly pkg: AppliancePackage) {}

  check(): void {
    if (this.req.signal?.aborted) throw new HangarError('state', 'import interrupted');
  }

  hashers(name: string): Map<DigestAlgorithm, Hash> {
    const algos = this.manifest ? [this.manifest.get(name)?.algorithm ?? 'sha256'] : ALL_ALGOS;
    return new Map(algos.map((a) => [a, createHash(a)]));
  }

  verify(name: string, hashes: Map<DigestAlgorithm, Hash>): void {
    const digests = new Map([...hashes].map(([a, h]) => [a, h.digest('hex')] as const));
    this.seen.add(name);
    if (this.manifest) {
      const e = this.manifest.get(name);
      if (e) checkDigest(e, digests.get(e.algorithm)!, this.manifestName);
    } else this.early.set(name, digests);
  }

  setManifest(text: string, name: string): void {
    this.manifestName = name;
    this.manifest = parseManifest(text, name);
    for (const [file, d] of this.early) {
      const e = this.manifest.get(file);
      if (e) checkDigest(e, d.get(e.algorithm) ?? '', name);
    }
    const desc = this.manifest.get(this.pkg.descriptorName);
    if (desc) checkDigest(desc, createHash(desc.algorithm).update(this.pkg.descriptor).digest('hex'), name);
    else this.notes.push(`${name} does not list the descriptor ${this.pkg.descriptorName}; it was not verified`);
  }
}

async function consume(job: Job, f: PackageFile, sink?: (chunk: Buffer) => void): Promise<void> {
  const hashes = job.hashers(f.name);
  for await (const c of f.data()) {
    job.check();
    for (const h of hashes.values()) h.update(c);
    sink?.(c);
  }
  job.verify(f.name, hashes);
}

/** Most an ISO (or other non-disk file) may decompress to. */
const MAX_MEDIUM = 64 * 2 ** 30;

/** Extract one package file to `tmp` (gunzipping when declared), hashing the stored bytes. */
async function extract(job: Job, f: PackageFile, ref: OvfFileRef | undefined, limit: number, tmp: string): Promise<void> {
  const hashes = job.hashers(f.name);
  let out = 0;
  const src = async function* (): AsyncGenerator<Buffer> {
    for await (const c of f.data()) {
      job.check();
      for (const h of hashes.values()) h.update(c);
      yield c;
    }
  };
  const cap = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of source) {
      out += c.length;
      if (out > limit) throw new HangarError('corrupt', `${f.name}: decompresses to more than ${limit} bytes, far beyond what it declares`);
      yield c;
    }
  };
  const sink = createWriteStream(tmp, { flags: 'wx' });
  if (ref?.compression === 'gzip') await pipeline(src, createGunzip(), cap, sink);
  else await pipeline(src, cap, sink);
  job.verify(f.name, hashes);
}

async function sourceFormat(tmp: string, d: PlannedDisk, name: string): Promise<FormatName> {
  const fh = await open(tmp, 'r');
  const head = Buffer.alloc(512);
  try {
    await fh.read(head, 0, 512, 0);
  } finally {
    await fh.close();
  }
  if (isVmdkHead(head)) {
    if (!formatByName('vmdk')) throw new HangarError('unsupported', `${name}: this build cannot read VMDK images (no VMDK format is registered in the storage layer)`);
    return 'vmdk';
  }
  const probed = await probeFormat(tmp);
  if (probed === 'raw' && /vmdk/i.test(d.disk.format ?? '')) throw new HangarError('corrupt', `${name}: declared as VMDK (${d.disk.format}) but is not a VMDK image`);
  return probed;
}

async function importDisk(job: Job, folder: string, f: PackageFile, d: PlannedDisk, report: ImportPlan['report']): Promise<void> {
  const fmt = d.format;
  const tmp = join(folder, `.import-${d.disk.diskId.replace(/[^A-Za-z0-9_-]/g, '_')}.tmp`);
  job.req.onProgress?.(`extracting ${f.name}`);
  await extract(job, f, d.file, d.disk.capacity + Math.ceil(d.disk.capacity / 8) + (64 << 20), tmp);
  try {
    const srcFormat = await sourceFormat(tmp, d, f.name);
    job.req.onProgress?.(`converting ${f.name} to ${fmt}`);
    const res = await convertImage({
      src: tmp, srcFormat, dst: join(folder, d.target), dstFormat: fmt,
      onProgress: (done, total) => {
        job.check(); // an interrupt stops the conversion; convert removes its partial output
        job.req.onProgress?.(`converting ${f.name}: ${Math.floor((100 * done) / Math.max(total, 1))}%`);
      },
    });
    if (res.bytes !== d.disk.capacity) {
      report.adjusted(`disk ${d.disk.diskId}`, `${res.bytes} bytes`, `the image's own size; the descriptor declares ${d.disk.capacity}`);
    }
  } catch (err) {
    // Errors from the storage layer name the temporary copy; the user knows the package's name.
    if (err instanceof Error) err.message = err.message.split(tmp).join(f.name).split(basename(tmp)).join(f.name);
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function run(job: Job, env: OvfEnvelope, plans: PlanOutcome[]): Promise<void> {
  const req = job.req;
  const base = resolve(req.baseFolder ?? defaultMachinesFolder(req.library.home));
  const listing = await req.library.list();
  const folders = new Map<PlanOutcome, string>();
  for (const p of plans) {
    const c = p.plan.config;
    if (listing.some((m) => m.accessible && m.config.name === c.name)) throw new HangarError('exists', `a VM named "${c.name}" is already registered; import with --name NEWNAME`);
    if (listing.some((m) => m.uuid === c.uuid)) throw new HangarError('exists', `a VM with UUID ${c.uuid} is already registered; import with --new-uuid to give the copy a new identity`);
    const folder = join(base, c.name);
    if (await exists(folder)) throw new HangarError('exists', `${folder} already exists; import with --name NEWNAME`);
    folders.set(p, folder);
  }
  for (const folder of folders.values()) {
    await mkdir(join(folder, 'Logs'), { recursive: true });
    job.created.push(folder);
    await mkdir(join(folder, 'Snapshots'), { recursive: true });
  }
  const pending = new Map<string, { disk: PlannedDisk; folder: string; plan: ImportPlan }[]>();
  for (const p of plans) {
    for (const d of p.plan.disks) {
      if (!d.file) continue;
      const list = pending.get(d.file.href) ?? [];
      list.push({ disk: d, folder: folders.get(p)!, plan: p.plan });
      pending.set(d.file.href, list);
    }
  }
  const media = new Map<string, string[]>();
  for (const p of plans) {
    for (const m of p.plan.media) media.set(m.file.href, [...(media.get(m.file.href) ?? []), join(folders.get(p)!, m.target)]);
  }
  for await (const f of job.pkg.files(env)) {
    job.check();
    if (f.what.kind === 'manifest') {
      const chunks: Buffer[] = [];
      await consume(job, f, (c) => chunks.push(c));
      job.setManifest(Buffer.concat(chunks).toString('utf8'), f.name);
    } else if (f.what.kind === 'certificate') {
      await consume(job, f);
      job.notes.push(`${f.name}: the package is signed; the signature was not verified (certificate checking is not implemented)`);
    } else {
      const users = pending.get(f.name);
      const copies = media.get(f.name);
      if (copies && !users) {
        job.req.onProgress?.(`copying ${f.name}`);
        await extract(job, f, f.what.ref, MAX_MEDIUM, copies[0]!);
        for (const c of copies.slice(1)) await copyFile(copies[0]!, c);
        media.delete(f.name);
        continue;
      }
      if (!users) {
        await consume(job, f);
        continue;
      }
      const first = users[0]!;
      await importDisk(job, first.folder, f, first.disk, first.plan.report);
      // The same file used by two systems: copy the converted image for the others.
      for (const u of users.slice(1)) {
        await convertImage({ src: join(first.folder, first.disk.target), srcFormat: first.disk.format, dst: join(u.folder, u.disk.target), dstFormat: u.disk.format });
      }
      pending.delete(f.name);
    }
    if (f.size > MAX_SMALL_FILE) job.req.onProgress?.(`done with ${f.name}`);
  }
  if (media.size) {
    throw new HangarError('not-found', `${[...media.keys()].join(', ')}: named in References and attached to an optical drive, but missing from the package`);
  }
  if (pending.size) {
    throw new HangarError('not-found', `${[...pending.keys()].join(', ')}: named in References and used by a disk, but missing from the package`);
  }
  for (const e of job.manifest?.values() ?? []) {
    if (e.file !== job.pkg.descriptorName && !job.seen.has(e.file)) throw new HangarError('corrupt', `${e.file}: listed in ${job.manifestName} but missing from the package`);
  }
  for (const p of plans) {
    const folder = folders.get(p)!;
    for (const d of p.plan.disks) {
      if (d.file) continue;
      await createImage({ format: d.format, path: join(folder, d.target), size: d.disk.capacity });
    }
  }
  for (const p of plans) {
    const folder = folders.get(p)!;
    const path = join(folder, p.plan.config.name + CONFIG_EXTENSION);
    await writeMachineFile(path, p.plan.config);
    await req.library.register(path);
    job.registered.push({ path, uuid: p.plan.config.uuid });
  }
}

export async function importAppliance(req: ImportRequest): Promise<ImportResult> {
  const pkg = await openPackage(req.file);
  try {
    const env = parseOvf(pkg.descriptor.toString('utf8'), pkg.descriptorName);
    let indexes = env.systems.map((_, i) => i);
    if (req.vsys !== undefined) {
      if (req.vsys < 0 || req.vsys >= env.systems.length) {
        throw new HangarError('usage', `--vsys ${req.vsys}: the appliance has ${env.systems.length} virtual system(s), numbered 0 to ${env.systems.length - 1}`);
      }
      indexes = [req.vsys];
    }
    if (indexes.length > 1 && (req.name !== undefined || req.memoryMiB !== undefined || req.cpus !== undefined)) {
      throw new HangarError('usage', `the appliance holds ${indexes.length} virtual systems; choose one with --vsys N before using --name, --memory or --cpus`);
    }
    const plans: PlanOutcome[] = indexes.map((i) => ({
      vsys: i,
      plan: planImport(env, env.systems[i]!, {
        name: req.name, memoryMiB: req.memoryMiB, cpus: req.cpus, diskFormat: req.diskFormat, newUuid: req.newUuid,
      }),
      eulas: env.systems[i]!.eulas,
    }));
    const names = plans.map((p) => p.plan.config.name);
    if (new Set(names).size !== names.length) throw new HangarError('exists', `two virtual systems would both be named ${names.find((n, i) => names.indexOf(n) !== i)}; import them one at a time with --vsys N --name NAME`);
    req.onPlan?.(plans, env);
    if (req.dryRun) return { plans, registered: [], notes: [] };
    const job = new Job(req, pkg);
    try {
      await run(job, env, plans);
    } catch (err) {
      for (const r of job.registered) await req.library.unregister(r.uuid).catch(() => undefined);
      for (const folder of job.created) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    return { plans, registered: job.registered.map((r) => r.path), notes: job.notes };
  } finally {
    await pkg.close();
  }
}

