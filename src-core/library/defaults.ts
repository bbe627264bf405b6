// A new machine's configuration, filled from its OS preset.
import { randomBytes, randomUUID } from 'node:crypto';
import { HangarError } from '../api/errors.ts';
import { CONFIG_SCHEMA_VERSION, type MachineConfig } from './config.ts';
import { OS_PRESETS, presetById } from './presets.ts';

/** A random locally administered unicast MAC (first octet 0A), upper-case as VirtualBox writes them. */
export function randomMac(): string {
  const b = randomBytes(3);
  return ['0A', '48', '47', ...[...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase())].join(':');
}

export interface NewMachineOptions {
  name: string;
  osType: string;
  memoryMiB?: number;
  cpus?: number;
  description?: string;
  group?: string;
}

export function newMachineConfig(o: NewMachineOptions): MachineConfig {
  const p = presetById(o.osType);
  if (!p) {
    throw new HangarError('invalid-config', `osType: ${JSON.stringify(o.osType)} is not valid; allowed: one of ${OS_PRESETS.map((x) => x.id).join(', ')} (see hangar ostypes)`);
  }
  const storage: MachineConfig['storage'] = [{ name: p.diskController.toUpperCase(), type: p.diskController, attachments: [] }];
  if (p.opticalController === p.diskController) {
    storage[0]!.attachments.push({ port: 1, type: 'optical', path: '' });
  } else {
    storage.push({ name: p.opticalController.toUpperCase(), type: p.opticalController, attachments: [{ port: 2, type: 'optical', path: '' }] });
  }
  return {
    schemaVersion: CONFIG_SCHEMA_VERSION,
    uuid: randomUUID(),
    name: o.name,
    osType: p.id,
    description: o.description ?? '',
    group: o.group ?? '/',
    cpus: o.cpus ?? p.cpus,
    memoryMiB: o.memoryMiB ?? p.memoryMiB,
    firmware: { type: p.firmware },
    bootOrder: ['optical', 'disk'],
    storage,
    network: [{ slot: 1, enabled: true, attachment: 'nat', model: p.nicModel, mac: randomMac(), portForwards: [] }],
    serial: [],
    display: { controller: 'vga', vramMiB: p.vramMiB },
  };
}
