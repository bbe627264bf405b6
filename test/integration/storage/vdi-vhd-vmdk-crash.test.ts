// SIGKILL crash rounds for the VDI, VHD and monolithicSparse VMDK write paths (a few per format;
// `npx tsx test/integration/storage/vdi-vhd-vmdk-crash.ts 50` runs the long version).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CRASH_FORMATS, crashRound } from './vdi-vhd-vmdk-crash.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('crash safety (SIGKILL mid-write)', () => {
  for (const format of Object.keys(CRASH_FORMATS)) {
    it(`${format}: flushed data survives and the image stays consistent`, async () => {
      let flushedRounds = 0;
      for (const seed of [11, 12, 13]) {
        const o = await crashRound(format, seed, dir);
        expect(o.problems).toEqual([]);
        if (o.flushedThrough >= 0) flushedRounds++;
      }
      expect(flushedRounds).toBeGreaterThan(0); // the rounds did real, flushed work
    });
  }
});
