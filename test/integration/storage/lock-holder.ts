// Child process for the image-lock integration test: opens an image read-write and reports
// "held" (then keeps it open until its stdin closes or says "close") or "refused <message>".
//   node --import tsx test/integration/storage/lock-holder.ts FORMAT IMAGE
import { HangarError } from '../../../src-core/api/errors.ts';
import type { FormatName } from '../../../src-core/storage/format.ts';
import { openImage } from '../../../src-core/storage/open.ts';

const [format, image] = process.argv.slice(2);
if (!format || !image) throw new Error('usage: lock-holder.ts FORMAT IMAGE');
try {
  const img = await openImage(image, format as FormatName);
  await img.write(new Uint8Array(512).fill(process.pid & 0xff), 0);
  await img.flush();
  process.stdout.write('held\n');
  await new Promise<void>((res) => {
    process.stdin.on('data', (d) => String(d).includes('close') && res());
    process.stdin.on('end', () => res());
  });
  process.stdin.destroy(); // stop listening, so the process can end
  await img.close();
  process.stdout.write('closed\n');
} catch (err) {
  if (!(err instanceof HangarError)) throw err;
  process.stdout.write(`refused ${err.code} ${err.message}\n`);
}
