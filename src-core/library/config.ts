// The machine configuration model: what a `.hangar` file holds. The types live in the API
// layer (src-core/api/machine.ts) so the renderer shares them; the library owns the schema
// version, migration (migrate.ts) and validation (validate.ts).

export const CONFIG_SCHEMA_VERSION = 1;

export type {
  Attachment, BootDevice, ControllerType, Display, DisplayController, DiskFormat, Firmware, FirmwareType, MachineConfig,
  MediumType, NetworkAdapter, NicModel, PortForward, Resources, SerialMode, SerialPort, SerialPortName, StorageController,
  VmPriority,
} from '../api/machine.ts';
export {
  BOOT_DEVICES, CONTROLLER_PORTS, CONTROLLER_TYPES, DISK_FORMATS, DISPLAY_CONTROLLERS, FIRMWARE_TYPES, MEDIUM_TYPES,
  NIC_MODELS, SERIAL_MODES, SERIAL_PORTS, VM_PRIORITIES,
} from '../api/machine.ts';
