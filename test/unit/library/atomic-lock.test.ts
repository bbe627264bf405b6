import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src-core/library/atomic-file.ts';
import { withLock } from '../../../src-core/library/lock.ts';
import { REPO, tempDir } from '../../helpers/cli.ts';

function tsChild(script: string, args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/helpers', script), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
}

function checkWhole(text: string, size: number): void {
  const [body, len] = text.split('|');
  expect(Number(len)).toBe(size);
  expect(body!.length).toBe(size);
  expect(new Set(body).size).toBe(1);
}

describe('atomic file writes', () => {
  it('keeps the previous version as .prev and leaves no temporary files', async () => {
    const dir = tempDir();
    const f = join(dir, 'vm.hangar');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(readFileSync(`${f}.prev`, 'utf8')).toBe('one');
    expect(readdirSync(dir).sort()).toEqual(['vm.hangar', 'vm.hangar.prev']);
  });

  it('a writer killed at random moments leaves the old or the new file, never a torn one', async () => {
    const dir = tempDir();
    const f = join(dir, 'data');
    const size = 1 << 20;
    for (let round = 0; round < 6; round++) {
      const child = tsChild('atomic-writer.ts', [f, String(size)]);
      await new Promise<void>((r) => child.stdout!.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 150));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      if (existsSync(f)) checkWhole(readFileSync(f, 'utf8'), size);
      if (existsSync(`${f}.prev`)) checkWhole(readFileSync(`${f}.prev`, 'utf8'), size);
    }
    expect(existsSync(f)).toBe(true);
  }, 60_000);
});

describe('registry lock', () => {
  it('serialises read-modify-write across processes', async () => {
    const dir = tempDir();
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    const kids = [0, 1, 2].map(() => tsChild('registry-incrementer.ts', [join(dir, 'lock'), counter, '25']));
    await Promise.all(kids.map((k) => new Promise((r) => k.once('close', r))));
    expect(Number(readFileSync(counter, 'utf8'))).toBe(75);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  }, 60_000);

  it('takes over a lock whose owner died', async () => {
    const dir = tempDir();
    const lock = join(dir, 'lock');
    // A pid far above pid_max cannot be alive.
    writeFileSync(lock, '999999999\n');
    const got = await withLock(lock, async () => 'ran', { timeoutMs: 2000 });
    expect(got).toBe('ran');
  });

  it('gives up with a clear error while a live process holds it', async () => {
    const dir = tempDir();
    const lock = join(dir, 'lock');
    writeFileSync(lock, `${process.ppid}\n`);
    await expect(withLock(lock, async () => 'ran', { timeoutMs: 200 })).rejects.toThrow(/is locked by process \d+/);
  });
});
