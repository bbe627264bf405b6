// Child process for the atomic-write test: rewrites FILE forever, alternating versions whose
// content is one repeated letter followed by its length, until killed.
import { writeFileAtomic } from '../../src-core/library/atomic-file.ts';

const file = process.argv[2]!;
const size = Number(process.argv[3] ?? 1 << 20);
let n = 0;
process.stdout.write('ready\n');
for (;;) {
  const letter = String.fromCharCode(65 + (n++ % 26));
  await writeFileAtomic(file, letter.repeat(size) + `|${size}`);
}
