// Long seeded x87 differential run (not part of npm test):
//   npx tsx test/unit/cpu/harness/x87-fuzz.ts [casesPerForm=200] [seed=1] [nameRegex]
// Prints the per-form mismatches and the first differences; exits 1 on any mismatch.
import { runX87Diff } from './run-diff.ts';

const per = Number(process.argv[2] ?? 200);
const seed = Number(process.argv[3] ?? 1);
const re = process.argv[4] ? new RegExp(process.argv[4]) : undefined;
const t0 = Date.now();
const r = runX87Diff(seed, per, re ? (n) => re.test(n) : undefined);
console.log(`x87 forms ${r.forms}, cases ${r.cases}, mismatching ${r.failures.length}, within 1 ulp only ${r.approx}, ${Date.now() - t0} ms`);
for (const [name, [n, bad]] of r.perForm) if (bad) console.log(`  ${name}: ${bad}/${n}`);
for (const f of r.failures.slice(0, 30)) console.log(`${f.name}\n    ${f.diffs.join('\n    ')}`);
process.exit(r.failures.length ? 1 : 0);
