// OVF virtual hardware → Hangar MachineConfig. A Hangar export carries its own configuration
// (restored as is); anything else is mapped item by item, and every choice that is not exact is
// written to the mapping report with its reason.
import { randomUUID } from 'node:crypto';
import { HangarError } from '../api/errors.ts';
import {
  CONFIG_SCHEMA_VERSION, CONTROLLER_PORTS, DISK_FORMATS, type ControllerType, type DiskFormat, type MachineConfig, type NicModel,
  type SerialPortName, type StorageController,
} from '../library/config.ts';
import { randomMac } from '../library/defaults.ts';
import { migrateConfig } from '../library/migrate.ts';
import { presetById } from '../library/presets.ts';
import { LIMITS, assertValid, isValidMac, nameIssue } from '../library/validate.ts';
import { osTypeFromOvf } from './cim-os.ts';
import { RT, type OvfDisk, type OvfEnvelope, type OvfFileRef, type OvfVirtualSystem, type RasdItem } from './ovf-model.ts';
import { parseHostResource } from './ovf-parse.ts';
import { MappingReport } from './report.ts';
import { byteMultiplier } from './units.ts';

export const HANGAR_DISK_PREFIX = 'ovf:/disk/';

export interface ImportOptions {
  name?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Format of the imported disks; left out: qcow2, or for a Hangar export each disk's own format. */
  diskFormat?: DiskFormat;
  /** Give the VM a new UUID and new MAC addresses (a Hangar export otherwise keeps them). */
  newUuid?: boolean;
}

export interface PlannedDisk {
  disk: OvfDisk;
  /** The package file holding it; undefined = a new blank disk of the disk's capacity. */
  file?: OvfFileRef;
  /** File name inside the new VM folder. */
  target: string;
  format: DiskFormat;
}

/** A file of the package (an ISO) copied into the VM folder and attached to an optical drive. */
export interface PlannedMedium {
  file: OvfFileRef;
  target: string;
}

export interface ImportPlan {
  config: MachineConfig;
  disks: PlannedDisk[];
  media: PlannedMedium[];
  report: MappingReport;
}

const RT_NAMES: Record<number, string> = {
  1: 'other device', 2: 'computer system', 3: 'CPU', 4: 'memory', 5: 'IDE controller', 6: 'SCSI controller',
  7: 'Fibre Channel HBA', 8: 'iSCSI HBA', 9: 'InfiniBand HCA', 10: 'Ethernet adapter', 11: 'other network adapter',
  12: 'I/O slot', 13: 'I/O device', 14: 'floppy drive', 15: 'CD drive', 16: 'DVD drive', 17: 'disk drive', 18: 'tape drive',
  19: 'storage extent', 20: 'storage controller', 21: 'serial port', 22: 'parallel port', 23: 'USB controller',
  24: 'graphics controller', 25: 'IEEE 1394 controller', 26: 'partitionable unit', 27: 'base partitionable unit',
  28: 'power', 29: 'cooling capacity', 30: 'Ethernet switch port', 31: 'logical disk', 32: 'storage volume',
  33: 'Ethernet connection', 35: 'sound card',
};

function label(it: RasdItem): string {
  const n = it.fields.ElementName || it.fields.Caption || RT_NAMES[it.resourceType] || `ResourceType ${it.resourceType}`;
  return `item ${it.instanceId} (${n})`;
}

/** Turn any string into a valid VM name, reporting when it had to change. */
function vmName(wanted: string, report: MappingReport, fromUser: boolean): string {
  if (!nameIssue(wanted)) return wanted;
  if (fromUser) throw new HangarError('usage', `--name: ${JSON.stringify(wanted)} is not a valid VM name (${nameIssue(wanted)!.allowed})`);
  // eslint-disable-next-line no-control-regex
  let n = wanted.replace(/[/\\:*?"<>|\x00-\x1f\x7f]/g, '_').replace(/^[. ]+/, '').replace(/[ .]+$/, '').slice(0, LIMITS.nameLength);
  if (!n || nameIssue(n)) n = 'Imported VM';
  report.adjusted('name', n, `${JSON.stringify(wanted)} is not a valid VM name`);
  return n;
}

function activeConfiguration(env: OvfEnvelope): string | undefined {
  return (env.deploymentOptions.find((o) => o.isDefault) ?? env.deploymentOptions[0])?.id;
}

function nicModel(sub: string | undefined): { model: NicModel; note?: string } {
  const s = (sub ?? '').toLowerCase();
  if (s === '' ) return { model: 'e1000', note: 'no adapter type given; using e1000' };
  if (s.startsWith('e1000')) return { model: 'e1000', note: s === 'e1000' ? undefined : `${sub} is not emulated; using e1000` };
  if (s.includes('virtio')) return { model: 'virtio-net' };
  if (s.includes('8139')) return { model: 'rtl8139' };
  return { model: 'e1000', note: `${sub} is not emulated; using e1000` };
}

function macOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const hex = v.replace(/[:-]/g, '').toUpperCase();
  if (!/^[0-9A-F]{12}$/.test(hex)) return undefined;
  const mac = hex.match(/../g)!.join(':');
  return isValidMac(mac) ? mac : undefined;
}

class HardwareMapper {
  readonly report = new MappingReport();
  readonly storage: StorageController[] = [];
  /** OVF controller InstanceID → Hangar controller and port offset (IDE channel 1 starts at port 2). */
  readonly controllers = new Map<string, { ctl: StorageController; base: number; span: number }>();
  readonly disks: PlannedDisk[] = [];
  readonly media: PlannedMedium[] = [];

  constructor(private readonly env: OvfEnvelope, private readonly vs: OvfVirtualSystem, private readonly opts: ImportOptions, private readonly name: string) {}

  private controller(type: ControllerType): StorageController {
    let ctl = this.storage.find((c) => c.type === type);
    if (ctl && type !== 'ide') {
      // SATA/SCSI: each OVF controller becomes its own Hangar controller.
      const n = this.storage.filter((c) => c.type === type).length + 1;
      ctl = undefined;
      const name = `${type.toUpperCase()}${n}`;
      ctl = { name, type, attachments: [] };
      this.storage.push(ctl);
      return ctl;
    }
    if (!ctl) {
      ctl = { name: type.toUpperCase(), type, attachments: [] };
      this.storage.push(ctl);
    }
    return ctl;
  }

  addController(it: RasdItem): void {
    const sub = it.fields.ResourceSubType ?? '';
    if (this.storage.length >= LIMITS.controllers && it.resourceType !== RT.ide) {
      this.report.dropped(label(it), sub || RT_NAMES[it.resourceType]!, `at most ${LIMITS.controllers} controllers`);
      return;
    }
    if (it.resourceType === RT.ide) {
      const channel = Number(it.fields.Address ?? this.storage.filter((c) => c.type === 'ide').length);
      const existing = [...this.controllers.values()].filter((c) => c.ctl.type === 'ide').map((c) => c.base / 2);
      if (!(channel === 0 || channel === 1) || existing.includes(channel)) {
        this.report.dropped(label(it), `IDE channel ${it.fields.Address ?? '?'}`, 'Hangar\'s IDE controller has two channels (primary and secondary)');
        return;
      }
      const ctl = this.storage.find((c) => c.type === 'ide') ?? this.controller('ide');
      this.controllers.set(it.instanceId, { ctl, base: channel * 2, span: 2 });
      if (existing.length) this.report.adjusted(label(it), `IDE channel ${channel} → ports ${channel * 2}-${channel * 2 + 1} of controller ${ctl.name}`, 'OVF lists each IDE channel as a controller; Hangar has one IDE controller with four ports');
      else this.report.mapped(label(it), `IDE channel ${channel} → ports ${channel * 2}-${channel * 2 + 1} of controller ${ctl.name}`);
      return;
    }
    let type: ControllerType;
    let note: string | undefined;
    if (it.resourceType === RT.scsi) {
      const subs = sub.split(/\s+/).filter(Boolean);
      type = subs.length === 1 && /^virtio(scsi)?$/i.test(subs[0]!) ? 'virtio' : 'scsi';
      if (type === 'scsi' && subs.length && !subs.some((s) => /^(lsilogic|lsilogicsas|buslogic|virtualscsi|pvscsi)$/i.test(s))) note = `SCSI model ${sub} is not emulated; using Hangar's SCSI controller`;
    } else {
      type = 'sata';
      if (sub && !/^ahci$/i.test(sub)) note = `storage controller ${sub} is not emulated; using SATA (AHCI)`;
    }
    const ctl = this.controller(type);
    this.controllers.set(it.instanceId, { ctl, base: 0, span: CONTROLLER_PORTS[type] });
    if (note) this.report.adjusted(label(it), `${ctl.name} (${type})`, note);
    else this.report.mapped(label(it), `${ctl.name} (${type}${sub ? `, ${sub}` : ''})`);
  }

  /** Port on a controller for an item; moves to a free port (and reports it) when needed. */
  private place(it: RasdItem): { ctl: StorageController; port: number } | undefined {
    let target = it.fields.Parent ? this.controllers.get(it.fields.Parent) : undefined;
    if (it.fields.Parent && !target) {
      this.report.dropped(label(it), 'drive', `its controller (item ${it.fields.Parent}) was not imported`);
      return undefined;
    }
    if (!target) {
      const ctl = this.storage.find((c) => c.type !== 'ide') ?? this.storage[0] ?? this.controller('sata');
      target = { ctl, base: 0, span: CONTROLLER_PORTS[ctl.type] };
      this.report.adjusted(label(it), `attached to ${ctl.name}`, 'the drive names no controller');
    }
    const { ctl, base, span } = target;
    const used = new Set(ctl.attachments.map((a) => a.port));
    const wanted = base + Number(it.fields.AddressOnParent ?? 0);
    if (Number.isInteger(wanted) && wanted >= base && wanted < base + span && !used.has(wanted)) return { ctl, port: wanted };
    for (let p = base; p < base + span; p++) {
      if (!used.has(p)) {
        this.report.adjusted(label(it), `${ctl.name} port ${p}`, `address ${it.fields.AddressOnParent ?? '(none)'} is taken or out of range`);
        return { ctl, port: p };
      }
    }
    this.report.dropped(label(it), 'drive', `no free port on ${ctl.name}`);
    return undefined;
  }

  addDisk(it: RasdItem): void {
    const ref = it.hostResources.map(parseHostResource).find((r) => r?.kind === 'disk');
    if (!ref) {
      this.report.dropped(label(it), 'disk drive', 'it names no disk image');
      return;
    }
    const disk = this.env.disks.find((d) => d.diskId === ref.id)!;
    if (this.disks.some((d) => d.disk.diskId === disk.diskId)) {
      this.report.dropped(label(it), `disk ${disk.diskId}`, 'the same disk is attached twice');
      return;
    }
    const at = this.place(it);
    if (!at) return;
    const file = disk.fileRef ? this.env.files.find((f) => f.id === disk.fileRef) : undefined;
    const format = this.opts.diskFormat ?? 'qcow2';
    const target = `${this.name}-disk${this.disks.length + 1}.${format}`;
    this.disks.push({ disk, file, target, format });
    at.ctl.attachments.push({ port: at.port, type: 'disk', path: target, format });
    const what = `${target} (${disk.capacity} bytes${file ? `, from ${file.href}` : ', new blank disk'}) on ${at.ctl.name} port ${at.port}`;
    if (disk.format && !/vmdk/i.test(disk.format)) this.report.adjusted(`disk ${disk.diskId}`, what, `declared format ${disk.format}; the image is opened by its content`);
    else this.report.mapped(`disk ${disk.diskId}`, what);
  }

  addOptical(it: RasdItem): void {
    const at = this.place(it);
    if (!at) return;
    const fileRef = it.hostResources.map(parseHostResource).find((r) => r?.kind === 'file');
    if (!fileRef) {
      at.ctl.attachments.push({ port: at.port, type: 'optical', path: '' });
      this.report.mapped(label(it), `empty optical drive on ${at.ctl.name} port ${at.port}`);
      return;
    }
    const file = this.env.files.find((x) => x.id === fileRef.id)!;
    let m = this.media.find((x) => x.file.id === file.id);
    if (!m) {
      // Our own file name: the package's name only contributes safe characters.
      const base = (file.href.split('/').pop() ?? 'image').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '');
      m = { file, target: `${this.name}-${base || 'image.iso'}` };
      this.media.push(m);
    }
    at.ctl.attachments.push({ port: at.port, type: 'optical', path: m.target });
    this.report.mapped(label(it), `optical drive with ${file.href} (copied to ${m.target}) on ${at.ctl.name} port ${at.port}`);
  }
}

function mapForeign(env: OvfEnvelope, vs: OvfVirtualSystem, opts: ImportOptions): ImportPlan {
  const pre = new MappingReport();
  const name = vmName(opts.name ?? vs.name ?? vs.id, pre, opts.name !== undefined);
  const m = new HardwareMapper(env, vs, opts, name);
  m.report.entries.push(...pre.entries);
  const r = m.report;
  const os = osTypeFromOvf(vs.os);
  if (os.note) r.adjusted('operating system', os.osType, os.note);
  else r.mapped('operating system', `${os.osType}${vs.os ? ` (CIM id ${vs.os.id})` : ''}`);
  const preset = presetById(os.osType)!;
  const conf = activeConfiguration(env);
  const items = vs.items.filter((it) => {
    if (!it.configurations || (conf && it.configurations.includes(conf))) return true;
    r.dropped(label(it), RT_NAMES[it.resourceType] ?? `ResourceType ${it.resourceType}`, `belongs to deployment option ${it.configurations.join(', ')}; ${conf ?? 'none'} is used`);
    return false;
  });
  if (conf) r.mapped('deployment option', conf);
  let cpus = 1;
  let memoryMiB = preset.memoryMiB;
  let sawCpu = false;
  let sawMem = false;
  let vramMiB = preset.vramMiB;
  const network: MachineConfig['network'] = [];
  const serial: MachineConfig['serial'] = [];
  // Controllers first, so drives listed before their controller still find it.
  for (const it of items) if ([RT.ide, RT.scsi, RT.otherStorage].includes(it.resourceType as 5)) m.addController(it);
  for (const it of items) {
    switch (it.resourceType) {
      case RT.cpu: {
        const n = Number(it.fields.VirtualQuantity ?? '1');
        sawCpu = true;
        cpus = Math.min(Math.max(Number.isInteger(n) ? n : 1, LIMITS.cpus.min), LIMITS.cpus.max);
        if (cpus !== n) r.adjusted('CPUs', String(cpus), `the appliance asks for ${it.fields.VirtualQuantity}; Hangar allows ${LIMITS.cpus.min}-${LIMITS.cpus.max}`);
        else r.mapped('CPUs', String(cpus));
        break;
      }
      case RT.memory: {
        sawMem = true;
        const unit = it.fields.AllocationUnits ?? 'byte * 2^20';
        const mult = byteMultiplier(unit);
        const q = Number(it.fields.VirtualQuantity ?? 'NaN');
        if (mult === undefined || !Number.isFinite(q)) {
          r.adjusted('memory', `${memoryMiB} MiB`, `the appliance's memory "${it.fields.VirtualQuantity} ${unit}" cannot be read; using the ${preset.id} default`);
          break;
        }
        const exact = (q * mult) / 2 ** 20;
        const mib = Math.min(Math.max(Math.ceil(exact), LIMITS.memoryMiB.min), LIMITS.memoryMiB.max);
        memoryMiB = mib;
        if (mib !== exact) r.adjusted('memory', `${mib} MiB`, `the appliance asks for ${q} ${unit}; Hangar allows whole MiB from ${LIMITS.memoryMiB.min} to ${LIMITS.memoryMiB.max}`);
        else r.mapped('memory', `${mib} MiB`);
        break;
      }
      case RT.ide: case RT.scsi: case RT.otherStorage:
        break; // done above
      case RT.disk:
        m.addDisk(it);
        break;
      case RT.cdrom: case RT.dvd:
        m.addOptical(it);
        break;
      case RT.ethernet: {
        if (network.length >= LIMITS.nics) {
          r.dropped(label(it), 'network adapter', `at most ${LIMITS.nics} adapters`);
          break;
        }
        const { model, note } = nicModel(it.fields.ResourceSubType);
        const net = it.connections[0] ?? '';
        const mac = macOf(it.fields.Address);
        const slot = network.length + 1;
        network.push({ slot, enabled: it.fields.AutomaticAllocation !== 'false', attachment: 'nat', model, mac: mac ?? randomMac(), portForwards: [] });
        const reasons = [note, net && !/^nat$/i.test(net) ? `network "${net}" is connected through NAT, Hangar's only attachment` : undefined].filter(Boolean);
        const what = `adapter ${slot}, ${model}, NAT${mac ? `, MAC ${mac}` : ''}`;
        if (reasons.length) r.adjusted(label(it), what, reasons.join('; '));
        else r.mapped(label(it), what);
        break;
      }
      case RT.serial: {
        if (serial.length >= 4) {
          r.dropped(label(it), 'serial port', 'at most four serial ports');
          break;
        }
        const port = `COM${serial.length + 1}` as SerialPortName;
        serial.push({ port, mode: 'none' });
        r.adjusted(label(it), `${port}, disconnected`, 'host-side serial connections are not part of an appliance');
        break;
      }
      case RT.graphics: {
        const kb = Number(it.vmwConfig.videoRamSizeInKB ?? NaN);
        const q = Number(it.fields.VirtualQuantity ?? NaN);
        const mib = Number.isFinite(q) && q > 0 ? q : Number.isFinite(kb) ? Math.ceil(kb / 1024) : vramMiB;
        vramMiB = Math.min(Math.max(mib, LIMITS.vramMiB.min), LIMITS.vramMiB.max);
        r.mapped(label(it), `VGA, ${vramMiB} MiB video memory`);
        break;
      }
      case RT.floppy:
        r.dropped(label(it), 'floppy drive', 'Hangar has no floppy controller');
        break;
      case RT.usb:
        r.dropped(label(it), 'USB controller', 'Hangar has no USB controller');
        break;
      case RT.sound:
        r.dropped(label(it), `sound card${it.fields.ResourceSubType ? ` ${it.fields.ResourceSubType}` : ''}`, 'Hangar has no sound device');
        break;
      default:
        r.dropped(label(it), RT_NAMES[it.resourceType] ?? `ResourceType ${it.resourceType}`, `ResourceType ${it.resourceType} is not supported${it.required ? ' (the appliance marks it required)' : ''}`);
    }
  }
  if (!sawCpu) r.adjusted('CPUs', '1', 'the appliance does not say');
  if (!sawMem) r.adjusted('memory', `${memoryMiB} MiB`, `the appliance does not say; using the ${preset.id} default`);
  const fw = (vs.vmwConfig.firmware ?? '').toLowerCase();
  const firmware = fw === 'efi' ? 'uefi' : 'bios';
  if (fw) r.mapped('firmware', firmware);
  const config: MachineConfig = {
    schemaVersion: CONFIG_SCHEMA_VERSION,
    uuid: randomUUID(),
    name,
    osType: os.osType,
    description: (vs.annotation ?? vs.products[0]?.fullVersion ?? '').slice(0, LIMITS.descriptionLength),
    group: '/',
    cpus, memoryMiB,
    firmware: { type: firmware },
    bootOrder: ['disk', 'optical'],
    storage: m.storage,
    network,
    serial,
    display: { controller: 'vga', vramMiB },
  };
  for (const p of vs.products) if (p.properties.length) r.dropped('product properties', p.properties.map((x) => x.key).join(', '), 'OVF environment properties are not passed to the guest');
  if (vs.eulas.length) r.mapped('license agreement', `${vs.eulas.length} EULA section(s) shown at import`);
  if (vs.hasVboxMachine) r.dropped('vbox:Machine', 'VirtualBox\'s own configuration', 'read for the standard OVF sections only');
  userOverrides(config, opts, r);
  return { config, disks: m.disks, media: m.media, report: r };
}

function userOverrides(config: MachineConfig, opts: ImportOptions, r: MappingReport): void {
  if (opts.memoryMiB !== undefined && opts.memoryMiB !== config.memoryMiB) {
    r.adjusted('memory', `${opts.memoryMiB} MiB`, `--memory (the appliance says ${config.memoryMiB} MiB)`);
    config.memoryMiB = opts.memoryMiB;
  }
  if (opts.cpus !== undefined && opts.cpus !== config.cpus) {
    r.adjusted('CPUs', String(opts.cpus), `--cpus (the appliance says ${config.cpus})`);
    config.cpus = opts.cpus;
  }
}

/** A Hangar export: restore the embedded configuration, relinking its disks to the package. */
function mapHangar(env: OvfEnvelope, vs: OvfVirtualSystem, opts: ImportOptions): ImportPlan {
  const r = new MappingReport();
  let config: MachineConfig;
  try {
    // Older Hangar exports are lifted to the current schema like old .hangar files.
    config = migrateConfig(JSON.parse(vs.hangarConfig!)) as unknown as MachineConfig;
  } catch (err) {
    const why = err instanceof SyntaxError ? `is not valid JSON (${err.message})` : (err as Error).message;
    throw new HangarError(err instanceof HangarError ? err.code : 'corrupt', `VirtualSystem "${vs.id}": the embedded Hangar configuration ${why}`);
  }
  const disks: PlannedDisk[] = [];
  const name = opts.name !== undefined ? vmName(opts.name, r, true) : config.name;
  for (const ctl of config.storage ?? []) {
    for (const a of ctl.attachments ?? []) {
      if (a.type !== 'disk') continue;
      if (typeof a.path !== 'string' || !a.path.startsWith(HANGAR_DISK_PREFIX)) {
        throw new HangarError('corrupt', `VirtualSystem "${vs.id}": embedded disk ${JSON.stringify(a.path)} on ${ctl.name} port ${a.port} does not refer to a disk of the package`);
      }
      const id = a.path.slice(HANGAR_DISK_PREFIX.length);
      const disk = env.disks.find((d) => d.diskId === id);
      if (!disk) throw new HangarError('corrupt', `VirtualSystem "${vs.id}": embedded configuration attaches disk "${id}", which is not in the DiskSection`);
      const file = disk.fileRef ? env.files.find((f) => f.id === disk.fileRef) : undefined;
      // Hangar to Hangar keeps each disk's format unless the user picks one.
      const format = opts.diskFormat ?? (a.format && DISK_FORMATS.includes(a.format) ? a.format : 'qcow2');
      const target = `${name}-disk${disks.length + 1}.${format}`;
      disks.push({ disk, file, target, format });
      a.path = target;
      a.format = format;
      r.mapped(`disk ${id}`, `${target} (${disk.capacity} bytes) on ${ctl.name} port ${a.port}`);
    }
  }
  config.name = name;
  if (opts.newUuid) {
    config.uuid = randomUUID();
    for (const nic of config.network ?? []) nic.mac = randomMac();
    r.adjusted('UUID', config.uuid, '--new-uuid (MAC addresses regenerated too)');
  }
  assertValid(config, `VirtualSystem "${vs.id}": embedded Hangar configuration`);
  r.mapped('configuration', `restored from the Hangar section: ${config.osType}, ${config.cpus} CPU(s), ${config.memoryMiB} MiB, ${config.storage.length} controller(s), ${config.network.length} adapter(s)`);
  userOverrides(config, opts, r);
  assertValid(config);
  return { config, disks, media: [], report: r };
}

export function planImport(env: OvfEnvelope, vs: OvfVirtualSystem, opts: ImportOptions): ImportPlan {
  const plan = vs.hangarConfig !== undefined ? mapHangar(env, vs, opts) : mapForeign(env, vs, opts);
  assertValid(plan.config, `mapped configuration of VirtualSystem "${vs.id}"`);
  return plan;
}
