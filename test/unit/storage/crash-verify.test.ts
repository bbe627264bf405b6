// The crash harness's rule for sectors that in-flight ops cover: each byte from the flushed
// model or from one of those ops (SIGKILL may stop a pwrite mid-sector), nothing else.
import { describe, expect, it } from 'vitest';
import { CRASH_SIZE, explainedByInFlight } from '../../helpers/disk-crash.ts';
import type { CrashOp } from '../../helpers/disk-crash.ts';

const model = new Uint8Array(CRASH_SIZE).fill(0x11);
const op: CrashOp = { off: 4096, len: 1024, discard: false, flushAfter: false, data: new Uint8Array(1024).fill(0x22) };

describe('explainedByInFlight', () => {
  it('accepts new data, and a sector torn between old and new bytes', () => {
    expect(explainedByInFlight(new Uint8Array(512).fill(0x22), 4096, model, [op])).toBe(true);
    const torn = new Uint8Array(512).fill(0x22);
    torn.fill(0x11, 496);
    expect(explainedByInFlight(torn, 4608, model, [op])).toBe(true);
  });

  it('rejects bytes from nowhere, and any difference where no in-flight op wrote', () => {
    const bad = new Uint8Array(512).fill(0x22);
    bad[100] = 0x33;
    expect(explainedByInFlight(bad, 4096, model, [op])).toBe(false);
    expect(explainedByInFlight(new Uint8Array(512).fill(0x22), 8192, model, [op])).toBe(false);
  });
});
