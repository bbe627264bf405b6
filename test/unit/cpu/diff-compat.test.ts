// The differential run in 32-bit compatibility mode (a 32-bit CS under long mode, as 32-bit
// programs run on a 64-bit kernel): the native runner enters Linux's 32-bit user code segment
// (0x23) through sigreturn, Hangar runs the same bytes with a 32-bit CS. Cases carry no REX
// prefixes and use eight registers and 32-bit addresses; EAX-EDI's low halves are compared.
// Hosts whose kernel lacks IA-32 emulation (segment 0x23 not present) cannot run it: skipped.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildRunner, hostIsX86_64, hostRunsCompat } from './harness/native.ts';
import { runDiff } from './harness/run-diff.ts';
import { Rng, TEMPLATES, generate } from './harness/gen.ts';

const canBuild = hostIsX86_64() && spawnSync('cc', ['--version']).status === 0;
const compat = canBuild && hostRunsCompat(buildRunner());
if (canBuild && !compat) console.log('diff-compat: the host kernel cannot run 32-bit code (no IA-32 emulation): skipped');

describe('compatibility-mode cases', () => {
  it('are generated without REX prefixes (0x40-0x4F are INC/DEC there)', () => {
    const rng = new Rng(3);
    for (const tp of TEMPLATES) {
      const k = generate(rng, tp, true);
      expect(k.compat).toBe(true);
      // The bytes before the opcode: legacy prefixes only.
      const pre = k.code.subarray(0, k.code.indexOf(tp.op[0]!));
      expect([...pre].filter((b) => (b & 0xf0) === 0x40)).toEqual([]);
    }
  });
});

describe.skipIf(!compat)('differential in 32-bit compatibility mode: host CPU vs interpreter', () => {
  it('agrees on a seeded run over every template', () => {
    const r = runDiff(32, TEMPLATES.length * 2, 500, undefined, 0, true);
    expect(r.failures.slice(0, 20).map((f) => `${f.name}: ${f.diffs.join('; ')}`)).toEqual([]);
  }, 120_000);
});
