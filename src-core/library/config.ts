// The machine configuration model: what a `.hangar` file holds. Version 1 of the schema.
// Everything a VM is lives here; the engine, the GUI and appliance export all read it.

export const CONFIG_SCHEMA_VERSION = 1;

export type FirmwareType = 'bios' | 'uefi' | 'linux';
export type BootDevice = 'disk' | 'optical' | 'network' | 'floppy';
export type ControllerType = 'ide' | 'sata' | 'scsi' | 'virtio';
export type MediumType = 'disk' | 'optical';
export type DiskFormat = 'raw' | 'qcow2' | 'vdi' | 'vmdk' | 'vhd';
export type NicModel = 'e1000' | 'virtio-net' | 'rtl8139';
export type SerialMode = 'none' | 'file' | 'tcp' | 'pty';
export type SerialPortName = 'COM1' | 'COM2' | 'COM3' | 'COM4';
export type DisplayController = 'vga' | 'none';

export const FIRMWARE_TYPES: readonly FirmwareType[] = ['bios', 'uefi', 'linux'];
export const BOOT_DEVICES: readonly BootDevice[] = ['disk', 'optical', 'network', 'floppy'];
export const CONTROLLER_TYPES: readonly ControllerType[] = ['ide', 'sata', 'scsi', 'virtio'];
export const MEDIUM_TYPES: readonly MediumType[] = ['disk', 'optical'];
export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2', 'vdi', 'vmdk', 'vhd'];
export const NIC_MODELS: readonly NicModel[] = ['e1000', 'virtio-net', 'rtl8139'];
export const SERIAL_MODES: readonly SerialMode[] = ['none', 'file', 'tcp', 'pty'];
export const SERIAL_PORTS: readonly SerialPortName[] = ['COM1', 'COM2', 'COM3', 'COM4'];
export const DISPLAY_CONTROLLERS: readonly DisplayController[] = ['vga', 'none'];

/** Ports each controller type offers (IDE: primary/secondary master/slave). */
export const CONTROLLER_PORTS: Record<ControllerType, number> = { ide: 4, sata: 30, scsi: 16, virtio: 16 };

export interface Firmware {
  type: FirmwareType;
  /** Linux direct boot only. Paths are absolute or relative to the VM folder. */
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export interface Attachment {
  port: number;
  type: MediumType;
  /** Image path, absolute or relative to the VM folder. Empty for an empty optical drive. */
  path: string;
  /** Disk image format; the engine opens the image with exactly this format, never a guess. */
  format?: DiskFormat;
  readOnly?: boolean;
}

export interface StorageController {
  name: string;
  type: ControllerType;
  attachments: Attachment[];
}

export interface PortForward {
  name: string;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestIp?: string;
  guestPort: number;
}

export interface NetworkAdapter {
  slot: number;
  enabled: boolean;
  attachment: 'nat';
  model: NicModel;
  mac: string;
  portForwards: PortForward[];
}

export interface SerialPort {
  port: SerialPortName;
  mode: SerialMode;
  /** file: output path; pty: unused. */
  path?: string;
  /** tcp: the port on 127.0.0.1 the console listens on. */
  tcpPort?: number;
}

export interface Display {
  controller: DisplayController;
  vramMiB: number;
}

export type VmPriority = 'low' | 'normal' | 'high';
export const VM_PRIORITIES: readonly VmPriority[] = ['low', 'normal', 'high'];

/** How the VM shares the host (the VMM applies these when it starts the VM process). */
export interface Resources {
  /** Host scheduling priority of the VM process (default normal). */
  priority?: VmPriority;
  /** Execution cap: percent of one host core the VM may use, 1-100 (default 100). */
  cpuCap?: number;
  /** Host cores the VM process may run on (default: any). */
  affinity?: number[];
}

export interface MachineConfig {
  schemaVersion: number;
  uuid: string;
  name: string;
  osType: string;
  description: string;
  /** Group path such as "/" or "/Servers/Web". */
  group: string;
  cpus: number;
  memoryMiB: number;
  firmware: Firmware;
  bootOrder: BootDevice[];
  storage: StorageController[];
  network: NetworkAdapter[];
  serial: SerialPort[];
  display: Display;
  /** Optional; absent means normal priority, no cap, any core. */
  resources?: Resources;
}
