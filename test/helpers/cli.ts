// Runs the real `hangar` command in a child process, as a user would.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const HANGAR_BIN = join(REPO, 'bin', 'hangar.mjs');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runHangar(args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [HANGAR_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export function tempDir(prefix = 'hangar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
