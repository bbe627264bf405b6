// The one SIGKILL crash harness for every writable image format, used by the integration tier
// (test/integration/storage/crash.test.ts, a few rounds) and the long run (scripts/disk-crash.ts).
// A child process (disk-crash-writer.ts) does seeded random writes, discards and flushes and
// logs each op before it starts and each completed flush; the parent kills it with SIGKILL at a
// random moment, then checks that
//   - qemu-img check (where qemu has one for the format) and our own check find no corruption
//     (leaks are allowed: a crash may strand space);
//   - every write acknowledged by a completed flush reads back, through qemu-img (an independent
//     reader); a sector touched by an op started after that flush may hold its old data or the
//     data of one of those ops, nothing else;
//   - Hangar reopens the crashed image, writes to it, and leaves it consistent.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FormatName } from '../../src-core/storage/format.ts';
import { openImage, requireFormat } from '../../src-core/storage/open.ts';
import { rng } from './rng.ts';

export const CRASH_SIZE = 8 << 20;
const SECTOR = 512;
const WRITER = fileURLToPath(new URL('./disk-crash-writer.ts', import.meta.url));

/** Formats with a write path, their qemu-img driver name, and whether qemu-img can check them. */
export const CRASH_FORMATS: Partial<Record<FormatName, { qemu: string; qemuCheck: boolean }>> = {
  qcow2: { qemu: 'qcow2', qemuCheck: true },
  vdi: { qemu: 'vdi', qemuCheck: true },
  vhd: { qemu: 'vpc', qemuCheck: false }, // qemu-img has no check for VHD (exit 63)
  vmdk: { qemu: 'vmdk', qemuCheck: true },
};

export interface CrashOp {
  off: number;
  len: number;
  discard: boolean;
  flushAfter: boolean;
  /** What the range reads as after the op (zeros for a discard). */
  data: Uint8Array;
}

/** Operation i of a round: the same in the writer and the verifier. */
export function crashOp(seed: number, i: number): CrashOp {
  const r = rng(seed * 7919 + i * 104729 + 1);
  // Mostly small writes; a quarter up to 2 MiB, so ops cross clusters, grains and blocks.
  const sectors = 1 + Math.floor(r() * (r() < 0.25 ? 4096 : 16));
  const off = Math.floor(r() * (CRASH_SIZE / SECTOR - sectors)) * SECTOR;
  const len = sectors * SECTOR;
  const discard = r() < 0.1;
  const flushAfter = r() < 0.2;
  const data = new Uint8Array(len);
  if (!discard) {
    for (let s = 0; s < len; s += SECTOR) {
      // Each sector names its op, so a mixed-up sector can never pass as another write's data.
      data[s] = i & 0xff;
      data[s + 1] = (i >> 8) & 0xff;
      for (let j = 2; j < SECTOR; j++) data[s + j] = (r() * 256) | 0;
    }
  }
  return { off, len, discard, flushAfter, data };
}

export interface CrashResult {
  format: FormatName;
  seed: number;
  /** Ops covered by the last completed flush (ops 0 .. flushed-1 must read back). */
  flushed: number;
  /** Index of the last op the writer started (-1: none). */
  started: number;
  /** qemu-img check's exit status right after the kill (undefined where qemu has no check). */
  qemuCheck?: number;
  problems: string[];
}

function qemuCheckProblem(qemu: string, image: string, when: string): { status: number; problem?: string } {
  const c = spawnSync('qemu-img', ['check', '-f', qemu, image], { encoding: 'utf8' });
  const status = c.status ?? -1;
  return { status, problem: status === 0 || status === 3 ? undefined : `${when}qemu-img check exit ${status}: ${c.stdout}${c.stderr}` };
}

async function ourCheckProblem(format: FormatName, image: string, when: string): Promise<string | undefined> {
  const fmt = requireFormat(format);
  if (!fmt.check) return undefined;
  const r = await fmt.check(image);
  return r.corruptions > 0 ? `${when}hangar check: ${r.corruptions} corruption(s): ${r.messages.slice(0, 5).join('; ')}` : undefined;
}

/**
 * May a sector that differs from the flushed model hold these bytes? Only if ops that were in
 * flight cover it, and then byte by byte: SIGKILL can stop a large pwrite() part-way through a
 * sector (seen: a discard's zero-fill ending 16 bytes before a sector's end), so a sector may mix
 * old and new bytes; every byte must still come from the model or one of those ops.
 */
export function explainedByInFlight(sector: Uint8Array, at: number, model: Uint8Array, inFlight: CrashOp[]): boolean {
  const covering = inFlight.filter((o) => at >= o.off && at < o.off + o.len).map((o) => o.data.subarray(at - o.off, at - o.off + SECTOR));
  if (covering.length === 0) return false;
  for (let j = 0; j < SECTOR; j++) {
    const b = sector[j];
    if (b !== model[at + j] && !covering.some((d) => d[j] === b)) return false;
  }
  return true;
}

/** Start the writer, wait until it runs, kill it at a seeded moment; returns its log. */
async function runAndKill(format: FormatName, image: string, seed: number, log: string): Promise<string> {
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, format, image, String(seed), log], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  let exited = false;
  const exit = new Promise<void>((res) => child.once('exit', () => res(void (exited = true))));
  // Start the clock once the writer has opened the image (starting tsx can take seconds on a busy host).
  for (let waited = 0; !readFileSync(log, 'utf8').startsWith('ready'); waited += 10) {
    if (exited || waited > 120_000) {
      child.kill('SIGKILL');
      throw new Error(`crash writer did not start: ${stderr}`);
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  await new Promise((res) => setTimeout(res, 20 + rng(seed)() * 1200));
  child.kill('SIGKILL');
  await exit;
  if (stderr.trim()) throw new Error(`crash writer failed: ${stderr.trim().slice(0, 500)}`);
  return readFileSync(log, 'utf8');
}

/**
 * One round: create an image, write in a child, SIGKILL it, verify, reopen and write. With
 * `keepFailed`, a round that finds a problem first copies the crashed image and the writer's
 * log into that folder (before the reopen changes the image), for a look with other tools.
 */
export async function crashRound(dir: string, seed: number, format: FormatName, keepFailed?: string): Promise<CrashResult> {
  const spec = CRASH_FORMATS[format];
  if (!spec) throw new Error(`no crash test for format ${format}`);
  const fmt = requireFormat(format);
  const image = path.join(dir, `crash-${seed}.${format}`);
  const log = `${image}.log`;
  rmSync(image, { force: true });
  await fmt.create(image, CRASH_SIZE, format === 'qcow2' ? { cluster: rng(seed + 1)() < 0.5 ? 4096 : 65536 } : {});

  let flushed = 0;
  let started = -1;
  for (const line of (await runAndKill(format, image, seed, log)).split('\n')) {
    if (line.startsWith('s ')) started = Number(line.slice(2));
    else if (line.startsWith('f ')) flushed = Number(line.slice(2));
  }
  const out: CrashResult = { format, seed, flushed, started, problems: [] };
  const problem = (p: string | undefined) => p && out.problems.push(p);

  if (spec.qemuCheck) {
    const c = qemuCheckProblem(spec.qemu, image, '');
    out.qemuCheck = c.status;
    problem(c.problem);
  }
  problem(await ourCheckProblem(format, image, ''));

  // The flushed state, and the ops whose data may or may not have landed.
  const model = new Uint8Array(CRASH_SIZE);
  for (let i = 0; i < flushed; i++) {
    const o = crashOp(seed, i);
    model.set(o.data, o.off);
  }
  const inFlight: CrashOp[] = [];
  for (let i = flushed; i <= started; i++) inFlight.push(crashOp(seed, i));
  const raw = `${image}.raw`;
  const conv = spawnSync('qemu-img', ['convert', '-f', spec.qemu, '-O', 'raw', image, raw], { encoding: 'utf8' });
  if (conv.status !== 0) problem(`qemu-img convert failed: ${conv.stderr}`);
  else {
    const got = readFileSync(raw);
    rmSync(raw, { force: true });
    let bad = 0;
    for (let s = 0; s < CRASH_SIZE && bad < 5; s += SECTOR) {
      const sector = got.subarray(s, s + SECTOR);
      if (sector.equals(model.subarray(s, s + SECTOR))) continue;
      if (!explainedByInFlight(sector, s, model, inFlight)) {
        bad++;
        problem(`sector ${s / SECTOR} holds data from no flushed or in-flight write (flushed ${flushed}, started ${started})`);
      }
    }
  }

  if (keepFailed && out.problems.length) {
    copyFileSync(image, path.join(keepFailed, path.basename(image)));
    copyFileSync(log, path.join(keepFailed, path.basename(log)));
  }

  // The crashed image must take new writes and stay consistent.
  const img = await openImage(image, format);
  await img.write(new Uint8Array(65536).fill(0xc3), CRASH_SIZE - 3 * 65536 - 512);
  await img.close();
  if (spec.qemuCheck) problem(qemuCheckProblem(spec.qemu, image, 'after reopen, ').problem);
  problem(await ourCheckProblem(format, image, 'after reopen, '));
  rmSync(image, { force: true });
  rmSync(log, { force: true });
  return out;
}
