// Layer rule (see DESIGN.md): imports point down only.
//  - src-core never imports electron, nor anything from src-main or src-renderer;
//  - src-renderer never imports Node built-ins, electron, or src-core outside src-core/api;
//  - src-core/api imports nothing from the rest of src-core.
// Exits 1 listing every violation as file:line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, dirname } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|svelte)$/.test(name)) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  line: number;
}

export function importsOf(source: string, isSvelte: boolean): Import[] {
  const found: Import[] = [];
  const blocks: { text: string; lineOffset: number }[] = [];
  if (isSvelte) {
    const re = /<script[^>]*>([\s\S]*?)<\/script>/g;
    for (let m = re.exec(source); m; m = re.exec(source)) {
      const start = m.index + m[0].indexOf('>') + 1;
      blocks.push({ text: m[1]!, lineOffset: source.slice(0, start).split('\n').length - 1 });
    }
  } else {
    blocks.push({ text: source, lineOffset: 0 });
  }
  for (const b of blocks) {
    const info = ts.preProcessFile(b.text, true, true);
    for (const ref of info.importedFiles) {
      const line = b.text.slice(0, ref.pos).split('\n').length + b.lineOffset;
      found.push({ spec: ref.fileName, line });
    }
  }
  return found;
}

function layerOf(rel: string): string {
  if (rel.startsWith('src-core/api/')) return 'core-api';
  if (rel.startsWith('src-core/')) return 'core';
  if (rel.startsWith('src-renderer/')) return 'renderer';
  if (rel.startsWith('src-main/')) return 'main';
  return 'other';
}

function violation(file: string, spec: string): string | undefined {
  const rel = relative(root, file);
  const layer = layerOf(rel);
  const isElectron = spec === 'electron' || spec.startsWith('electron/');
  const target = spec.startsWith('.') ? relative(root, resolve(dirname(file), spec)) : undefined;
  if (layer === 'core' || layer === 'core-api') {
    if (isElectron) return 'src-core must not import electron';
    if (target?.startsWith('src-main') || target?.startsWith('src-renderer')) return 'src-core must not import from src-main or src-renderer';
    if (layer === 'core-api' && target?.startsWith('src-core/') && !target.startsWith('src-core/api')) {
      return 'src-core/api holds shared types only and must not import the rest of src-core';
    }
  }
  if (layer === 'renderer') {
    if (builtins.has(spec) || builtins.has(spec.split('/')[0]!)) return `src-renderer must not import Node built-in "${spec}"`;
    if (isElectron) return 'src-renderer must not import electron (use the service API)';
    if (target?.startsWith('src-core/') && !target.startsWith('src-core/api')) return 'src-renderer may import only src-core/api (types and schemas)';
    if (target?.startsWith('src-main')) return 'src-renderer must not import src-main';
  }
  return undefined;
}

/** Violations in one file's source; `file` is a path relative to the repository root. */
export function violationsIn(file: string, source: string): string[] {
  const abs = resolve(root, file);
  const problems: string[] = [];
  for (const imp of importsOf(source, file.endsWith('.svelte'))) {
    const why = violation(abs, imp.spec);
    if (why) problems.push(`${file}:${imp.line}: ${why} (imports "${imp.spec}")`);
  }
  return problems;
}

export function lint(dirs: string[]): string[] {
  const problems: string[] = [];
  for (const d of dirs) {
    for (const file of walk(join(root, d))) problems.push(...violationsIn(relative(root, file), readFileSync(file, 'utf8')));
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const problems = lint(['src-core', 'src-renderer', 'src-main']);
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`lint: ${problems.length} layer violation(s)`);
    process.exit(1);
  }
  console.log('lint: layers ok');
}
