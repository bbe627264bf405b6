// OS types a VM can be created for, with the defaults a new VM of that type gets.
import type { OsType } from '../api/machine.ts';

/** An OS type with the defaults a new VM of that type gets (shape shared with the API). */
export type OsPreset = OsType;

const linux = { family: 'Linux', is64Bit: true, firmware: 'bios', diskController: 'sata', opticalController: 'ide', nicModel: 'virtio-net', vramMiB: 16 } as const;

export const OS_PRESETS: readonly OsPreset[] = [
  { id: 'Linux_64', label: 'Linux (64-bit)', ...linux, memoryMiB: 1024, cpus: 1, diskGiB: 8, minMemoryMiB: 64 },
  { id: 'Debian_64', label: 'Debian (64-bit)', ...linux, memoryMiB: 2048, cpus: 2, diskGiB: 20, minMemoryMiB: 256 },
  { id: 'Ubuntu_64', label: 'Ubuntu (64-bit)', ...linux, memoryMiB: 4096, cpus: 2, diskGiB: 25, minMemoryMiB: 1024 },
  { id: 'Fedora_64', label: 'Fedora (64-bit)', ...linux, memoryMiB: 4096, cpus: 2, diskGiB: 25, minMemoryMiB: 1024, firmware: 'uefi' },
  {
    id: 'Windows10_64', label: 'Windows 10 (64-bit)', family: 'Windows', is64Bit: true, memoryMiB: 4096, cpus: 2, diskGiB: 50,
    firmware: 'uefi', diskController: 'sata', opticalController: 'sata', nicModel: 'e1000', vramMiB: 128, minMemoryMiB: 2048,
  },
  {
    id: 'Windows11_64', label: 'Windows 11 (64-bit)', family: 'Windows', is64Bit: true, memoryMiB: 4096, cpus: 2, diskGiB: 80,
    firmware: 'uefi', diskController: 'sata', opticalController: 'sata', nicModel: 'e1000', vramMiB: 128, minMemoryMiB: 4096,
  },
  {
    id: 'FreeDOS', label: 'FreeDOS', family: 'DOS', is64Bit: false, memoryMiB: 32, cpus: 1, diskGiB: 1,
    firmware: 'bios', diskController: 'ide', opticalController: 'ide', nicModel: 'rtl8139', vramMiB: 8, minMemoryMiB: 4,
  },
  {
    id: 'Other', label: 'Other/Unknown', family: 'Other', is64Bit: false, memoryMiB: 512, cpus: 1, diskGiB: 8,
    firmware: 'bios', diskController: 'ide', opticalController: 'ide', nicModel: 'e1000', vramMiB: 16, minMemoryMiB: 4,
  },
  { id: 'Other_64', label: 'Other/Unknown (64-bit)', family: 'Other', is64Bit: true, memoryMiB: 1024, cpus: 1, diskGiB: 16,
    firmware: 'bios', diskController: 'sata', opticalController: 'ide', nicModel: 'e1000', vramMiB: 16, minMemoryMiB: 4 },
];

export function presetById(id: string): OsPreset | undefined {
  return OS_PRESETS.find((p) => p.id.toLowerCase() === id.toLowerCase());
}
