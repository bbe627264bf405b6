import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMain } from '../../../src-main/build.ts';

describe('desktop shell bundle', () => {
  it('bundles main (ESM) and a self-contained CommonJS preload that loads only electron', async () => {
    const out = await mkdtemp(join(tmpdir(), 'hangar-build-main-'));
    try {
      const [main, preload] = await buildMain(out);
      const mainJs = await readFile(main!, 'utf8');
      const preloadJs = await readFile(preload!, 'utf8');
      expect(mainJs).toMatch(/from ["']electron["']/);
      expect(mainJs).toContain('requestSingleInstanceLock');
      expect(mainJs).not.toMatch(/from ["']\.\.?\//); // src-core is inlined
      const requires = [...preloadJs.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
      expect(new Set(requires)).toEqual(new Set(['electron']));
      expect(preloadJs).toContain('exposeInMainWorld');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
