// The `resources` settings of a machine (priority, execution cap, affinity): validation,
// edits, and the `hangar modify` options that produce them.
import { describe, expect, it } from 'vitest';
import { applyEdit } from '../../../src-core/library/edits.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { validateConfig } from '../../../src-core/library/validate.ts';
import { editsFromOptions, parseCoreList } from '../../../src-core/cli/modify-options.ts';
import { runHangar, tempDir } from '../../helpers/cli.ts';

describe('machine resources', () => {
  it('validates priority, cap and affinity, naming the field and what is allowed', () => {
    const c = newMachineConfig({ name: 'r', osType: 'Linux_64' });
    expect(validateConfig(c)).toEqual([]);
    c.resources = { priority: 'high', cpuCap: 40, affinity: [0, 1] };
    expect(validateConfig(c)).toEqual([]);
    c.resources = { priority: 'urgent' as never, cpuCap: 0, affinity: [1, 1] };
    const fields = validateConfig(c).map((i) => `${i.field}: ${i.allowed}`);
    expect(fields).toEqual([
      'resources.priority: one of low, normal, high',
      'resources.cpuCap: a whole number from 1 to 100 percent',
      'resources.affinity: a non-empty list of distinct host core numbers (0-1023), e.g. [0, 1]',
    ]);
  });

  it('edits set and clear settings; clearing all removes the section', () => {
    const c = newMachineConfig({ name: 'r', osType: 'Linux_64' });
    applyEdit(c, { kind: 'resources', priority: 'low', cpuCap: 50 });
    expect(c.resources).toEqual({ priority: 'low', cpuCap: 50 });
    applyEdit(c, { kind: 'resources', affinity: [2] });
    expect(c.resources).toEqual({ priority: 'low', cpuCap: 50, affinity: [2] });
    applyEdit(c, { kind: 'resources', priority: null, cpuCap: null, affinity: null });
    expect(c.resources).toBeUndefined();
  });

  it('parses the modify options', () => {
    expect(editsFromOptions({ priority: 'high', cpuCap: '25', affinity: '0,2-3' })).toEqual([
      { kind: 'resources', priority: 'high', cpuCap: 25, affinity: [0, 2, 3] },
    ]);
    expect(editsFromOptions({ affinity: '' })).toEqual([{ kind: 'resources', affinity: null }]);
    expect(() => editsFromOptions({ priority: 'max' })).toThrow(/--priority: "max" is not valid; allowed: one of low, normal, high/);
    expect(() => editsFromOptions({ cpuCap: '150' })).toThrow(/--cpu-cap: 150 is not valid; allowed: a whole number from 1 to 100/);
    expect(() => parseCoreList('--affinity', '3-1')).toThrow(/rising range/);
    expect(() => parseCoreList('--affinity', 'a')).toThrow(/host core numbers and ranges/);
  });

  it('hangar modify stores them in the .hangar file', { timeout: 120_000 }, async () => {
    const env = { HANGAR_HOME: tempDir() };
    expect((await runHangar(['create', '--name', 'res', '--ostype', 'Linux_64'], env)).code).toBe(0);
    const r = await runHangar(['modify', 'res', '--priority', 'low', '--cpu-cap', '30', '--affinity', '0'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const shown = JSON.parse((await runHangar(['show', 'res', '--json'], env)).stdout) as { config: { resources: unknown } };
    expect(shown.config.resources).toEqual({ priority: 'low', cpuCap: 30, affinity: [0] });
    const bad = await runHangar(['modify', 'res', '--cpu-cap', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cpu-cap: 0 is not valid');
  });
});
