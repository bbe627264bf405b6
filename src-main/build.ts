// Bundles the desktop shell for Electron, which runs JavaScript only: dist/main/main.js (ESM,
// with src-core inlined) and dist/main/preload.js (CommonJS: sandboxed preloads cannot load
// ES modules or local files). electron-builder.yml packages dist/main and dist/renderer.
//   npx tsx src-main/build.ts [outdir]
import { build, type BuildOptions } from 'esbuild';
import { join, resolve } from 'node:path';

export async function buildMain(outdir = resolve(import.meta.dirname, '..', 'dist', 'main')): Promise<string[]> {
  const common: BuildOptions = { bundle: true, platform: 'node', target: 'node22', external: ['electron'], sourcemap: true, logLevel: 'warning' };
  await build({
    ...common,
    entryPoints: [join(import.meta.dirname, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    format: 'esm',
    // Bundled CommonJS dependencies (commander, ws) may call require(); give ESM one.
    banner: { js: "import { createRequire as __hangarRequire } from 'node:module'; const require = __hangarRequire(import.meta.url);" },
  });
  await build({
    ...common,
    entryPoints: [join(import.meta.dirname, 'preload.ts')],
    outfile: join(outdir, 'preload.js'),
    format: 'cjs',
  });
  return [join(outdir, 'main.js'), join(outdir, 'preload.js')];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const files = await buildMain(process.argv[2] ? resolve(process.argv[2]) : undefined);
  for (const f of files) process.stdout.write(`built ${f}\n`);
}
