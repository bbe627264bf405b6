// Running VMs as the service API carries them: lifecycle states, statistics samples and the
// lifecycle actions a client may ask for. The states mirror src-core/vmm/states.ts, which the
// API layer may not import (test/unit/renderer/lifecycle.test.ts keeps them equal); the statistics types are defined here
// and src-core/vmm/stats.ts uses them.

export const VM_STATE_NAMES = [
  'PoweredOff', 'Starting', 'Running', 'Paused', 'Saving', 'Saved', 'Restoring', 'Stopping', 'Aborted',
] as const;
export type VmStateName = (typeof VM_STATE_NAMES)[number];

/** A VM's lifecycle state as the manager shows it; `reason` says why it stopped or aborted. */
export interface VmRuntime {
  state: VmStateName;
  reason?: string;
}

export interface IoCounters {
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

/** Every network adapter of the VM together, since power-on (a restored VM continues its saved counts). */
export interface NetCounters {
  /** Bytes of the Ethernet frames the guest received / sent (no FCS). */
  rxBytes: number;
  txBytes: number;
  /** Frames received / sent. */
  rxPackets: number;
  txPackets: number;
}

/** One once-a-second statistics sample of a VM process (see src-core/vmm/PROTOCOL.md). */
export interface StatsSample {
  t: number;
  uptimeMs: number;
  instructions: number;
  instructionsPerSec: number;
  cpuPercent: number;
  guestRamBytes: number;
  rssBytes: number;
  /** null while the engine has no such device: shown as "not available", never as 0. */
  disk: IoCounters | null;
  net: NetCounters | null;
}

export interface MachineStats {
  /** The last sample; null during a VM's first second. */
  current: StatsSample | null;
  /** Oldest first. */
  history: StatsSample[];
}

/** The lifecycle actions, by service method name, and the states each is allowed in. */
export const LIFECYCLE_ACTIONS = {
  startMachine: ['PoweredOff', 'Saved', 'Aborted'],
  pauseMachine: ['Running'],
  resumeMachine: ['Paused'],
  resetMachine: ['Running', 'Paused'],
  acpiPowerButton: ['Running'],
  powerOffMachine: ['Running', 'Paused', 'Starting', 'Restoring'],
  saveState: ['Running', 'Paused'],
  discardState: ['Saved'],
} as const satisfies Record<string, readonly VmStateName[]>;
export type LifecycleAction = keyof typeof LIFECYCLE_ACTIONS;
export const LIFECYCLE_NAMES = Object.keys(LIFECYCLE_ACTIONS) as LifecycleAction[];

export function actionAllowed(action: LifecycleAction, state: VmStateName): boolean {
  return (LIFECYCLE_ACTIONS[action] as readonly VmStateName[]).includes(state);
}

/** States in which a VM process exists. */
export function isRunningState(s: VmStateName): boolean {
  return s === 'Starting' || s === 'Running' || s === 'Paused' || s === 'Saving' || s === 'Restoring' || s === 'Stopping';
}

/** A chunk of a VM's serial console output (COM1). `offset` is its first byte's position in the stream. */
export interface ConsoleChunk {
  offset: number;
  b64: string;
}

/** One line of an appliance import's mapping report (src-core/appliance/report.ts). */
export interface ImportMappingEntry {
  status: 'mapped' | 'adjusted' | 'dropped';
  subject: string;
  detail: string;
  reason?: string;
}

/** What importing an appliance did, or would do (dry run). */
export interface ApplianceImport {
  systems: { vsys: number; name: string; entries: ImportMappingEntry[]; eulas: string[] }[];
  /** `.hangar` files registered (none for a dry run). */
  registered: string[];
  notes: string[];
}
