// A few SIGKILL crash iterations of scripts/disk-crash.ts (the long run does 50+): qemu-img
// check never reports corruption, flushed writes read back, the dirty image reopens.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crashIteration } from '../../../scripts/disk-crash.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('qcow2 survives SIGKILL of its writer', () => {
  for (const seed of [101, 202, 303, 404]) {
    it(`seed ${seed}`, async () => {
      const r = await crashIteration(dir, seed);
      expect(r.problems).toEqual([]);
      expect([0, 3]).toContain(r.qemuCheck);
      expect(r.started).toBeGreaterThanOrEqual(0);
    }, 120_000);
  }
});
