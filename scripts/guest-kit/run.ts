// Runs a host tool and collects its output. The guest kit shells out to apt, dpkg and xorriso;
// every failure has to say which command failed and what it printed, so callers can turn it
// into a clear message instead of a bare exit code.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ToolMissingError extends Error {
  constructor(readonly tool: string, hint: string) {
    super(`guest-kit: '${tool}' is not installed or not on PATH (${hint})`);
    this.name = 'ToolMissingError';
  }
}

/** Runs `cmd args` in `cwd`; resolves with the exit code (never rejects on non-zero exit). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; hint?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new ToolMissingError(cmd, opts.hint ?? 'install it with apt-get'));
      else reject(e);
    });
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Like run() but throws, naming the command and its stderr, when it exits non-zero. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; hint?: string } = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n');
    throw new Error(`guest-kit: '${cmd} ${args.join(' ')}' failed with exit code ${r.code}:\n${detail}`);
  }
  return r;
}
