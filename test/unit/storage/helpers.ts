// Shared helpers for the storage tests: temp folders, qemu-img, seeded randomness.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

export function tempDir(tag: string): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `hangar-${tag}-`));
  return { dir, file: (n) => path.join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** qemu-img exit status and output, for commands whose status is the answer (check, compare). */
export function qemuImgStatus(...args: string[]): { status: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function qemuIo(file: string, fmt: string, ...cmds: string[]): void {
  execFileSync('qemu-io', ['-f', fmt, ...cmds.flatMap((c) => ['-c', c]), file], { stdio: 'ignore' });
}

/** mulberry32: small, fast, seeded. */
export { rng } from '../../helpers/rng.ts';

export function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
