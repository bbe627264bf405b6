import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../../src-core/library/library.ts';
import { watchRegistry } from '../../../src-core/server/registry-watch.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'hangar-watch-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('registry watch', () => {
  it('reports library changes made through another Library (another process), once per burst', async () => {
    let changes = 0;
    const w = watchRegistry(home, () => changes++, 100);
    try {
      await writeFile(join(home, 'unrelated.txt'), 'x');
      await new Promise((r) => setTimeout(r, 300));
      expect(changes).toBe(0);
      const other = new Library(home);
      await other.create({ name: 'a', osType: 'Linux_64' });
      await until(() => changes > 0);
      expect(changes).toBe(1);
      await other.modify('a', (c) => (c.memoryMiB = 256));
      await until(() => changes > 1);
      expect(changes).toBe(2);
    } finally {
      w.close();
    }
  });
});
