// Long seeded differential fuzz run of Hangar's CPU against the host CPU.
// Usage: npx tsx scripts/cpu-fuzz.ts --seed N --count M [--filter substring] [--coverage out.json] [--jit] [--x87 K] [--compat]
// --jit compiles every block on first use (JIT threshold 1), diffing the block compiler instead.
// --x87 K also runs K cases of every x87/MMX form (gen-x87.ts). --compat runs the integer/SSE
// cases in 32-bit compatibility mode (needs a kernel with IA-32 emulation).
// Prints disagreements (first few per opcode form) and the instruction coverage reached:
// every opcode form (template) with the number of cases that exercised it.
import { writeFileSync } from 'node:fs';
import { runDiff, runX87Diff } from '../test/unit/cpu/harness/run-diff.ts';
import { TEMPLATES } from '../test/unit/cpu/harness/gen.ts';
import { buildRunner, hostIsX86_64, hostRunsCompat } from '../test/unit/cpu/harness/native.ts';

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const seed = Number(arg('seed', '1'));
const count = Number(arg('count', '100000'));
const filter = arg('filter');
const covOut = arg('coverage');
const jit = process.argv.includes('--jit');
const compat = process.argv.includes('--compat');
const x87 = Number(arg('x87', '0'));
if (!Number.isInteger(seed) || !Number.isInteger(count) || count <= 0) {
  console.error('usage: npx tsx scripts/cpu-fuzz.ts --seed N --count M [--filter text] [--coverage file.json]');
  process.exit(2);
}
if (!hostIsX86_64()) {
  console.error('cpu-fuzz needs an x86-64 Linux host (it compares against the host CPU)');
  process.exit(2);
}

if (compat && !hostRunsCompat(buildRunner())) {
  console.error('--compat: this host kernel cannot run 32-bit code (no IA-32 emulation)');
  process.exit(2);
}

const t0 = performance.now();
const r = runDiff(seed, count, 1000, filter ? (n) => n.includes(filter) : undefined, jit ? 1 : 0, compat);
const secs = (performance.now() - t0) / 1000;

const perForm = new Map<string, number>();
for (const f of r.failures) {
  const k = f.name.split(' [')[0]!;
  const n = perForm.get(k) ?? 0;
  perForm.set(k, n + 1);
  if (n < 3) console.log(`MISMATCH ${f.name}\n    ${f.diffs.join('\n    ')}`);
}
console.log(`\n${jit ? 'block compiler' : 'interpreter'}${compat ? ' (compatibility mode)' : ''}, seed ${seed}: ${r.cases} cases in ${secs.toFixed(1)} s, ${r.failures.length} mismatches`);
if (r.approxLanes) console.log(`RCP/RSQRT: ${r.approxLanes} lanes (${r.approxNormalLanes} ordinary numbers) within 1.5*2^-12; ${r.approxDiffering} differ from the host bit-wise`);
if (perForm.size) console.log('mismatches per form:\n' + [...perForm].map(([k, v]) => `  ${v}\t${k}`).join('\n'));
console.log(`coverage: ${r.coverage.size} of ${TEMPLATES.length} opcode forms exercised (${r.templates} selected)`);
const opcodes = new Set([...r.coverage.keys()].map((k) => k.split(' ')[0]!));
console.log(`distinct opcode keys: ${opcodes.size}`);
if (covOut) {
  writeFileSync(covOut, JSON.stringify({ seed, count: r.cases, mismatches: r.failures.length, forms: Object.fromEntries(r.coverage) }, null, 1));
  console.log(`coverage written to ${covOut}`);
}
let x87Failures = 0;
if (x87 > 0) {
  const t1 = performance.now();
  const x = runX87Diff(seed, x87, filter ? (n) => n.includes(filter) : undefined, jit ? 1 : 0);
  x87Failures = x.failures.length;
  const seen = new Map<string, number>();
  for (const f of x.failures) {
    const k = f.name.split(' [')[0]!;
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    if (n < 3) console.log(`MISMATCH ${f.name}\n    ${f.diffs.join('\n    ')}`);
  }
  console.log(`x87/MMX forms: ${x.forms}, ${x.cases} cases in ${((performance.now() - t1) / 1000).toFixed(1)} s, ${x.failures.length} mismatches, ${x.approx} transcendental results 1 ulp from the host`);
}
process.exitCode = r.failures.length || x87Failures ? 1 : 0;
