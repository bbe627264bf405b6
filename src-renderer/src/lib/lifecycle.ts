// Which lifecycle actions the toolbar and context menu offer for a selection: an action is
// enabled when at least one selected VM is in a state that allows it (it is then applied to
// those VMs only), as VirtualBox's manager does.
import { actionAllowed, LIFECYCLE_NAMES, type LifecycleAction, type VmStateName } from '../../../src-core/api/runtime.ts';
import type { MachineEntry } from '../../../src-core/api/service.ts';

/** The state of an entry; inaccessible VMs have none. */
export function stateOf(m: MachineEntry): VmStateName | undefined {
  return m.accessible ? (m.runtime?.state ?? 'PoweredOff') : undefined;
}

/** For each action, the UUIDs of the selected VMs it applies to. */
export function actionTargets(selected: readonly MachineEntry[]): Record<LifecycleAction, string[]> {
  const out = Object.fromEntries(LIFECYCLE_NAMES.map((a) => [a, [] as string[]])) as Record<LifecycleAction, string[]>;
  for (const m of selected) {
    const s = stateOf(m);
    if (!s) continue;
    for (const a of LIFECYCLE_NAMES) if (actionAllowed(a, s)) out[a].push(m.uuid);
  }
  return out;
}

/** Keyboard shortcuts of the lifecycle actions (Ctrl or Cmd + Shift + key); browsers keep Ctrl+T/N/W. */
export const ACTION_KEYS: Record<LifecycleAction, string> = {
  startMachine: 'S',
  pauseMachine: 'P',
  resumeMachine: 'U',
  resetMachine: 'E',
  saveState: 'A',
  acpiPowerButton: 'H',
  powerOffMachine: 'F',
  discardState: 'D',
};

/** aria-keyshortcuts value and the label shown in menus. */
export function shortcutOf(a: LifecycleAction): { aria: string; label: string } {
  return { aria: `Control+Shift+${ACTION_KEYS[a]}`, label: `Ctrl+Shift+${ACTION_KEYS[a]}` };
}

/** The action a key press asks for, if any. */
export function actionForKey(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): LifecycleAction | undefined {
  if (!(e.ctrlKey || e.metaKey) || !e.shiftKey || e.altKey) return undefined;
  const k = e.key.toUpperCase();
  return LIFECYCLE_NAMES.find((a) => ACTION_KEYS[a] === k);
}

/** True while a VM has a process (the console and monitor have something to show). */
export function isLiveState(s: VmStateName | undefined): boolean {
  return s === 'Starting' || s === 'Running' || s === 'Paused' || s === 'Saving' || s === 'Restoring' || s === 'Stopping';
}
