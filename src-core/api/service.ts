// The Hangar service: one typed API that the GUI uses in both the Electron window and the
// browser. Each method takes one parameter object, checked by its zod schema at every
// transport boundary, and returns a promise. Errors reach clients as {code, message}.
//
// Growing it: lifecycle (start, pause, ...), statistics and console streams belong to the
// VMM and arrive as new entries in METHOD_PARAMS / ServiceResults plus new HangarEvent
// variants (a console stream is a subscription whose data comes back as events).
import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { machineEditSchema, type MachineEdit } from './edits.ts';
import { DISK_FORMATS, type HostInfo, type MachineDetails, type MachineListing, type OsType, type SettingIssue } from './machine.ts';
import type { ApplianceImport, ConsoleChunk, MachineStats, StatsSample, VmRuntime, VmStateName } from './runtime.ts';

const ref = z.string().min(1).max(256);
const path = z.string().min(1).max(4096);
const edits = z.array(machineEditSchema).max(256);

/** What the New-VM wizard sends: the preset choice plus the edits its pages produce. */
export const newMachineSchema = z.strictObject({
  name: z.string().max(256),
  osType: z.string().max(64),
  /** Folder that receives the VM folder; the default Machines folder when left out. */
  baseFolder: path.optional(),
  memoryMiB: z.number().int().min(-1e9).max(1e9).optional(),
  cpus: z.number().int().min(-1e9).max(1e9).optional(),
  group: z.string().max(4096).optional(),
  description: z.string().max(8192).optional(),
  /** Linux direct boot: switches the firmware to linux with these files. */
  linux: z.strictObject({ kernel: z.string().max(4096), initrd: z.string().max(4096).optional(), cmdline: z.string().max(8192).optional() }).optional(),
  /** An ISO image for the preset's optical drive. */
  iso: z.string().max(4096).optional(),
  /** A disk on the preset's disk controller, port 0: a new image in the VM folder or an existing file. */
  disk: z.union([
    z.strictObject({ kind: z.literal('new'), format: z.enum(DISK_FORMATS), sizeGiB: z.number().min(-1e9).max(1e9) }),
    z.strictObject({ kind: z.literal('existing'), path: z.string().max(4096), format: z.enum(DISK_FORMATS) }),
  ]).optional(),
  /** Further settings applied to the preset's configuration before it is validated and written. */
  edits: edits.optional(),
});
export type NewMachine = z.infer<typeof newMachineSchema>;

export const METHOD_PARAMS = {
  listMachines: z.strictObject({}),
  getMachine: z.strictObject({ ref }),
  createMachine: newMachineSchema,
  /** Validate a new machine without creating it: the wizard's inline errors. */
  checkNewMachine: newMachineSchema,
  modifyMachine: z.strictObject({ ref, edits }),
  /** Validate edits without writing them: the settings dialog's inline errors. */
  checkEdits: z.strictObject({ ref, edits }),
  cloneMachine: z.strictObject({ ref, name: z.string().max(256), baseFolder: path.optional() }),
  registerMachine: z.strictObject({ path }),
  unregisterMachine: z.strictObject({ ref }),
  deleteMachine: z.strictObject({ ref, keepFiles: z.boolean().optional() }),
  osTypes: z.strictObject({}),
  hostInfo: z.strictObject({}),
  // Lifecycle: each answers with the VM's state once the VM has taken the request.
  startMachine: z.strictObject({ ref }),
  pauseMachine: z.strictObject({ ref }),
  resumeMachine: z.strictObject({ ref }),
  resetMachine: z.strictObject({ ref }),
  acpiPowerButton: z.strictObject({ ref }),
  powerOffMachine: z.strictObject({ ref }),
  saveState: z.strictObject({ ref }),
  discardState: z.strictObject({ ref }),
  /** The last sample and the samples of the last `seconds` (default: the whole hour). */
  machineStats: z.strictObject({ ref, seconds: z.number().int().min(0).max(3600).optional() }),
  /** Start receiving 'console' events of a VM; answers with the output so far (up to 256 KiB). */
  consoleSubscribe: z.strictObject({ ref }),
  consoleUnsubscribe: z.strictObject({ ref }),
  /** Keystrokes for the VM's COM1: UTF-8 text or base64 bytes, exactly one of them. */
  /** Import an OVF appliance (.ova/.ovf); dryRun only reports the mapping and writes nothing. */
  importAppliance: z.strictObject({ path, dryRun: z.boolean().optional(), name: z.string().min(1).max(256).optional(), newUuid: z.boolean().optional() }),
  consoleInput: z.strictObject({ ref, text: z.string().max(65536).optional(), b64: z.string().max(87384).regex(/^[A-Za-z0-9+/]*={0,2}$/).optional() })
    .refine((p) => (p.text === undefined) !== (p.b64 === undefined), { message: 'give exactly one of text or b64' }),
} as const;

export type MethodName = keyof typeof METHOD_PARAMS;
/** Methods about running VMs (the VMM side); the rest is the library's. */
export type RuntimeMethodName = 'startMachine' | 'pauseMachine' | 'resumeMachine' | 'resetMachine' | 'acpiPowerButton' | 'powerOffMachine'
  | 'saveState' | 'discardState' | 'machineStats' | 'consoleSubscribe' | 'consoleUnsubscribe' | 'consoleInput' | 'importAppliance';
export type ServiceParams = { [K in MethodName]: z.infer<(typeof METHOD_PARAMS)[K]> };

/** A VM of the list with its lifecycle state (accessible VMs only). */
export type MachineEntry = MachineListing & { runtime?: VmRuntime };

export interface ServiceResults {
  listMachines: MachineEntry[];
  getMachine: MachineDetails;
  createMachine: MachineDetails;
  checkNewMachine: SettingIssue[];
  modifyMachine: MachineDetails;
  checkEdits: SettingIssue[];
  cloneMachine: MachineDetails;
  registerMachine: MachineDetails;
  unregisterMachine: { uuid: string; path: string };
  deleteMachine: { removed: string[]; kept: string[] };
  osTypes: OsType[];
  hostInfo: HostInfo;
  startMachine: VmRuntime;
  pauseMachine: VmRuntime;
  resumeMachine: VmRuntime;
  resetMachine: VmRuntime;
  acpiPowerButton: VmRuntime;
  powerOffMachine: VmRuntime;
  saveState: VmRuntime;
  discardState: VmRuntime;
  machineStats: MachineStats;
  /** The output so far; 'console' events with offset >= `end` continue it. */
  consoleSubscribe: { data: ConsoleChunk; end: number };
  consoleUnsubscribe: { subscribed: boolean };
  consoleInput: { bytes: number };
  importAppliance: ApplianceImport;
}

/** The service as its implementation and its clients see it. */
export type HangarService = { [K in MethodName]: (params: ServiceParams[K]) => Promise<ServiceResults[K]> };

export function isMethodName(s: unknown): s is MethodName {
  return typeof s === 'string' && Object.hasOwn(METHOD_PARAMS, s);
}

/** Events the service pushes to every connected client. */
export type HangarEvent =
  /** The set of VMs or one VM's settings changed (by this or another client). */
  | { type: 'machines-changed'; uuid?: string }
  /** The desktop shell's menu asks the window to run one of its actions. */
  | { type: 'command'; command: UiCommand; path?: string }
  /** A VM's lifecycle state changed (from this or any other client, the CLI, or the guest). */
  | { type: 'vm-state'; uuid: string; state: VmStateName; reason?: string }
  /** A running VM's once-a-second statistics sample. */
  | { type: 'vm-stats'; uuid: string; sample: StatsSample }
  /** Serial console output of a VM someone subscribed to. */
  | { type: 'console'; uuid: string; chunk: ConsoleChunk };

/** 'import-appliance' carries the .ova path the desktop shell was asked to open. */
export const UI_COMMANDS = ['new-machine', 'settings', 'clone', 'remove', 'import-appliance'] as const;
export type UiCommand = (typeof UI_COMMANDS)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type { MachineEdit };
