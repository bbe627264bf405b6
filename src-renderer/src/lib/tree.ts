// The VM list as VirtualBox shows it: machines inside collapsible groups named by their group
// path ("/Servers/Web"), filtered by a search string. Pure functions, no DOM.
import type { MachineEntry as MachineListing } from '../../../src-core/api/service.ts';

export interface GroupNode {
  kind: 'group';
  /** Full group path, e.g. "/Servers/Web". */
  path: string;
  name: string;
  depth: number;
  children: TreeNode[];
  /** Machines below this group at any depth. */
  count: number;
}

export interface MachineNode {
  kind: 'machine';
  uuid: string;
  depth: number;
  listing: MachineListing;
}

export type TreeNode = GroupNode | MachineNode;

export function displayName(m: MachineListing): string {
  return m.accessible ? m.config.name : m.path.split(/[\\/]/).pop() ?? m.uuid;
}

/** Does a machine match the search text (name, OS type, group; case-insensitive)? */
export function matches(m: MachineListing, query: string, osLabel: (id: string) => string = (id) => id): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (!m.accessible) return displayName(m).toLowerCase().includes(q) || m.uuid.includes(q);
  const c = m.config;
  return [c.name, c.osType, osLabel(c.osType), c.group].some((s) => s.toLowerCase().includes(q));
}

// One collator for every comparison: localeCompare with options builds a new one per call,
// which was most of the cost of sorting 200 names.
const COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function compareNames(a: string, b: string): number {
  return COLLATOR.compare(a, b);
}

/** Build the tree of groups and machines; root-level machines sit at depth 0. */
export function buildTree(machines: readonly MachineListing[], query = '', osLabel?: (id: string) => string): TreeNode[] {
  const root: GroupNode = { kind: 'group', path: '/', name: '/', depth: -1, children: [], count: 0 };
  const groups = new Map<string, GroupNode>([['/', root]]);
  const groupFor = (path: string): GroupNode => {
    const found = groups.get(path);
    if (found) return found;
    const cut = path.lastIndexOf('/');
    const parent = groupFor(cut <= 0 ? '/' : path.slice(0, cut));
    const g: GroupNode = { kind: 'group', path, name: path.slice(cut + 1), depth: parent.depth + 1, children: [], count: 0 };
    parent.children.push(g);
    groups.set(path, g);
    return g;
  };
  for (const m of machines) {
    if (!matches(m, query, osLabel)) continue;
    const g = groupFor(m.accessible ? m.config.group : '/');
    g.children.push({ kind: 'machine', uuid: m.uuid, depth: g.depth + 1, listing: m });
    for (let p: GroupNode | undefined = g; p; p = p.path === '/' ? undefined : groups.get(parentPath(p.path))) p.count++;
  }
  sortGroup(root);
  return root.children;
}

function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function sortGroup(g: GroupNode): void {
  // Groups first (as VirtualBox lists them), then machines, each by name.
  g.children.sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === 'group' ? -1 : 1;
    return compareNames(a.kind === 'group' ? a.name : displayName(a.listing), b.kind === 'group' ? b.name : displayName(b.listing));
  });
  for (const c of g.children) if (c.kind === 'group') sortGroup(c);
}

/** The rows on screen: groups and machines in order, skipping the inside of collapsed groups. */
export function visibleRows(nodes: readonly TreeNode[], collapsed: ReadonlySet<string>): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (list: readonly TreeNode[]): void => {
    for (const n of list) {
      out.push(n);
      if (n.kind === 'group' && !collapsed.has(n.path)) walk(n.children);
    }
  };
  walk(nodes);
  return out;
}
