// A few SIGKILL crash rounds per writable format (scripts/disk-crash.ts runs 50+ of the same
// rounds): no corruption by qemu-img's check or ours, flushed writes read back, the crashed
// image reopens and takes writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FormatName } from '../../../src-core/storage/format.ts';
import { CRASH_FORMATS, crashRound } from '../../helpers/disk-crash.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('crash safety (SIGKILL mid-write)', () => {
  for (const format of Object.keys(CRASH_FORMATS) as FormatName[]) {
    it(`${format}: flushed data survives and the image stays consistent`, async () => {
      let flushedRounds = 0;
      for (const seed of [11, 12, 13]) {
        const r = await crashRound(dir, seed, format);
        expect(r.problems).toEqual([]);
        if (CRASH_FORMATS[format]!.qemuCheck) expect([0, 3]).toContain(r.qemuCheck);
        expect(r.started).toBeGreaterThanOrEqual(0);
        if (r.flushed > 0) flushedRounds++;
      }
      expect(flushedRounds).toBeGreaterThan(0); // the rounds did real, flushed work
    }, 300_000);
  }
});
