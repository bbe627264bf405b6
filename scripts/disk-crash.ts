// Long SIGKILL crash run for the image write paths: many rounds of the harness in
// test/helpers/disk-crash.ts (the integration tier runs a few of the same rounds, in
// test/integration/storage/crash.test.ts).
//
//   npx tsx scripts/disk-crash.ts [rounds=50] [seed=1] [format=qcow2]
// FORMAT is one of qcow2, vdi, vhd, vmdk, a comma-separated list, or "all". qemu-img has no
// check for VHD, so there only our check and the data rule apply.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FormatName } from '../src-core/storage/format.ts';
import { CRASH_FORMATS, crashRound } from '../test/helpers/disk-crash.ts';

function formatsArg(arg: string): FormatName[] {
  const known = Object.keys(CRASH_FORMATS) as FormatName[];
  if (arg === 'all') return known;
  const list = arg.split(',') as FormatName[];
  for (const f of list) if (!known.includes(f)) throw new Error(`no crash test for format "${f}" (known: ${known.join(', ')}, all)`);
  return list;
}

const rounds = Number(process.argv[2] ?? 50);
const seed = Number(process.argv[3] ?? 1);
const formats = formatsArg(process.argv[4] ?? 'qcow2');
const dir = mkdtempSync(path.join(tmpdir(), 'hangar-crash-'));
// Crashed images of failing rounds, kept for analysis (removed again when nothing failed).
const kept = mkdtempSync(path.join(tmpdir(), 'hangar-crash-failed-'));
let failures = 0;
try {
  for (const format of formats) {
    let failed = 0;
    let leaky = 0;
    for (let k = 0; k < rounds; k++) {
      const r = await crashRound(dir, seed * 1000 + k, format, kept);
      if (r.qemuCheck === 3) leaky++;
      if (r.problems.length) failed++;
      const check = r.qemuCheck === undefined ? '' : `, qemu-img check ${r.qemuCheck}`;
      console.log(`${format} #${k} seed ${r.seed}: ${r.flushed} ops flushed, ${r.started + 1} started${check}${r.problems.length ? `\n  FAIL ${r.problems.join('\n  FAIL ')}` : ' ok'}`);
    }
    console.log(`${format}: ${rounds} kills: ${failed} failed, ${leaky} left leaks only, ${rounds - failed - leaky} clean`);
    failures += failed;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (failures) console.log(`crashed images and writer logs of the failing rounds: ${kept}`);
  else rmSync(kept, { recursive: true, force: true });
}
process.exitCode = failures ? 1 : 0;
