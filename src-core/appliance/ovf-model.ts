// The OVF descriptor as Hangar understands it, independent of the dialect it was read from
// (0.9, 1.x, 2.x) or will be written in. Parsing fills it; export builds it; the mapping
// between OVF hardware and MachineConfig reads and writes it.

export type OvfVersion = '0.9' | '1.0' | '2.0';

export const NS = {
  ovf1: 'http://schemas.dmtf.org/ovf/envelope/1',
  ovf2: 'http://schemas.dmtf.org/ovf/envelope/2',
  ovf09: 'http://www.vmware.com/schema/ovf/1/envelope',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  sasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData.xsd',
  epasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData.xsd',
  cim: 'http://schemas.dmtf.org/wbem/wscim/1/common',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  vmw: 'http://www.vmware.com/schema/ovf',
  vbox: 'http://www.virtualbox.org/ovf/machine',
  hangar: 'urn:x-hangar:ovf:machine:1',
} as const;

export const VMDK_STREAM_FORMAT = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** CIM ResourceType codes (DSP1041 / CIM_ResourceAllocationSettingData). */
export const RT = {
  other: 1,
  cpu: 3,
  memory: 4,
  ide: 5,
  scsi: 6,
  ethernet: 10,
  floppy: 14,
  cdrom: 15,
  dvd: 16,
  disk: 17,
  otherStorage: 20,
  serial: 21,
  usb: 23,
  graphics: 24,
  sound: 35,
} as const;

export interface OvfFileRef {
  id: string;
  href: string;
  /** Size of the file as stored in the package (compressed size when compressed). */
  size?: number;
  compression?: 'gzip';
}

export interface OvfDisk {
  diskId: string;
  fileRef?: string;
  /** Virtual capacity in bytes. */
  capacity: number;
  populatedSize?: number;
  format?: string;
}

export interface OvfNetwork {
  name: string;
  description?: string;
}

export interface RasdItem {
  /** Element it came from: Item (all versions), StorageItem or EthernetPortItem (OVF 2.x). */
  element: string;
  resourceType: number;
  instanceId: string;
  /** Every single-valued CIM field by local name (ElementName, Parent, AddressOnParent, ...). */
  fields: Record<string, string>;
  hostResources: string[];
  connections: string[];
  required: boolean;
  /** Deployment configurations this item belongs to; undefined = all. */
  configurations?: string[];
  vmwConfig: Record<string, string>;
  line: number;
}

export interface OvfProperty {
  key: string;
  type: string;
  value?: string;
  label?: string;
  description?: string;
}

export interface OvfProduct {
  product?: string;
  vendor?: string;
  version?: string;
  fullVersion?: string;
  productUrl?: string;
  vendorUrl?: string;
  properties: OvfProperty[];
}

export interface OvfOs {
  id: number;
  version?: string;
  description?: string;
  vboxType?: string;
  vmwType?: string;
}

export interface OvfVirtualSystem {
  id: string;
  name?: string;
  os?: OvfOs;
  systemTypes: string[];
  items: RasdItem[];
  /** vmw:Config key/values directly under the VirtualHardwareSection (firmware etc.). */
  vmwConfig: Record<string, string>;
  products: OvfProduct[];
  eulas: string[];
  annotation?: string;
  /** JSON of the Hangar MachineConfig embedded by a Hangar export. */
  hangarConfig?: string;
  /** A VirtualBox `vbox:Machine` section was present (read for information only). */
  hasVboxMachine: boolean;
}

export interface OvfDeploymentOption {
  id: string;
  label?: string;
  isDefault: boolean;
}

export interface OvfEnvelope {
  version: OvfVersion;
  files: OvfFileRef[];
  disks: OvfDisk[];
  networks: OvfNetwork[];
  deploymentOptions: OvfDeploymentOption[];
  systems: OvfVirtualSystem[];
  /** Name of the VirtualSystemCollection when the package holds several machines. */
  collectionId?: string;
}
