import { describe, expect, it } from 'vitest';
import { buildTree, visibleRows, type TreeNode } from '../../../src-renderer/src/lib/tree.ts';
import { click, move, prune, selectAll } from '../../../src-renderer/src/lib/selection.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import type { MachineListing } from '../../../src-core/api/machine.ts';

function vm(name: string, group = '/', osType = 'Linux_64'): MachineListing {
  const config = newMachineConfig({ name, osType, group });
  return { uuid: config.uuid, path: `/vms/${name}/${name}.hangar`, accessible: true, config };
}

const label = (n: TreeNode): string => (n.kind === 'group' ? `[${n.path} ${n.count}]` : n.listing.accessible ? n.listing.config.name : '!');

describe('VM list tree', () => {
  const all = [vm('web2', '/Servers/Web'), vm('db', '/Servers'), vm('web10', '/Servers/Web'), vm('alpha'), vm('win', '/', 'Windows11_64'),
    { uuid: '00000000-0000-4000-8000-000000000001', path: '/gone/lost.hangar', accessible: false as const, error: 'missing' }];

  it('nests groups by path, groups first, names in natural order', () => {
    const rows = visibleRows(buildTree(all), new Set());
    expect(rows.map(label)).toEqual(['[/Servers 3]', '[/Servers/Web 2]', 'web2', 'web10', 'db', 'alpha', '!', 'win']);
    expect(rows.map((r) => r.depth)).toEqual([0, 1, 2, 2, 1, 0, 0, 0]);
  });

  it('hides the inside of collapsed groups', () => {
    expect(visibleRows(buildTree(all), new Set(['/Servers/Web'])).map(label)).toEqual(['[/Servers 3]', '[/Servers/Web 2]', 'db', 'alpha', '!', 'win']);
    expect(visibleRows(buildTree(all), new Set(['/Servers'])).map(label)).toEqual(['[/Servers 3]', 'alpha', '!', 'win']);
  });

  it('filters by name, OS label and group, keeping the groups of matches', () => {
    expect(visibleRows(buildTree(all, 'WEB1'), new Set()).map(label)).toEqual(['[/Servers 1]', '[/Servers/Web 1]', 'web10']);
    const osLabel = (id: string) => (id === 'Windows11_64' ? 'Windows 11 (64-bit)' : id);
    expect(visibleRows(buildTree(all, 'windows 11', osLabel), new Set()).map(label)).toEqual(['win']);
    expect(visibleRows(buildTree(all, 'nothing'), new Set())).toEqual([]);
  });
});

describe('VM list selection', () => {
  const order = ['a', 'b', 'c', 'd'];
  it('click selects one; ctrl toggles; shift extends from the anchor', () => {
    let s = click({ selected: new Set() }, order, 'b', { toggle: false, range: false });
    expect([...s.selected]).toEqual(['b']);
    s = click(s, order, 'd', { toggle: false, range: true });
    expect([...s.selected].sort()).toEqual(['b', 'c', 'd']);
    s = click(s, order, 'c', { toggle: true, range: false });
    expect([...s.selected].sort()).toEqual(['b', 'd']);
    s = click(s, order, 'a', { toggle: false, range: false });
    expect([...s.selected]).toEqual(['a']);
  });
  it('arrow keys move or extend; select all; prune drops removed machines', () => {
    let s = move({ selected: new Set() }, order, 1, false);
    expect([...s.selected]).toEqual(['a']);
    s = move(s, order, 1, true);
    expect([...s.selected]).toEqual(['a', 'b']);
    s = move(s, order, 5, false);
    expect([...s.selected]).toEqual(['d']);
    s = selectAll(order);
    expect(s.selected.size).toBe(4);
    s = prune(s, new Set(['c']));
    expect([...s.selected]).toEqual(['c']);
    expect(s.anchor).toBeUndefined();
  });
});
