// The CPU's modules sit on import cycles (exec -> system/far -> interrupts -> cpu -> run-loop ->
// jit/compile -> exec). Loading decode.ts first under tsx's CommonJS path used to crash in
// jit/compile.ts ("reading 'incDec'"): compile.ts read exec.ts's re-exports at load time,
// before exec.ts had got past its own imports. Each entry point here loads first in a fresh
// child process, both as CommonJS (require) and as an ES module, and must come up whole.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const CPU_DIR = fileURLToPath(new URL('../../../src-core/engine/cpu/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Entry modules (each crashed as CommonJS before the fix), an export each must provide, and whether to load it as ESM too. */
const ENTRIES: [string, string, boolean][] = [
  ['decode.ts', 'decode', true],
  ['exec-pick.ts', 'pickHandler', false],
  ['string.ts', 'execString', false],
];

function load(file: string, name: string, esm: boolean): { status: number | null; out: string } {
  const path = CPU_DIR + file;
  const script = esm
    ? `const m = await import(${JSON.stringify(pathToFileURL(path).href)}); console.log(typeof m[${JSON.stringify(name)}]);`
    : `const m = require(${JSON.stringify(path)}); console.log(typeof m[${JSON.stringify(name)}]);`;
  const args = ['--import', 'tsx', ...(esm ? ['--input-type=module'] : []), '-e', script];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('CPU modules load in any order', () => {
  for (const [file, name, alsoEsm] of ENTRIES) {
    for (const esm of alsoEsm ? [false, true] : [false]) {
      it(`${file} first (${esm ? 'ES module' : 'CommonJS'})`, () => {
        const r = load(file, name, esm);
        expect(r.out.trim().split('\n').pop(), r.out).toBe('function');
        expect(r.status).toBe(0);
      }, 60_000);
    }
  }
});
