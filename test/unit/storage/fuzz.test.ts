// Bounded slice of scripts/disk-fuzz.ts: mutated qcow2 headers and tables give clean
// HangarErrors only — never a TypeError, RangeError, out-of-bounds access or hang.
import { describe, it, expect, afterAll } from 'vitest';
import { fuzz, makeTemplates } from '../../../scripts/disk-fuzz.ts';
import { tempDir } from './helpers.ts';

const t = tempDir('fuzz');
afterAll(() => t.cleanup());

describe('qcow2 fuzzing (seeded, bounded)', () => {
  it('200 mutated images fail only with HangarError', async () => {
    const templates = makeTemplates(t.dir).filter((x) => x.format === 'qcow2');
    expect(templates.length).toBe(5);
    const r = await fuzz(t.dir, templates, 200, 12345);
    expect(r.failures).toEqual([]);
    // The mutations must actually bite: most images are rejected, some still open.
    expect(r.rejected).toBeGreaterThan(40);
    expect(r.accepted).toBeGreaterThan(10);
  }, 120_000);
});
