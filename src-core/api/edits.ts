// Setting changes as data, with zod schemas so every transport can check what a client sends.
// The CLI's `modify` flags and the GUI's settings dialog both produce these; the library
// applies them (src-core/library/edits.ts).
import { z } from 'zod';
import {
  BOOT_DEVICES, CONTROLLER_TYPES, DISK_FORMATS, DISPLAY_CONTROLLERS, FIRMWARE_TYPES, MEDIUM_TYPES, NIC_MODELS,
  PROTOCOLS, SERIAL_MODES, SERIAL_PORTS,
} from './machine.ts';

// Limits here only bound what the wire accepts (so nothing absurd reaches the library);
// the library's validation gives the user-facing rules and messages.
const text = (max: number) => z.string().max(max);
const int = z.number().int().min(-1e9).max(1e9);
const optionalNullableText = (max: number) => text(max).nullable().optional();

export const portForwardSchema = z.strictObject({
  name: text(64),
  protocol: z.enum(PROTOCOLS),
  hostIp: text(64),
  hostPort: int,
  guestIp: text(64).optional(),
  guestPort: int,
});

export const machineEditSchema = z.union([
  z.strictObject({ kind: z.literal('set'), field: z.enum(['name', 'osType', 'description', 'group']), value: text(8192) }),
  z.strictObject({ kind: z.literal('set'), field: z.enum(['cpus', 'memoryMiB']), value: int }),
  z.strictObject({
    kind: z.literal('firmware'),
    type: z.enum(FIRMWARE_TYPES).optional(),
    kernel: optionalNullableText(4096),
    initrd: optionalNullableText(4096),
    cmdline: optionalNullableText(8192),
  }),
  z.strictObject({ kind: z.literal('bootOrder'), order: z.array(z.enum(BOOT_DEVICES)).max(8) }),
  z.strictObject({ kind: z.literal('display'), controller: z.enum(DISPLAY_CONTROLLERS).optional(), vramMiB: int.optional() }),
  z.strictObject({ kind: z.literal('addController'), name: text(64), type: z.enum(CONTROLLER_TYPES) }),
  z.strictObject({ kind: z.literal('removeController'), name: text(64) }),
  z.strictObject({
    kind: z.literal('attach'),
    controller: text(64),
    port: int,
    type: z.enum(MEDIUM_TYPES),
    path: text(4096),
    format: z.enum(DISK_FORMATS).optional(),
    readOnly: z.boolean().optional(),
  }),
  z.strictObject({ kind: z.literal('detach'), controller: text(64), port: int }),
  z.strictObject({ kind: z.literal('nic'), slot: int, enabled: z.boolean().optional(), model: z.enum(NIC_MODELS).optional(), mac: text(32).optional() }),
  z.strictObject({ kind: z.literal('removeNic'), slot: int }),
  z.strictObject({ kind: z.literal('addPortForward'), slot: int, rule: portForwardSchema }),
  z.strictObject({ kind: z.literal('removePortForward'), slot: int, name: text(64) }),
  z.strictObject({ kind: z.literal('serial'), port: z.enum(SERIAL_PORTS), mode: z.enum(SERIAL_MODES), path: text(4096).optional(), tcpPort: int.optional() }),
  z.strictObject({ kind: z.literal('removeSerial'), port: z.enum(SERIAL_PORTS) }),
  z.strictObject({
    kind: z.literal('resources'),
    priority: z.enum(['low', 'normal', 'high']).nullable().optional(),
    cpuCap: int.nullable().optional(),
    affinity: z.array(int).max(1024).nullable().optional(),
  }),
]);

export type MachineEdit = z.infer<typeof machineEditSchema>;
