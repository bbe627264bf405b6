// Seeded fuzzing of disk-image headers and tables. Valid template images (made by qemu-img,
// every registered format) get mutated — bit flips, boundary integers in header fields and
// table entries — and are then probed, opened, read, inspected, checked and written. The only
// acceptable failure is a HangarError; anything else (TypeError, RangeError, a hang) is a bug.
//
//   npx tsx scripts/disk-fuzz.ts [iterations=5000] [seed=1]
//   npx tsx scripts/disk-fuzz.ts --replay TEMPLATE SEED
// The unit tier runs a bounded slice of the same code (test/unit/storage/fuzz.test.ts).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HangarError } from '../src-core/api/errors.ts';
import type { FormatName, ImageFormat } from '../src-core/storage/format.ts';
import { allFormats } from '../src-core/storage/formats/index.ts';
import { probeFormat } from '../src-core/storage/open.ts';
import { rng } from '../test/helpers/rng.ts';

export interface Template {
  name: string;
  format: FormatName;
  bytes: Uint8Array;
  /** [start, end) byte ranges holding metadata worth mutating. */
  regions: [number, number][];
}

/** Metadata regions of a qcow2 image: header cluster start, L1, refcount table and first block, L2 tables. */
function qcow2Regions(b: Uint8Array): [number, number][] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const cs = 2 ** dv.getUint32(20);
  const l1Size = dv.getUint32(36);
  const l1 = Number(dv.getBigUint64(40));
  const rt = Number(dv.getBigUint64(48));
  const regions: [number, number][] = [[0, Math.min(1024, b.length)], [l1, l1 + l1Size * 8], [rt, rt + 64]];
  const rb = Number(dv.getBigUint64(rt) & ~0x1ffn);
  if (rb) regions.push([rb, rb + 256]);
  for (let i = 0; i < l1Size; i++) {
    const l2 = Number(dv.getBigUint64(l1 + i * 8) & 0x00fffffffffffe00n);
    if (l2 && l2 + cs <= b.length) regions.push([l2, l2 + 512]);
  }
  const nSnap = dv.getUint32(60);
  if (nSnap) {
    const so = Number(dv.getBigUint64(64));
    regions.push([so, so + 256]);
  }
  return regions.filter(([s, e]) => s < e && e <= b.length);
}

/** Build template images in `dir` for every registered format qemu-img can write. */
export function makeTemplates(dir: string): Template[] {
  const src = path.join(dir, 'src.raw');
  const r = rng(7);
  const data = new Uint8Array(2 << 20);
  for (let i = 0; i < data.length; i += 4096) if (r() < 0.3) for (let j = 0; j < 4096; j++) data[i + j] = (r() * 256) | 0;
  writeFileSync(src, data);
  const out: Template[] = [];
  const add = (name: string, format: FormatName, args: string[], regions?: (b: Uint8Array) => [number, number][]) => {
    const p = path.join(dir, name);
    execFileSync('qemu-img', [...args, p], { stdio: 'ignore' });
    const bytes = new Uint8Array(readFileSync(p));
    out.push({ name, format, bytes, regions: regions ? regions(bytes) : [[0, Math.min(bytes.length, 65536)]] });
  };
  const known = new Set(allFormats().map((f) => f.name));
  add('v3.qcow2', 'qcow2', ['convert', '-O', 'qcow2', '-o', 'cluster_size=4096', src], qcow2Regions);
  add('v2.qcow2', 'qcow2', ['convert', '-O', 'qcow2', '-o', 'compat=0.10,cluster_size=4096', src], qcow2Regions);
  add('comp.qcow2', 'qcow2', ['convert', '-c', '-O', 'qcow2', '-o', 'cluster_size=4096', src], qcow2Regions);
  copyFileSync(path.join(dir, 'v3.qcow2'), path.join(dir, 'base.qcow2'));
  add('overlay.qcow2', 'qcow2', ['create', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'base.qcow2', '-F', 'qcow2'], qcow2Regions);
  add('snap.qcow2', 'qcow2', ['convert', '-O', 'qcow2', '-o', 'cluster_size=4096', src], qcow2Regions);
  execFileSync('qemu-img', ['snapshot', '-c', 'one', path.join(dir, 'snap.qcow2')]);
  out[out.length - 1]!.bytes = new Uint8Array(readFileSync(path.join(dir, 'snap.qcow2')));
  out[out.length - 1]!.regions = qcow2Regions(out[out.length - 1]!.bytes);
  if (known.has('vdi')) add('dyn.vdi', 'vdi', ['convert', '-O', 'vdi', src]);
  if (known.has('vhd')) add('dyn.vhd', 'vhd', ['convert', '-O', 'vpc', '-o', 'force_size=on', src], (b) => [[0, 2048], [b.length - 512, b.length]]);
  if (known.has('vmdk')) {
    add('sparse.vmdk', 'vmdk', ['convert', '-O', 'vmdk', src]);
    add('stream.vmdk', 'vmdk', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src], (b) => [[0, 4096], [b.length - 1536, b.length]]);
  }
  return out;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0xfff, 0x1000, 0x7fffffff, 0x80000000, 0xffffffff];

export function mutate(t: Template, seed: number): Uint8Array {
  const r = rng(seed);
  const b = Uint8Array.from(t.bytes);
  const dv = new DataView(b.buffer);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const [s, e] = t.regions[Math.floor(r() * t.regions.length)]!;
    const at = s + Math.floor(r() * (e - s));
    const kind = r();
    if (kind < 0.35) b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
    else if (kind < 0.55) b[at] = INTERESTING[Math.floor(r() * 5)]!;
    else if (kind < 0.8 && at + 4 <= b.length) dv.setUint32(at & ~3, INTERESTING[Math.floor(r() * INTERESTING.length)]!);
    else if (at + 8 <= b.length) {
      // A 64-bit field: huge, just past the end of the file, or a small misaligned offset.
      const choices = [2 ** 53, b.length, b.length + 4096, 512, 1, 2 ** 40];
      dv.setBigUint64(at & ~7, BigInt(choices[Math.floor(r() * choices.length)]!));
    }
  }
  return b;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`hang: ${what} took more than ${ms} ms`)), ms);
    }),
  ]);
}

/** Exercise one mutated image; resolves with the HangarError (or undefined) and rejects on any other failure. */
async function exercise(fmt: ImageFormat, file: string, r: () => number): Promise<HangarError | undefined> {
  try {
    await probeFormat(file);
    const img = await fmt.open(file, { readOnly: true });
    try {
      await img.info();
      const buf = new Uint8Array(65536);
      const spots = [0, img.capacity - buf.length];
      for (let i = 0; i < 6; i++) spots.push(Math.floor((r() * img.capacity) / 512) * 512);
      for (const at of spots) {
        if (at < 0) continue;
        const n = Math.min(buf.length, img.capacity - at);
        if (n > 0) await img.read(buf.subarray(0, n), at);
      }
      if (img.mapRanges && img.capacity > 0) await img.mapRanges(0, Math.min(img.capacity, 16 << 20));
    } finally {
      await img.close();
    }
    if (fmt.check) await fmt.check(file, {});
    const rw = await fmt.open(file, {});
    try {
      const n = Math.min(8192, rw.capacity);
      const at = Math.floor((r() * (rw.capacity - n)) / 512) * 512;
      if (n > 0) {
        await rw.write(new Uint8Array(n).fill(0x5a), at);
        await rw.flush();
        const back = new Uint8Array(n);
        await rw.read(back, at);
        if (back.some((x) => x !== 0x5a)) throw new Error(`read-back after write differs at ${at}`);
      }
    } finally {
      await rw.close();
    }
    return undefined;
  } catch (err) {
    if (err instanceof HangarError) return err;
    throw err;
  }
}

export interface FuzzResult {
  iterations: number;
  rejected: number;
  accepted: number;
  failures: { template: string; seed: number; error: string }[];
}

/** One case: mutate template `t` with seed `s` and exercise it. Resolves true when rejected cleanly. */
export async function fuzzCase(dir: string, t: Template, s: number): Promise<boolean> {
  const fmt = allFormats().find((f) => f.name === t.format)!;
  const file = path.join(dir, `fuzz-${t.name}`);
  writeFileSync(file, mutate(t, s));
  try {
    return (await withTimeout(exercise(fmt, file, rng(s)), 20_000, `${t.name} seed ${s}`)) !== undefined;
  } finally {
    rmSync(file, { force: true });
  }
}

export async function fuzz(dir: string, templates: Template[], iterations: number, seed: number): Promise<FuzzResult> {
  const res: FuzzResult = { iterations, rejected: 0, accepted: 0, failures: [] };
  for (let i = 0; i < iterations; i++) {
    const s = seed * 1_000_003 + i;
    const t = templates[i % templates.length]!;
    try {
      if (await fuzzCase(dir, t, s)) res.rejected++;
      else res.accepted++;
    } catch (err) {
      res.failures.push({ template: t.name, seed: s, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  }
  return res;
}

async function cli(): Promise<void> {
  if (process.argv[2] === '--replay') {
    // npx tsx scripts/disk-fuzz.ts --replay TEMPLATE SEED   (as printed by a FAIL line)
    const dir = mkdtempSync(path.join(tmpdir(), 'hangar-fuzz-'));
    try {
      const t = makeTemplates(dir).find((x) => x.name === process.argv[3]);
      if (!t) throw new Error(`no template ${process.argv[3]}`);
      console.log((await fuzzCase(dir, t, Number(process.argv[4]))) ? 'rejected cleanly' : 'accepted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const iterations = Number(process.argv[2] ?? 5000);
  const seed = Number(process.argv[3] ?? 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'hangar-fuzz-'));
  try {
    const templates = makeTemplates(dir);
    console.log(`templates: ${templates.map((t) => t.name).join(', ')}`);
    const started = Date.now();
    const r = await fuzz(dir, templates, iterations, seed);
    console.log(`${r.iterations} iterations in ${((Date.now() - started) / 1000).toFixed(1)} s: ${r.rejected} rejected with HangarError, ${r.accepted} accepted, ${r.failures.length} failures`);
    for (const f of r.failures.slice(0, 20)) console.log(`FAIL ${f.template} seed ${f.seed}: ${f.error}`);
    process.exitCode = r.failures.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli();
