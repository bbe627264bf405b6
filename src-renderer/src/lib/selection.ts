// Multi-selection in the VM list, with the usual desktop rules: click selects one, Ctrl/Cmd
// toggles, Shift extends from the anchor over the visible order. Pure, no DOM.

export interface Selection {
  selected: ReadonlySet<string>;
  anchor?: string;
}

export interface ClickMods {
  toggle: boolean;
  range: boolean;
}

export function click(sel: Selection, order: readonly string[], id: string, mods: ClickMods): Selection {
  if (mods.range && sel.anchor && order.includes(sel.anchor)) {
    const a = order.indexOf(sel.anchor);
    const b = order.indexOf(id);
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const range = order.slice(lo, hi + 1);
    const base = mods.toggle ? new Set(sel.selected) : new Set<string>();
    for (const r of range) base.add(r);
    return { selected: base, anchor: sel.anchor };
  }
  if (mods.toggle) {
    const next = new Set(sel.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return { selected: next, anchor: id };
  }
  return { selected: new Set([id]), anchor: id };
}

/** Arrow-key movement: the next or previous row, selected alone (or extending with Shift). */
export function move(sel: Selection, order: readonly string[], delta: number, extend: boolean): Selection {
  if (!order.length) return sel;
  const current = sel.anchor && sel.selected.has(sel.anchor) ? sel.anchor : [...sel.selected].pop();
  const at = current === undefined ? -1 : order.indexOf(current);
  const nextIndex = at < 0 ? (delta > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, at + delta));
  const id = order[nextIndex]!;
  if (extend) {
    const s = new Set(sel.selected);
    s.add(id);
    return { selected: s, anchor: id };
  }
  return { selected: new Set([id]), anchor: id };
}

export function selectAll(order: readonly string[]): Selection {
  return { selected: new Set(order), anchor: order[0] };
}

/** Drop machines that disappeared from the list. */
export function prune(sel: Selection, existing: ReadonlySet<string>): Selection {
  const selected = new Set([...sel.selected].filter((id) => existing.has(id)));
  return { selected, anchor: sel.anchor && existing.has(sel.anchor) ? sel.anchor : undefined };
}
