// Child process of the crash harness (disk-crash.ts): opens an image and applies the seeded ops
// until it is killed. The log is appended synchronously, so what it says survives SIGKILL:
//   "ready"  the image is open;
//   "s i"    op i is about to start (ops up to the last "s" may have touched the image);
//   "f n"    a flush covering ops 0 .. n-1 has completed.
//   node --import tsx test/helpers/disk-crash-writer.ts FORMAT IMAGE SEED LOG
import { appendFileSync } from 'node:fs';
import type { FormatName } from '../../src-core/storage/format.ts';
import { openImage } from '../../src-core/storage/open.ts';
import { crashOp } from './disk-crash.ts';

const [format, image, seed, log] = process.argv.slice(2);
if (!format || !image || !seed || !log) throw new Error('usage: disk-crash-writer.ts FORMAT IMAGE SEED LOG');
const img = await openImage(image, format as FormatName);
appendFileSync(log, 'ready\n');
for (let i = 0; i < 100_000; i++) {
  const o = crashOp(Number(seed), i);
  appendFileSync(log, `s ${i}\n`);
  if (o.discard) await img.discard(o.off, o.len);
  else await img.write(o.data, o.off);
  if (o.flushAfter) {
    await img.flush();
    appendFileSync(log, `f ${i + 1}\n`);
  }
}
await img.close();
