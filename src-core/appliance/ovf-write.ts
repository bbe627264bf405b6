// MachineConfig(s) → OVF descriptor text (1.0 by default, 2.0 on request). Standard sections carry
// what other tools need; Hangar's whole configuration rides along in a section marked
// ovf:required="false" so a Hangar → Hangar trip loses nothing while other tools skip it.
import type { MachineConfig, StorageController } from '../library/config.ts';
import { OS_TO_CIM } from './cim-os.ts';
import { HANGAR_DISK_PREFIX } from './map-import.ts';
import { NS, RT, VMDK_STREAM_FORMAT } from './ovf-model.ts';
import { serializeXml, x, type XNode } from './xml-writer.ts';

export interface ExportDisk {
  diskId: string;
  fileId: string;
  href: string;
  /** Bytes of the file as stored in the package. */
  size: number;
  capacity: number;
  populatedSize: number;
}

export interface ExportMachine {
  config: MachineConfig;
  /** Disks of this machine keyed by "<controller name>:<port>". */
  disks: Map<string, ExportDisk>;
}

export interface ProductInfo {
  vendor?: string;
  product?: string;
  version?: string;
  eula?: string;
}

export interface EnvelopeInput {
  ovf20: boolean;
  machines: ExportMachine[];
  product?: ProductInfo;
}

const NIC_SUBTYPE = { e1000: 'E1000', 'virtio-net': 'virtio', rtl8139: 'RTL8139' } as const;

/** The configuration embedded in the Hangar section: disks point into the package. */
export function embeddedConfig(m: ExportMachine): MachineConfig {
  const cfg = structuredClone(m.config);
  for (const ctl of cfg.storage) {
    for (const a of ctl.attachments) {
      if (a.type !== 'disk') continue;
      const d = m.disks.get(`${ctl.name}:${a.port}`);
      if (!d) throw new Error(`ovf-write: no exported disk for ${ctl.name} port ${a.port}`);
      // The format stays: it is the one the disk had, which an import restores by default.
      a.path = HANGAR_DISK_PREFIX + d.diskId;
    }
  }
  return cfg;
}

class ItemWriter {
  private next = 1;
  readonly items: XNode[] = [];

  constructor(private readonly ovf20: boolean) {}

  /** One RASD item; CIM fields are written in alphabetical order, as the CIM schemas' sequences demand. */
  add(fields: Record<string, string | number | undefined>, opts: { element?: 'StorageItem' | 'EthernetPortItem'; required?: boolean; extra?: XNode[] } = {}): string {
    const id = String(this.next++);
    const el = this.ovf20 && opts.element ? opts.element : 'Item';
    const prefix = el === 'StorageItem' ? 'sasd' : el === 'EthernetPortItem' ? 'epasd' : 'rasd';
    const all: Record<string, string | number | undefined> = { ...fields, InstanceID: id };
    const kids = Object.keys(all)
      .filter((k) => all[k] !== undefined)
      .sort()
      .map((k) => x(`${prefix}:${k}`, undefined, String(all[k])));
    this.items.push(x(`ovf:${el}`, opts.required === false ? { 'ovf:required': 'false' } : undefined, ...kids, ...(opts.extra ?? [])));
    return id;
  }
}

function controllerItems(w: ItemWriter, ctl: StorageController): Map<number, { parent: string; address: number }> {
  const at = new Map<number, { parent: string; address: number }>();
  if (ctl.type === 'ide') {
    // OVF describes each IDE channel as its own controller with two devices.
    for (const ch of [0, 1]) {
      const id = w.add({ Address: ch, Caption: `${ctl.name} channel ${ch}`, Description: 'IDE Controller', ElementName: `${ctl.name} channel ${ch}`, ResourceSubType: 'PIIX4', ResourceType: RT.ide });
      at.set(ch * 2, { parent: id, address: 0 });
      at.set(ch * 2 + 1, { parent: id, address: 1 });
    }
    return at;
  }
  const spec = ctl.type === 'sata'
    ? { rt: RT.otherStorage, sub: 'AHCI', desc: 'SATA Controller' }
    // VirtualBox knows a virtio controller only as VirtioSCSI; the guest needs virtio drivers either way.
    : { rt: RT.scsi, sub: ctl.type === 'virtio' ? 'VirtioSCSI' : 'lsilogic', desc: ctl.type === 'virtio' ? 'VirtIO Controller' : 'SCSI Controller' };
  const id = w.add({ Address: 0, Caption: ctl.name, Description: spec.desc, ElementName: ctl.name, ResourceSubType: spec.sub, ResourceType: spec.rt });
  for (let p = 0; p < 30; p++) at.set(p, { parent: id, address: p });
  return at;
}

function hardware(m: ExportMachine, ovf20: boolean): XNode {
  const c = m.config;
  const w = new ItemWriter(ovf20);
  w.add({ AllocationUnits: 'hertz * 10^6', Caption: `${c.cpus} virtual CPU(s)`, Description: 'Number of virtual CPUs', ElementName: `${c.cpus} virtual CPU(s)`, ResourceType: RT.cpu, VirtualQuantity: c.cpus });
  w.add({ AllocationUnits: 'byte * 2^20', Caption: `${c.memoryMiB} MB of memory`, Description: 'Memory Size', ElementName: `${c.memoryMiB} MB of memory`, ResourceType: RT.memory, VirtualQuantity: c.memoryMiB });
  for (const ctl of c.storage) {
    const at = controllerItems(w, ctl);
    for (const a of [...ctl.attachments].sort((p, q) => p.port - q.port)) {
      const slot = at.get(a.port)!;
      if (a.type === 'disk') {
        const d = m.disks.get(`${ctl.name}:${a.port}`)!;
        w.add({ AddressOnParent: slot.address, Caption: d.diskId, Description: 'Disk Image', ElementName: d.diskId, HostResource: `ovf:/disk/${d.diskId}`, Parent: slot.parent, ResourceType: RT.disk }, { element: 'StorageItem' });
      } else {
        w.add({ AddressOnParent: slot.address, AutomaticAllocation: 'true', Caption: 'cdrom', Description: 'CD-ROM Drive', ElementName: 'cdrom', Parent: slot.parent, ResourceType: RT.cdrom }, { element: 'StorageItem' });
      }
    }
  }
  for (const nic of c.network) {
    w.add({
      Address: nic.mac, AutomaticAllocation: String(nic.enabled), Caption: `Ethernet adapter ${nic.slot} on 'NAT'`, Connection: 'NAT',
      ElementName: `Ethernet adapter ${nic.slot}`, ResourceSubType: NIC_SUBTYPE[nic.model], ResourceType: RT.ethernet,
    }, { element: 'EthernetPortItem' });
  }
  for (const s of c.serial) w.add({ Caption: s.port, Description: 'Serial Port', ElementName: s.port, ResourceType: RT.serial });
  if (c.display.controller !== 'none') {
    w.add({ AllocationUnits: 'byte * 2^20', AutomaticAllocation: 'false', ElementName: 'Video card', ResourceType: RT.graphics, VirtualQuantity: c.display.vramMiB }, { required: false });
  }
  return x('ovf:VirtualHardwareSection', undefined,
    x('ovf:Info', undefined, 'Virtual hardware requirements for a virtual machine'),
    x('ovf:System', undefined,
      x('vssd:ElementName', undefined, 'Virtual Hardware Family'),
      x('vssd:InstanceID', undefined, '0'),
      x('vssd:VirtualSystemIdentifier', undefined, c.name),
      // VMware refuses system types it does not know; vmx-07 is the oldest every version reads.
      x('vssd:VirtualSystemType', undefined, 'vmx-07')),
    ...w.items,
    x('vmw:Config', { 'ovf:required': 'false', 'vmw:key': 'firmware', 'vmw:value': c.firmware.type === 'uefi' ? 'efi' : 'bios' }));
}

function productSections(p: ProductInfo | undefined): XNode[] {
  if (!p) return [];
  const out: XNode[] = [];
  if (p.vendor !== undefined || p.product !== undefined || p.version !== undefined) {
    out.push(x('ovf:ProductSection', undefined,
      x('ovf:Info', undefined, 'Information about the installed software'),
      p.product !== undefined ? x('ovf:Product', undefined, p.product) : undefined,
      p.vendor !== undefined ? x('ovf:Vendor', undefined, p.vendor) : undefined,
      p.version !== undefined ? x('ovf:Version', undefined, p.version) : undefined,
      p.version !== undefined ? x('ovf:FullVersion', undefined, p.version) : undefined));
  }
  if (p.eula !== undefined) out.push(x('ovf:EulaSection', undefined, x('ovf:Info', undefined, 'License agreement for the virtual system'), x('ovf:License', undefined, p.eula)));
  return out;
}

function virtualSystem(m: ExportMachine, input: EnvelopeInput, withProduct: boolean): XNode {
  const c = m.config;
  const os = OS_TO_CIM[c.osType] ?? OS_TO_CIM.Other!;
  return x('ovf:VirtualSystem', { 'ovf:id': c.name },
    x('ovf:Info', undefined, 'A virtual machine'),
    x('ovf:Name', undefined, c.name),
    ...(withProduct ? productSections(input.product) : []),
    c.description ? x('ovf:AnnotationSection', undefined, x('ovf:Info', undefined, 'A human-readable annotation'), x('ovf:Annotation', undefined, c.description)) : undefined,
    x('ovf:OperatingSystemSection', { 'ovf:id': os.id },
      x('ovf:Info', undefined, 'The kind of installed guest operating system'),
      x('ovf:Description', undefined, c.osType)),
    hardware(m, input.ovf20),
    x('hangar:Machine', { 'ovf:required': 'false' },
      x('ovf:Info', undefined, 'Complete Hangar machine configuration'),
      x('hangar:Config', { format: 'json' }, JSON.stringify(embeddedConfig(m)))));
}

export function writeOvf(input: EnvelopeInput): string {
  const disks = input.machines.flatMap((m) => [...m.disks.values()]);
  const ns = input.ovf20 ? NS.ovf2 : NS.ovf1;
  const attrs: Record<string, string> = {
    'ovf:version': input.ovf20 ? '2.0' : '1.0',
    'xml:lang': 'en-US',
    xmlns: ns,
    'xmlns:ovf': ns,
    'xmlns:rasd': NS.rasd,
    'xmlns:vssd': NS.vssd,
    'xmlns:xsi': NS.xsi,
    'xmlns:vmw': NS.vmw,
    'xmlns:hangar': NS.hangar,
  };
  if (input.ovf20) {
    attrs['xmlns:sasd'] = NS.sasd;
    attrs['xmlns:epasd'] = NS.epasd;
  }
  const single = input.machines.length === 1;
  const content = single
    ? virtualSystem(input.machines[0]!, input, true)
    : x('ovf:VirtualSystemCollection', { 'ovf:id': 'hangar-appliance' },
      x('ovf:Info', undefined, 'A collection of virtual machines'),
      ...productSections(input.product),
      ...input.machines.map((m) => virtualSystem(m, input, false)));
  const root = x('ovf:Envelope', attrs,
    x('ovf:References', undefined, ...disks.map((d) => x('ovf:File', { 'ovf:href': d.href, 'ovf:id': d.fileId, 'ovf:size': d.size }))),
    x('ovf:DiskSection', undefined,
      x('ovf:Info', undefined, 'List of the virtual disks used in the package'),
      ...disks.map((d) => x('ovf:Disk', {
        'ovf:capacity': d.capacity, 'ovf:capacityAllocationUnits': 'byte', 'ovf:diskId': d.diskId, 'ovf:fileRef': d.fileId,
        'ovf:format': VMDK_STREAM_FORMAT, 'ovf:populatedSize': d.populatedSize,
      }))),
    x('ovf:NetworkSection', undefined,
      x('ovf:Info', undefined, 'Logical networks used in the package'),
      x('ovf:Network', { 'ovf:name': 'NAT' }, x('ovf:Description', undefined, 'Logical network used by this appliance.'))),
    content);
  return serializeXml(root);
}
