// `hangar export`: one or more VMs → an OVA (tar: .ovf, .mf, disks) or an .ovf with its files
// beside it. Disks become streamOptimized VMDKs through the storage layer's converter. An OVA
// is written to a temporary name and renamed into place, so a failed export leaves nothing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { HangarError } from '../api/errors.ts';
import type { MachineConfig } from '../library/config.ts';
import { resolveMachinePath, type Library } from '../library/library.ts';
import { formatByName } from '../storage/formats/index.ts';
import { convertImage } from '../storage/tools/convert.ts';
import { formatManifest } from './manifest.ts';
import { writeOvf, type ExportDisk, type ExportMachine, type ProductInfo } from './ovf-write.ts';
import { TarWriter } from './tar-write.ts';

export interface ExportRequest {
  library: Library;
  machines: string[];
  output: string;
  ovf20?: boolean;
  product?: ProductInfo;
  manifest?: boolean;
  signal?: AbortSignal;
  /** Progress: a phase name and done/total bytes. */
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface ExportResult {
  output: string;
  files: { name: string; size: number }[];
  notes: string[];
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

interface SourceDisk {
  key: string;
  path: string;
  format: MachineConfig['storage'][number]['attachments'][number]['format'];
  href: string;
  diskId: string;
  fileId: string;
}

export async function exportAppliance(req: ExportRequest): Promise<ExportResult> {
  const output = resolve(req.output);
  const ext = extname(output).toLowerCase();
  if (ext !== '.ova' && ext !== '.ovf') throw new HangarError('usage', `-o ${req.output}: the output must end in .ova or .ovf`);
  if (!req.machines.length) throw new HangarError('usage', 'export: name at least one VM');
  if (await exists(output)) throw new HangarError('exists', `${output} already exists; remove it or choose another name`);
  if (!formatByName('vmdk')) throw new HangarError('unsupported', 'this build cannot write VMDK images (no VMDK format is registered in the storage layer), which appliances need');
  const notes: string[] = [];
  const loaded: { path: string; config: MachineConfig; disks: SourceDisk[] }[] = [];
  const base = basename(output, extname(output));
  let n = 0;
  for (const ref of req.machines) {
    const m = await req.library.get(ref);
    if (loaded.some((l) => l.config.uuid === m.config.uuid)) throw new HangarError('usage', `export: ${ref} is named twice`);
    const config = structuredClone(m.config);
    const disks: SourceDisk[] = [];
    for (const ctl of config.storage) {
      for (const a of ctl.attachments) {
        if (a.type === 'optical') {
          if (a.path) {
            a.path = resolveMachinePath(m.path, a.path);
            notes.push(`${config.name}: the optical image ${a.path} is not included; the configuration keeps its path`);
          }
          continue;
        }
        n++;
        disks.push({
          key: `${ctl.name}:${a.port}`, path: resolveMachinePath(m.path, a.path), format: a.format,
          href: `${base}-disk${n}.vmdk`, diskId: `vmdisk${n}`, fileId: `file${n}`,
        });
      }
    }
    // Host paths in the embedded configuration must still mean the same files after import.
    if (config.firmware.kernel) config.firmware.kernel = resolveMachinePath(m.path, config.firmware.kernel);
    if (config.firmware.initrd) config.firmware.initrd = resolveMachinePath(m.path, config.firmware.initrd);
    for (const s of config.serial) if (s.path) s.path = resolveMachinePath(m.path, s.path);
    loaded.push({ path: m.path, config, disks });
  }
  const isOva = ext === '.ova';
  const outDir = dirname(output);
  const tmpTag = `.${basename(output)}.${process.pid}`;
  const written: string[] = [];
  // OVA disks are converted in a private folder under their final names (the VMDK descriptor
  // records its own file name), then streamed into the archive.
  const work = isOva ? await mkdtemp(join(outDir, `${tmpTag}.`)) : undefined;
  if (work) written.push(work);
  const diskFile = (d: SourceDisk) => join(work ?? outDir, d.href);
  try {
    const machines: ExportMachine[] = [];
    const all = loaded.flatMap((l) => l.disks);
    let i = 0;
    for (const l of loaded) {
      const map = new Map<string, ExportDisk>();
      for (const d of l.disks) {
        i++;
        if (req.signal?.aborted) throw new HangarError('state', 'export interrupted');
        const dst = diskFile(d);
        if (!isOva && (await exists(dst))) throw new HangarError('exists', `${dst} already exists; remove it or choose another output name`);
        written.push(dst);
        const phase = `disk ${i}/${all.length} (${l.config.name})`;
        const res = await convertImage({
          src: d.path, srcFormat: d.format, dst, dstFormat: 'vmdk', subformat: 'streamOptimized',
          onProgress: (done, total) => {
            if (req.signal?.aborted) throw new HangarError('state', 'export interrupted');
            req.onProgress?.(phase, done, total);
          },
        });
        map.set(d.key, { diskId: d.diskId, fileId: d.fileId, href: d.href, size: (await stat(dst)).size, capacity: res.bytes, populatedSize: res.written });
      }
      machines.push({ config: l.config, disks: map });
    }
    const ovfName = `${base}.ovf`;
    const ovfText = Buffer.from(writeOvf({ ovf20: !!req.ovf20, machines, product: req.product }), 'utf8');
    const digests: { file: string; sha256: string }[] = [{ file: ovfName, sha256: createHash('sha256').update(ovfText).digest('hex') }];
    const diskList = machines.flatMap((m) => [...m.disks.values()]);
    const withManifest = req.manifest !== false;
    // An OVA's manifest is filled in after the disks stream into the archive (hashed on the
    // way); only the folder form needs a separate pass over the disks.
    if (withManifest && !isOva) {
      for (const d of diskList) {
        req.onProgress?.(`checksum ${d.href}`, 0, d.size);
        digests.push({ file: d.href, sha256: await sha256File(diskFile(all.find((s) => s.diskId === d.diskId)!)) });
      }
    }
    const placeholder = (d: ExportDisk) => ({ file: d.href, sha256: '0'.repeat(64) });
    const mfText = Buffer.from(formatManifest(isOva ? [...digests, ...diskList.map(placeholder)] : digests), 'utf8');
    const files = [{ name: ovfName, size: ovfText.length }, ...(withManifest ? [{ name: `${base}.mf`, size: mfText.length }] : []), ...diskList.map((d) => ({ name: d.href, size: d.size }))];
    if (isOva) {
      const partial = join(outDir, `${tmpTag}.partial`);
      written.push(partial);
      const fh = await open(partial, 'wx');
      try {
        const tar = new TarWriter(fh, basename(output));
        await tar.addBuffer(ovfName, ovfText);
        const mfAt = withManifest ? await tar.reserve(`${base}.mf`, mfText.length) : 0;
        const total = diskList.reduce((s, d) => s + d.size, 0);
        let done = 0;
        for (const d of diskList) {
          const src = diskFile(all.find((s) => s.diskId === d.diskId)!);
          const hash = createHash('sha256');
          const hashed = async function* (): AsyncGenerator<Buffer> {
            for await (const c of createReadStream(src, { highWaterMark: 4 << 20 })) {
              hash.update(c as Buffer);
              yield c as Buffer;
            }
          };
          await tar.addStream(d.href, d.size, hashed(), (k) => {
            done += k;
            req.onProgress?.('writing archive', done, total);
          });
          digests.push({ file: d.href, sha256: hash.digest('hex') });
          await rm(src, { force: true });
        }
        if (withManifest) await tar.patch(mfAt, Buffer.from(formatManifest(digests), 'utf8'), mfText.length);
        await tar.finish();
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(partial, output);
    } else {
      const ovfPath = output;
      const fh = await open(ovfPath, 'wx');
      written.push(ovfPath);
      try {
        await fh.writeFile(ovfText);
      } finally {
        await fh.close();
      }
      if (withManifest) {
        const mf = join(outDir, `${base}.mf`);
        const mh = await open(mf, 'wx');
        written.push(mf);
        try {
          await mh.writeFile(mfText);
        } finally {
          await mh.close();
        }
      }
    }
    return { output, files, notes };
  } catch (err) {
    for (const p of written.reverse()) await rm(p, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    if (work) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}
