// Child process for the lock test: increments a counter file COUNT times, each time as a
// read-modify-write under the lock, with a pause inside to widen the race.
import { readFile, writeFile } from 'node:fs/promises';
import { withLock } from '../../src-core/library/lock.ts';

const [lockPath, counterPath, count] = process.argv.slice(2) as [string, string, string];
for (let i = 0; i < Number(count); i++) {
  await withLock(lockPath, async () => {
    const v = Number(await readFile(counterPath, 'utf8'));
    await new Promise((r) => setTimeout(r, 2));
    await writeFile(counterPath, String(v + 1));
  });
}
