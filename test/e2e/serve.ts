// Starts `hangar serve` for a test: a temporary HANGAR_HOME, a free port (the server picks
// one and prints its URL), and a stop() that kills exactly that process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'hangar.mjs');

export interface Served {
  url: string;
  home: string;
  /** Run the `hangar` CLI against the same HANGAR_HOME. */
  cli(args: string[]): { status: number; stdout: string; stderr: string };
  stop(): void;
}

export async function startServe(): Promise<Served> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-e2e-'));
  const env = { ...process.env, HANGAR_HOME: home };
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => rej(new Error(`hangar serve printed no URL in 20 s: ${out}${err}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.stderr!.on('data', (d) => (err += String(d)));
    child.on('exit', (code) => rej(new Error(`hangar serve exited with ${code}: ${err}`)));
  });
  return {
    url,
    home,
    cli(args) {
      const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    stop() {
      if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      rmSync(home, { recursive: true, force: true });
    },
  };
}
