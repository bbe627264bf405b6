// The machine configuration model: what a `.hangar` file holds and what the service API
// carries. It lives in the API layer so the renderer shares it; the library
// (src-core/library/config.ts) re-exports it and owns the schema version and validation.

export const FIRMWARE_TYPES = ['bios', 'uefi', 'linux'] as const;
export const BOOT_DEVICES = ['disk', 'optical', 'network', 'floppy'] as const;
export const CONTROLLER_TYPES = ['ide', 'sata', 'scsi', 'virtio'] as const;
export const MEDIUM_TYPES = ['disk', 'optical'] as const;
export const DISK_FORMATS = ['raw', 'qcow2', 'vdi', 'vmdk', 'vhd'] as const;
export const NIC_MODELS = ['e1000', 'virtio-net', 'rtl8139'] as const;
export const SERIAL_MODES = ['none', 'file', 'tcp', 'pty'] as const;
export const SERIAL_PORTS = ['COM1', 'COM2', 'COM3', 'COM4'] as const;
export const DISPLAY_CONTROLLERS = ['vga', 'none'] as const;
export const PROTOCOLS = ['tcp', 'udp'] as const;

export type FirmwareType = (typeof FIRMWARE_TYPES)[number];
export type BootDevice = (typeof BOOT_DEVICES)[number];
export type ControllerType = (typeof CONTROLLER_TYPES)[number];
export type MediumType = (typeof MEDIUM_TYPES)[number];
export type DiskFormat = (typeof DISK_FORMATS)[number];
export type NicModel = (typeof NIC_MODELS)[number];
export type SerialMode = (typeof SERIAL_MODES)[number];
export type SerialPortName = (typeof SERIAL_PORTS)[number];
export type DisplayController = (typeof DISPLAY_CONTROLLERS)[number];

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
  /** file: output path. */
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

/** One entry of the VM list. An inaccessible VM has only its UUID, path and the reason. */
export type MachineListing =
  | { uuid: string; path: string; accessible: true; config: MachineConfig }
  | { uuid: string; path: string; accessible: false; error: string };

export interface MachineDetails {
  path: string;
  config: MachineConfig;
}

export interface OsType {
  id: string;
  label: string;
  family: 'Linux' | 'Windows' | 'DOS' | 'Other';
  is64Bit: boolean;
  memoryMiB: number;
  cpus: number;
  diskGiB: number;
  firmware: FirmwareType;
  diskController: ControllerType;
  opticalController: ControllerType;
  nicModel: NicModel;
  vramMiB: number;
  minMemoryMiB: number;
}

/** A validation problem, worded exactly as the CLI prints it (library's describeIssue). */
export interface SettingIssue {
  /** Config path such as "memoryMiB" or "network[0].portForwards[1].hostPort". */
  field: string;
  message: string;
}

export interface HostInfo {
  cpus: number;
  memoryMiB: number;
  platform: string;
  /** Where new VMs go unless the user picks another folder. */
  defaultMachineFolder: string;
  /** Disk image formats this build can create (the New-VM wizard offers these). */
  creatableDiskFormats: DiskFormat[];
  /** Largest disk the wizard creates, in GiB. */
  maxDiskGiB: number;
  /** Hard limits of the configuration model (the library's LIMITS). */
  limits: { cpus: { min: number; max: number }; memoryMiB: { min: number; max: number }; vramMiB: { min: number; max: number } };
}
