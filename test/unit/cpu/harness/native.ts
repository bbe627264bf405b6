// Builds the native runner with the system C compiler (cached in .cache/cpu-diff by the
// source's hash) and runs batches of differential cases on the host CPU.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DiffCase, DiffResult } from './types.ts';
import { SIGTRAP, WIN_SIZE, initX87 } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../../..');
const SRC = join(here, 'native-runner.c');

const X87_SIZE = 8 + 80;
export const INPUT_SIZE = 16 * 8 + 8 + 4 + 4 + 256 + X87_SIZE + 64 + WIN_SIZE;
export const OUTPUT_SIZE = 4 + 4 + 16 * 8 + 8 + 8 + 4 + 4 + 256 + X87_SIZE + WIN_SIZE;

export function hostIsX86_64(): boolean {
  return process.arch === 'x64' && process.platform === 'linux';
}

export function buildRunner(): string {
  const src = readFileSync(SRC);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(repoRoot, '.cache', 'cpu-diff');
  const bin = join(dir, `runner-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('cc', ['-O1', '-o', bin, SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed building the native runner: ${r.stderr || r.error}`);
  return bin;
}

function encode(cases: DiffCase[]): Buffer {
  const buf = Buffer.alloc(4 + cases.length * INPUT_SIZE);
  buf.writeUInt32LE(cases.length, 0);
  let o = 4;
  for (const k of cases) {
    for (let i = 0; i < 16; i++) buf.writeBigUInt64LE(k.gpr[i]!, o + i * 8);
    o += 128;
    buf.writeBigUInt64LE(k.rflags, o); o += 8;
    buf.writeUInt32LE(k.mxcsr, o); o += 4;
    buf.writeUInt16LE(k.code.length, o); buf.writeUInt16LE(k.compat ? 1 : 0, o + 2); o += 4;
    Buffer.from(k.xmm.buffer, k.xmm.byteOffset, 256).copy(buf, o); o += 256;
    buf.writeUInt16LE(k.x87.fcw, o); buf.writeUInt16LE(k.x87.fsw, o + 2); buf.writeUInt16LE(k.x87.ftw, o + 4);
    Buffer.from(k.x87.st).copy(buf, o + 8); o += X87_SIZE;
    Buffer.from(k.code).copy(buf, o); o += 64;
    Buffer.from(k.window).copy(buf, o); o += WIN_SIZE;
  }
  return buf;
}

/** Run cases natively; throws if the runner itself fails. */
export function runNative(bin: string, cases: DiffCase[]): DiffResult[] {
  const r = spawnSync(bin, [], { input: encode(cases), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`native runner exited with ${r.status}: ${r.stderr?.toString()}`);
  const out = r.stdout as Buffer;
  if (out.length !== cases.length * OUTPUT_SIZE) throw new Error(`native runner wrote ${out.length} bytes, expected ${cases.length * OUTPUT_SIZE}`);
  const res: DiffResult[] = [];
  for (let t = 0; t < cases.length; t++) {
    let o = t * OUTPUT_SIZE;
    const signo = out.readInt32LE(o); o += 8;
    const gpr: bigint[] = [];
    for (let i = 0; i < 16; i++) gpr.push(out.readBigUInt64LE(o + i * 8));
    o += 128;
    const rip = out.readBigUInt64LE(o); o += 8;
    const rflags = out.readBigUInt64LE(o); o += 8;
    const mxcsr = out.readUInt32LE(o); o += 8;
    const xmm = new Uint8Array(out.subarray(o, o + 256)); o += 256;
    const x87 = { fcw: out.readUInt16LE(o), fsw: out.readUInt16LE(o + 2), ftw: out.readUInt16LE(o + 4) & 0xff, st: new Uint8Array(out.subarray(o + 8, o + 88)) };
    o += X87_SIZE;
    const window = new Uint8Array(out.subarray(o, o + WIN_SIZE));
    res.push({ signal: signo, gpr, rip, rflags, mxcsr, xmm, x87, window });
  }
  return res;
}

/**
 * Can the host run 32-bit compatibility-mode code? Kernels built or booted without IA-32
 * emulation leave Linux's 32-bit user code segment (0x23) not present: the runner's first
 * instruction then faults. Probed with a NOP.
 */
export function hostRunsCompat(bin: string): boolean {
  const k: DiffCase = {
    name: 'compat probe', gpr: Array.from({ length: 16 }, () => 0n), rflags: 0n, mxcsr: 0x1f80, xmm: new Uint8Array(256),
    x87: initX87(), code: new Uint8Array([0x90]), window: new Uint8Array(WIN_SIZE), undefinedFlags: 0, compat: true,
  };
  const [r] = runNative(bin, [k]);
  return r!.signal === SIGTRAP && r!.rip === 0x20000102n;
}
