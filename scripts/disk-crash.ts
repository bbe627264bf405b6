// Crash test for the qcow2 write path. A child process does seeded random writes, discards and
// flushes on an image and is killed with SIGKILL at a random moment. Afterwards:
//   - `qemu-img check` must report a clean image or leaks only (never corruption), and so must ours;
//   - every write acknowledged by a completed flush must read back (through qemu-img, an
//     independent reader); sectors touched only by unflushed writes may hold old or new data;
//   - Hangar must reopen the crashed (dirty) image, write to it, and leave it consistent.
//
//   npx tsx scripts/disk-crash.ts [iterations=50] [seed=1] [format=qcow2]
// Any registered format can be crash-tested; qemu-img has no check for VHD (exit 63), so there
// only the data rule applies.
// The integration tier runs a few iterations of the same code (test/integration/storage/crash.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FormatName } from '../src-core/storage/format.ts';
import { openImage, requireFormat } from '../src-core/storage/open.ts';
import { rng } from '../test/helpers/rng.ts';

const SIZE = 8 << 20;
const SECTOR = 512;
const SELF = fileURLToPath(import.meta.url);

interface Op {
  off: number;
  len: number;
  discard: boolean;
  flushAfter: boolean;
  data: Uint8Array;
}

/** Operation i of a run: the same in writer and verifier. */
function op(seed: number, i: number): Op {
  const r = rng(seed * 7919 + i * 104729 + 1);
  const sectors = 1 + Math.floor(r() * (r() < 0.25 ? 512 : 16));
  const off = Math.floor(r() * (SIZE / SECTOR - sectors)) * SECTOR;
  const len = sectors * SECTOR;
  const discard = r() < 0.1;
  const flushAfter = r() < 0.15;
  const data = new Uint8Array(len);
  if (!discard) {
    const tag = i & 0xffff;
    for (let s = 0; s < len; s += SECTOR) {
      // Each sector names its op, so a mixed-up sector can never pass as another write's data.
      data[s] = tag & 0xff;
      data[s + 1] = tag >> 8;
      for (let j = 2; j < SECTOR; j++) data[s + j] = (r() * 256) | 0;
    }
  }
  return { off, len, discard, flushAfter, data };
}

async function writer(file: string, seed: number, format: FormatName): Promise<void> {
  const img = await openImage(file, format);
  writeSync(1, 'READY\n');
  for (let i = 0; ; i++) {
    const o = op(seed, i);
    writeSync(1, `W ${i}\n`); // synchronous: in the pipe before the op starts, survives SIGKILL
    if (o.discard) await img.discard(o.off, o.len);
    else await img.write(o.data, o.off);
    if (o.flushAfter) {
      await img.flush();
      writeSync(1, `F ${i + 1}\n`);
    }
  }
}

export interface CrashResult {
  seed: number;
  flushed: number;
  started: number;
  qemuCheck: number;
  problems: string[];
}

const QEMU_NAME: Record<FormatName, string> = { raw: 'raw', qcow2: 'qcow2', vdi: 'vdi', vmdk: 'vmdk', vhd: 'vpc' };

export async function crashIteration(dir: string, seed: number, format: FormatName = 'qcow2'): Promise<CrashResult> {
  const r = rng(seed);
  const fmt = requireFormat(format);
  const qname = QEMU_NAME[format];
  const file = path.join(dir, `crash-${seed}.${format}`);
  rmSync(file, { force: true });
  const cluster = r() < 0.5 ? 4096 : 65536;
  await fmt.create(file, SIZE, format === 'qcow2' ? { cluster } : {});
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, 'writer', file, String(seed), format], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (out.includes('READY')) {
        clearInterval(t);
        res();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        rej(new Error(`writer died: ${err}`));
      }
    }, 5);
  });
  await new Promise((res) => setTimeout(res, 20 + r() * 1500));
  child.kill('SIGKILL');
  await exited;

  const lines = out.split('\n');
  let flushed = 0;
  let started = -1;
  for (const l of lines) {
    if (l.startsWith('F ')) flushed = Number(l.slice(2));
    if (l.startsWith('W ')) started = Number(l.slice(2));
  }
  const problems: string[] = [];
  if (err.trim()) problems.push(`writer stderr: ${err.trim().slice(0, 500)}`);

  const chk = spawnSync('qemu-img', ['check', '-f', qname, file], { encoding: 'utf8' });
  const qemuCheck = chk.status ?? -1;
  if (qemuCheck !== 0 && qemuCheck !== 3 && qemuCheck !== 63) problems.push(`qemu-img check exit ${qemuCheck}: ${chk.stdout}${chk.stderr}`);
  const ours = fmt.check ? await fmt.check(file) : { corruptions: 0, messages: [] };
  if (ours.corruptions > 0) problems.push(`hangar check: ${ours.corruptions} corruptions: ${ours.messages.slice(0, 5).join('; ')}`);

  // Model: every op before the last completed flush; candidates: ops started after it.
  const model = new Uint8Array(SIZE);
  for (let i = 0; i < flushed; i++) {
    const o = op(seed, i);
    model.set(o.data, o.off);
  }
  const candidates: Op[] = [];
  for (let i = flushed; i <= started; i++) candidates.push(op(seed, i));
  const rawOut = `${file}.raw`;
  const conv = spawnSync('qemu-img', ['convert', '-f', qname, '-O', 'raw', file, rawOut], { encoding: 'utf8' });
  if (conv.status !== 0) problems.push(`qemu-img convert failed: ${conv.stderr}`);
  else {
    const actual = new Uint8Array(readFileSync(rawOut));
    rmSync(rawOut, { force: true });
    let bad = 0;
    for (let s = 0; s < SIZE && bad < 5; s += SECTOR) {
      const got = actual.subarray(s, s + SECTOR);
      if (Buffer.compare(got, model.subarray(s, s + SECTOR)) === 0) continue;
      const ok = candidates.some((c) => s >= c.off && s < c.off + c.len && Buffer.compare(got, c.data.subarray(s - c.off, s - c.off + SECTOR)) === 0);
      if (!ok) {
        bad++;
        problems.push(`sector ${s / SECTOR} holds data from no flushed or in-flight write (flushed ${flushed}, started ${started})`);
      }
    }
  }

  // Recovery: Hangar reopens the dirty image, writes, closes; still consistent.
  const img = await openImage(file, format);
  await img.write(new Uint8Array(65536).fill(0x77), SIZE - 65536);
  await img.close();
  const after = spawnSync('qemu-img', ['check', '-f', qname, file], { encoding: 'utf8' });
  if (after.status !== 0 && after.status !== 3 && after.status !== 63) problems.push(`after reopen, qemu-img check exit ${after.status}: ${after.stdout}`);
  rmSync(file, { force: true });
  return { seed, flushed, started, qemuCheck, problems };
}

async function cli(): Promise<void> {
  if (process.argv[2] === 'writer') {
    await writer(process.argv[3]!, Number(process.argv[4]), (process.argv[5] ?? 'qcow2') as FormatName);
    return;
  }
  const iterations = Number(process.argv[2] ?? 50);
  const seed = Number(process.argv[3] ?? 1);
  const format = requireFormat(process.argv[4] ?? 'qcow2').name;
  const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-'));
  let failed = 0;
  let leaky = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const res = await crashIteration(dir, seed * 1000 + i, format);
      if (res.qemuCheck === 3) leaky++;
      if (res.problems.length) failed++;
      console.log(`#${i} seed ${res.seed}: ${res.flushed} ops flushed, ${res.started + 1} started, qemu-img check ${res.qemuCheck}${res.problems.length ? `\n  FAIL ${res.problems.join('\n  FAIL ')}` : ' ok'}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${format}: ${iterations} kills: ${failed} failed, ${leaky} left leaks only, ${iterations - failed - leaky} clean`);
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli();
