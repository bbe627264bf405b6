// Crash rounds for the VDI, VHD and VMDK (monolithicSparse) write paths. A child process does
// seeded random writes, discards and flushes and logs each completed flush; the parent kills it
// with SIGKILL at a random moment, then checks that
//   - qemu-img check (VDI, VMDK; qemu has none for VHD) and our own check find no corruption;
//   - every sector written before the last completed flush reads back, through qemu-img;
//   - Hangar reopens the image, writes to it, and leaves it consistent.
//
//   npx tsx test/integration/storage/vdi-vhd-vmdk-crash.ts [rounds-per-format=50] [seed=1]
// The integration test (vdi-vhd-vmdk-crash.test.ts) runs a few rounds per format.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ImageFormat } from '../../../src-core/storage/format.ts';
import { vdiFormat } from '../../../src-core/storage/formats/vdi.ts';
import { vhdFormat } from '../../../src-core/storage/formats/vhd.ts';
import { vmdkFormat } from '../../../src-core/storage/formats/vmdk.ts';
import { rng } from '../../helpers/rng.ts';

const SIZE = 8 << 20;
const SECTOR = 512;
const SELF = fileURLToPath(import.meta.url);

export const CRASH_FORMATS: Record<string, { fmt: ImageFormat; qemu: string; qemuCheck: boolean }> = {
  vdi: { fmt: vdiFormat, qemu: 'vdi', qemuCheck: true },
  vhd: { fmt: vhdFormat, qemu: 'vpc', qemuCheck: false },
  vmdk: { fmt: vmdkFormat, qemu: 'vmdk', qemuCheck: true },
};

interface Op {
  off: number;
  len: number;
  discard: boolean;
  flushAfter: boolean;
  data: Uint8Array;
}

/** Operation i of a round: the same in the writer and the verifier. */
function op(seed: number, i: number): Op {
  const r = rng(seed * 7919 + i * 104729 + 1);
  const sectors = 1 + Math.floor(r() * (r() < 0.25 ? 4096 : 16));
  const off = Math.floor(r() * (SIZE / SECTOR - sectors)) * SECTOR;
  const len = sectors * SECTOR;
  const discard = r() < 0.1;
  const flushAfter = r() < 0.2;
  const data = new Uint8Array(len);
  if (!discard) {
    for (let s = 0; s < len; s += SECTOR) {
      data[s] = i & 0xff; // each sector names its op
      data[s + 1] = (i >> 8) & 0xff;
      for (let j = 2; j < SECTOR; j++) data[s + j] = (r() * 256) | 0;
    }
  }
  return { off, len, discard, flushAfter, data };
}

/** Child: apply ops forever, logging "i" after each op and "f i" after each completed flush. */
async function writer(format: string, image: string, seed: number, log: string): Promise<void> {
  const img = await CRASH_FORMATS[format]!.fmt.open(image);
  for (let i = 0; i < 100000; i++) {
    const o = op(seed, i);
    if (o.discard) await img.discard(o.off, o.len);
    else await img.write(o.data, o.off);
    appendFileSync(log, `${i}\n`);
    if (o.flushAfter) {
      await img.flush();
      appendFileSync(log, `f ${i}\n`);
    }
  }
  await img.close();
}

export interface CrashOutcome {
  ops: number;
  flushedThrough: number;
  qemuCheck?: number;
  problems: string[];
}

/** One round: create, write in a child, SIGKILL it, verify. */
export async function crashRound(format: string, seed: number, dir: string): Promise<CrashOutcome> {
  const { fmt, qemu, qemuCheck } = CRASH_FORMATS[format]!;
  const image = path.join(dir, `crash-${seed}.${format}`);
  const log = path.join(dir, `crash-${seed}.log`);
  rmSync(image, { force: true });
  rmSync(log, { force: true });
  await fmt.create(image, SIZE);
  appendFileSync(log, '');
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--writer', format, image, String(seed), log], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  let exited = false;
  const exit = new Promise((res) => child.once('exit', () => res((exited = true))));
  // Start the clock once the writer is running (starting tsx can take seconds on a busy host).
  for (let waited = 0; readFileSync(log, 'utf8').length === 0; waited += 20) {
    if (exited || waited > 120_000) throw new Error(`crash writer did not start: ${stderr}`);
    await new Promise((res) => setTimeout(res, 20));
  }
  const r = rng(seed);
  await new Promise((res) => setTimeout(res, 100 + r() * 900));
  child.kill('SIGKILL');
  await exit;

  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  let done = -1;
  let flushed = -1;
  for (const l of lines) {
    if (l.startsWith('f ')) flushed = Number(l.slice(2));
    else done = Number(l);
  }
  const problems: string[] = [];
  const out: CrashOutcome = { ops: done + 1, flushedThrough: flushed, problems };
  if (qemuCheck) {
    const c = spawnSync('qemu-img', ['check', '-f', qemu, image], { encoding: 'utf8' });
    out.qemuCheck = c.status ?? -1;
    if (c.status !== 0 && c.status !== 3) problems.push(`qemu-img check exit ${c.status}: ${c.stdout}${c.stderr}`);
  }
  const ours = await fmt.check!(image);
  if (ours.corruptions > 0) problems.push(`hangar check: ${ours.messages.join('; ')}`);

  // Model of the flushed state; sectors touched after the last completed flush may hold
  // either old or new data and are not compared.
  const model = new Uint8Array(SIZE);
  const uncertain = new Uint8Array(SIZE / SECTOR);
  for (let i = 0; i <= done + 1; i++) {
    const o = op(seed, i);
    if (i <= flushed) model.set(o.discard ? new Uint8Array(o.len) : o.data, o.off);
    else uncertain.fill(1, o.off / SECTOR, (o.off + o.len) / SECTOR);
  }
  const raw = path.join(dir, `crash-${seed}.raw`);
  const conv = spawnSync('qemu-img', ['convert', '-f', qemu, '-O', 'raw', image, raw], { encoding: 'utf8' });
  if (conv.status !== 0) problems.push(`qemu-img convert failed: ${conv.stderr}`);
  else {
    const got = readFileSync(raw);
    let bad = 0;
    for (let s = 0; s < SIZE / SECTOR; s++) {
      if (uncertain[s]) continue;
      if (!got.subarray(s * SECTOR, (s + 1) * SECTOR).equals(model.subarray(s * SECTOR, (s + 1) * SECTOR))) bad++;
    }
    if (bad) problems.push(`${bad} flushed sector(s) do not read back`);
    rmSync(raw, { force: true });
  }

  // The crashed image must take new writes and stay consistent.
  const img = await fmt.open(image);
  const extra = new Uint8Array(65536).fill(0xc3);
  await img.write(extra, SIZE - 3 * 65536 - 512);
  await img.close();
  if (qemuCheck) {
    const c = spawnSync('qemu-img', ['check', '-f', qemu, image], { encoding: 'utf8' });
    if (c.status !== 0 && c.status !== 3) problems.push(`after reopen, qemu-img check exit ${c.status}`);
  }
  if ((await fmt.check!(image)).corruptions > 0) problems.push('after reopen, hangar check reports corruption');
  rmSync(image, { force: true });
  rmSync(log, { force: true });
  return out;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--writer') {
    await writer(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), process.argv[6]!);
    return;
  }
  const rounds = Number(process.argv[2] ?? 50);
  const seed = Number(process.argv[3] ?? 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-'));
  let failures = 0;
  try {
    for (const format of Object.keys(CRASH_FORMATS)) {
      let opsTotal = 0;
      let flushes = 0;
      for (let k = 0; k < rounds; k++) {
        const o = await crashRound(format, seed * 1000 + k, dir);
        opsTotal += o.ops;
        if (o.flushedThrough >= 0) flushes++;
        if (o.problems.length) {
          failures++;
          console.log(`FAIL ${format} seed ${seed * 1000 + k}: ${o.problems.join(' | ')}`);
        }
      }
      console.log(`${format}: ${rounds} rounds done (${opsTotal} ops, ${flushes} rounds with a completed flush)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} failing rounds` : 'all rounds clean');
  process.exitCode = failures ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
