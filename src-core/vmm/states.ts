// The lifecycle of a VM as VirtualBox users know it. One table says which transitions exist;
// every component (VM process, manager, CLI) asks it, so an illegal request is rejected the
// same way everywhere, with a message that names the state and what is allowed from it.
import { HangarError } from '../api/errors.ts';

export const VM_STATES = [
  'PoweredOff', 'Starting', 'Running', 'Paused', 'Saving', 'Saved', 'Restoring', 'Stopping', 'Aborted',
] as const;
export type VmState = (typeof VM_STATES)[number];

const TRANSITIONS: Record<VmState, readonly VmState[]> = {
  PoweredOff: ['Starting'],
  Starting: ['Running', 'Paused', 'Stopping', 'Aborted', 'PoweredOff'],
  Running: ['Paused', 'Saving', 'Stopping', 'Aborted'],
  Paused: ['Running', 'Saving', 'Stopping', 'Aborted'],
  // A failed save leaves the VM where it was.
  Saving: ['Saved', 'Running', 'Paused', 'Aborted'],
  Saved: ['Restoring', 'PoweredOff'],
  Restoring: ['Running', 'Paused', 'Aborted', 'Saved'],
  Stopping: ['PoweredOff', 'Aborted'],
  Aborted: ['Starting', 'PoweredOff'],
};

export function isVmState(s: unknown): s is VmState {
  return typeof s === 'string' && (VM_STATES as readonly string[]).includes(s);
}

export function canTransition(from: VmState, to: VmState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: VmState, to: VmState, action?: string): void {
  if (canTransition(from, to)) return;
  const what = action ? `cannot ${action}` : `cannot go from ${from} to ${to}`;
  throw new HangarError('state', `${what}: the VM is ${from}`, { from, to });
}

/** The operations a user can ask for, and the states each is allowed in. */
export const OPERATIONS = {
  start: ['PoweredOff', 'Saved', 'Aborted'],
  pause: ['Running'],
  resume: ['Paused'],
  reset: ['Running', 'Paused'],
  'acpi-powerbutton': ['Running'],
  poweroff: ['Running', 'Paused', 'Starting', 'Restoring'],
  savestate: ['Running', 'Paused'],
  discardstate: ['Saved'],
  'attach-media': ['Running', 'Paused'],
  'detach-media': ['Running', 'Paused'],
  'serial-input': ['Running', 'Paused'],
} as const satisfies Record<string, readonly VmState[]>;
export type VmOperation = keyof typeof OPERATIONS;

/** Throws a 'state' HangarError when `op` is not allowed in `state`. */
export function assertOperation(op: VmOperation, state: VmState): void {
  const allowed: readonly VmState[] = OPERATIONS[op];
  if (allowed.includes(state)) return;
  throw new HangarError('state', `cannot ${op}: the VM is ${state}; ${op} needs the VM to be ${allowed.join(' or ')}`, { op, state });
}

/** States in which a VM process exists. */
export function isLive(s: VmState): boolean {
  return s === 'Starting' || s === 'Running' || s === 'Paused' || s === 'Saving' || s === 'Restoring' || s === 'Stopping';
}
