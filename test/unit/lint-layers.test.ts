import { describe, expect, it } from 'vitest';
import { lint, violationsIn } from '../../scripts/lint-layers.ts';

describe('layer lint rule', () => {
  it('passes on the tree as it is', () => {
    expect(lint(['src-core', 'src-renderer', 'src-main'])).toEqual([]);
  });

  it('flags electron in src-core', () => {
    expect(violationsIn('src-core/vmm/x.ts', "import { app } from 'electron';\n")).toEqual([
      'src-core/vmm/x.ts:1: src-core must not import electron (imports "electron")',
    ]);
  });

  it('flags Node built-ins and deep src-core imports in the renderer, including .svelte scripts', () => {
    const svelte = '<div></div>\n<script lang="ts">\n  import fs from "node:fs";\n  import { Library } from "../../src-core/library/library.ts";\n</script>\n';
    const found = violationsIn('src-renderer/src/App.svelte', svelte);
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('App.svelte:3: src-renderer must not import Node built-in "node:fs"');
    expect(found[1]).toContain('may import only src-core/api');
    expect(violationsIn('src-renderer/src/a.ts', "import path from 'path';")).toHaveLength(1);
    expect(violationsIn('src-renderer/src/a.ts', "import type { Api } from '../../src-core/api/service.ts';")).toEqual([]);
  });

  it('keeps src-core/api free of the rest of src-core', () => {
    expect(violationsIn('src-core/api/a.ts', "import { Library } from '../library/library.ts';")).toHaveLength(1);
  });
});
