// Turns `hangar modify` options into MachineEdits. Each option's syntax is documented in the
// README and in `hangar modify --help`.
import { Command } from 'commander';
import { usageError } from '../api/errors.ts';
import {
  BOOT_DEVICES, CONTROLLER_TYPES, DISK_FORMATS, DISPLAY_CONTROLLERS, FIRMWARE_TYPES, MEDIUM_TYPES, NIC_MODELS,
  SERIAL_PORTS, VM_PRIORITIES, type VmPriority, type BootDevice, type ControllerType, type DiskFormat, type DisplayController, type FirmwareType,
  type MediumType, type NicModel, type SerialPortName,
} from '../library/config.ts';
import type { MachineEdit } from '../library/edits.ts';
import { collect, parseIntOption, parseKeyValues, parseOnOff } from './parse.ts';

function pick<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw usageError(`${option}: "${value}" is not valid; allowed: one of ${allowed.join(', ')}`);
  return value as T;
}

/** The options `modify` accepts (and `create` for the subset that makes sense there). */
export function addModifyOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'rename the VM')
    .option('--ostype <id>', 'OS type (see hangar ostypes)')
    .option('--description <text>', 'free-text description')
    .option('--group <path>', 'group path, e.g. /Servers/Web')
    .option('--cpus <n>', 'number of virtual CPUs')
    .option('--memory <mib>', 'guest RAM in MiB')
    .option('--firmware <type>', `firmware: ${FIRMWARE_TYPES.join(', ')}`)
    .option('--kernel <path>', 'Linux direct boot: kernel (bzImage); "" removes')
    .option('--initrd <path>', 'Linux direct boot: initrd; "" removes')
    .option('--cmdline <text>', 'Linux direct boot: kernel command line')
    .option('--boot-order <list>', `comma-separated boot devices from ${BOOT_DEVICES.join(', ')}`)
    .option('--graphics <controller>', `display controller: ${DISPLAY_CONTROLLERS.join(', ')}`)
    .option('--vram <mib>', 'video memory in MiB')
    .option('--add-controller <name:type>', `add a storage controller (${CONTROLLER_TYPES.join(', ')})`, collect)
    .option('--remove-controller <name>', 'remove a storage controller and its media', collect)
    .option('--attach <spec>', 'attach media: controller=NAME,port=N,type=disk|optical,path=FILE[,format=FMT][,readonly]', collect)
    .option('--detach <controller:port>', 'detach the medium at a controller port', collect)
    .option('--nic <spec>', `add or change an adapter: slot=N[,model=${NIC_MODELS.join('|')}][,mac=XX:..|auto][,enabled=on|off]`, collect)
    .option('--remove-nic <slot>', 'remove a network adapter', collect)
    .option('--natpf <slot:rule>', 'add a NAT port forward: SLOT:NAME,tcp|udp,[127.0.0.1],HOSTPORT,[GUESTIP],GUESTPORT', collect)
    .option('--natpf-delete <slot:name>', 'remove a NAT port forward', collect)
    .option('--serial <spec>', 'serial port: COMn:none | COMn:file:PATH | COMn:tcp:PORT | COMn:pty', collect)
    .option('--remove-serial <port>', 'remove a serial port (COM1-COM4)', collect)
    .option('--priority <level>', 'host scheduling priority of the VM process: low, normal or high')
    .option('--cpu-cap <percent>', 'execution cap, percent of one host core (1-100; 100 = no cap)')
    .option('--affinity <cores>', 'host cores the VM may run on, e.g. 0,1 or 2-3; "" removes');
}

export interface ModifyOptions {
  name?: string;
  ostype?: string;
  description?: string;
  group?: string;
  cpus?: string;
  memory?: string;
  firmware?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  bootOrder?: string;
  graphics?: string;
  vram?: string;
  addController?: string[];
  removeController?: string[];
  attach?: string[];
  detach?: string[];
  nic?: string[];
  removeNic?: string[];
  natpf?: string[];
  natpfDelete?: string[];
  serial?: string[];
  removeSerial?: string[];
  priority?: string;
  cpuCap?: string;
  affinity?: string;
}

/** "0,2-3" -> [0, 2, 3]. */
export function parseCoreList(option: string, spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw usageError(`${option}: "${spec}" is not valid; allowed: host core numbers and ranges like 0,1 or 2-3`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 1023) throw usageError(`${option}: "${part.trim()}" is not valid; allowed: a core number or a rising range within 0-1023`);
    for (let c = a; c <= b; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
}

function slotOf(option: string, s: string): number {
  return parseIntOption(option, s, 1, 8);
}

export function editsFromOptions(o: ModifyOptions): MachineEdit[] {
  const edits: MachineEdit[] = [];
  if (o.name !== undefined) edits.push({ kind: 'set', field: 'name', value: o.name });
  if (o.ostype !== undefined) edits.push({ kind: 'set', field: 'osType', value: o.ostype });
  if (o.description !== undefined) edits.push({ kind: 'set', field: 'description', value: o.description });
  if (o.group !== undefined) edits.push({ kind: 'set', field: 'group', value: o.group });
  if (o.cpus !== undefined) edits.push({ kind: 'set', field: 'cpus', value: parseIntOption('--cpus', o.cpus, 1, 64) });
  if (o.memory !== undefined) edits.push({ kind: 'set', field: 'memoryMiB', value: parseIntOption('--memory', o.memory, 4, 65536) });
  if (o.firmware !== undefined || o.kernel !== undefined || o.initrd !== undefined || o.cmdline !== undefined) {
    const fw: MachineEdit & { kind: 'firmware' } = { kind: 'firmware' };
    if (o.firmware !== undefined) fw.type = pick<FirmwareType>('--firmware', o.firmware, FIRMWARE_TYPES);
    if (o.kernel !== undefined) fw.kernel = o.kernel === '' ? null : o.kernel;
    if (o.initrd !== undefined) fw.initrd = o.initrd === '' ? null : o.initrd;
    if (o.cmdline !== undefined) fw.cmdline = o.cmdline;
    edits.push(fw);
  }
  if (o.bootOrder !== undefined) {
    const order = o.bootOrder === '' ? [] : o.bootOrder.split(',').map((b) => pick<BootDevice>('--boot-order', b.trim(), BOOT_DEVICES));
    edits.push({ kind: 'bootOrder', order });
  }
  if (o.graphics !== undefined || o.vram !== undefined) {
    const d: MachineEdit & { kind: 'display' } = { kind: 'display' };
    if (o.graphics !== undefined) d.controller = pick<DisplayController>('--graphics', o.graphics, DISPLAY_CONTROLLERS);
    if (o.vram !== undefined) d.vramMiB = parseIntOption('--vram', o.vram, 1, 256);
    edits.push(d);
  }
  for (const name of o.removeController ?? []) edits.push({ kind: 'removeController', name });
  for (const spec of o.addController ?? []) {
    const i = spec.lastIndexOf(':');
    if (i <= 0) throw usageError(`--add-controller: "${spec}" is not valid; allowed: NAME:TYPE with TYPE one of ${CONTROLLER_TYPES.join(', ')}`);
    edits.push({ kind: 'addController', name: spec.slice(0, i), type: pick<ControllerType>('--add-controller', spec.slice(i + 1), CONTROLLER_TYPES) });
  }
  for (const spec of o.detach ?? []) {
    const i = spec.lastIndexOf(':');
    if (i <= 0) throw usageError(`--detach: "${spec}" is not valid; allowed: CONTROLLER:PORT`);
    edits.push({ kind: 'detach', controller: spec.slice(0, i), port: parseIntOption('--detach', spec.slice(i + 1), 0, 29) });
  }
  for (const spec of o.attach ?? []) {
    const kv = parseKeyValues('--attach', spec, ['controller', 'port', 'type', 'path', 'format', 'readonly']);
    for (const req of ['controller', 'port', 'type', 'path']) {
      if (!kv.has(req)) throw usageError(`--attach: "${spec}" lacks ${req}=; allowed: controller=NAME,port=N,type=disk|optical,path=FILE[,format=FMT][,readonly]`);
    }
    const type = pick<MediumType>('--attach type', kv.get('type')!, MEDIUM_TYPES);
    const e: MachineEdit & { kind: 'attach' } = {
      kind: 'attach', controller: kv.get('controller')!, port: parseIntOption('--attach port', kv.get('port')!, 0, 29), type, path: kv.get('path')!,
    };
    if (kv.has('format')) e.format = pick<DiskFormat>('--attach format', kv.get('format')!, DISK_FORMATS);
    if (kv.has('readonly')) e.readOnly = parseOnOff('--attach readonly', kv.get('readonly')!);
    edits.push(e);
  }
  for (const s of o.removeNic ?? []) edits.push({ kind: 'removeNic', slot: slotOf('--remove-nic', s) });
  for (const spec of o.nic ?? []) {
    const kv = parseKeyValues('--nic', spec, ['slot', 'model', 'mac', 'enabled']);
    if (!kv.has('slot')) throw usageError(`--nic: "${spec}" lacks slot=N (1-8)`);
    const e: MachineEdit & { kind: 'nic' } = { kind: 'nic', slot: slotOf('--nic slot', kv.get('slot')!) };
    if (kv.has('model')) e.model = pick<NicModel>('--nic model', kv.get('model')!, NIC_MODELS);
    if (kv.has('mac')) e.mac = kv.get('mac')!;
    if (kv.has('enabled')) e.enabled = parseOnOff('--nic enabled', kv.get('enabled')!);
    edits.push(e);
  }
  for (const spec of o.natpfDelete ?? []) {
    const i = spec.indexOf(':');
    if (i <= 0) throw usageError(`--natpf-delete: "${spec}" is not valid; allowed: SLOT:RULENAME`);
    edits.push({ kind: 'removePortForward', slot: slotOf('--natpf-delete', spec.slice(0, i)), name: spec.slice(i + 1) });
  }
  for (const spec of o.natpf ?? []) edits.push(parseNatpf(spec));
  for (const p of o.removeSerial ?? []) edits.push({ kind: 'removeSerial', port: pick<SerialPortName>('--remove-serial', p.toUpperCase(), SERIAL_PORTS) });
  for (const spec of o.serial ?? []) edits.push(parseSerial(spec));
  if (o.priority !== undefined || o.cpuCap !== undefined || o.affinity !== undefined) {
    const r: MachineEdit & { kind: 'resources' } = { kind: 'resources' };
    if (o.priority !== undefined) r.priority = pick<VmPriority>('--priority', o.priority, VM_PRIORITIES);
    if (o.cpuCap !== undefined) r.cpuCap = parseIntOption('--cpu-cap', o.cpuCap, 1, 100);
    if (o.affinity !== undefined) r.affinity = o.affinity.trim() === '' ? null : parseCoreList('--affinity', o.affinity);
    edits.push(r);
  }
  return edits;
}

function parseNatpf(spec: string): MachineEdit {
  const allowed = 'SLOT:NAME,tcp|udp,[127.0.0.1],HOSTPORT,[GUESTIP],GUESTPORT (e.g. 1:ssh,tcp,,2222,,22)';
  const i = spec.indexOf(':');
  const parts = i > 0 ? spec.slice(i + 1).split(',') : [];
  if (i <= 0 || parts.length !== 6) throw usageError(`--natpf: "${spec}" is not valid; allowed: ${allowed}`);
  const [name, proto, hostIp, hostPort, guestIp, guestPort] = parts as [string, string, string, string, string, string];
  const rule = {
    name,
    protocol: pick<'tcp' | 'udp'>('--natpf protocol', proto.toLowerCase(), ['tcp', 'udp']),
    hostIp: hostIp === '' ? '127.0.0.1' : hostIp,
    hostPort: parseIntOption('--natpf host port', hostPort, 1, 65535),
    guestPort: parseIntOption('--natpf guest port', guestPort, 1, 65535),
    ...(guestIp === '' ? {} : { guestIp }),
  };
  return { kind: 'addPortForward', slot: slotOf('--natpf slot', spec.slice(0, i)), rule };
}

function parseSerial(spec: string): MachineEdit {
  const allowed = 'COMn:none, COMn:file:PATH, COMn:tcp:PORT or COMn:pty';
  const [portRaw, mode, ...rest] = spec.split(':');
  const port = pick<SerialPortName>('--serial port', (portRaw ?? '').toUpperCase(), SERIAL_PORTS);
  const arg = rest.join(':');
  switch (mode) {
    case 'none':
    case 'pty':
      return { kind: 'serial', port, mode };
    case 'file':
      if (!arg) throw usageError(`--serial: "${spec}" lacks the file path; allowed: ${allowed}`);
      return { kind: 'serial', port, mode, path: arg };
    case 'tcp':
      return { kind: 'serial', port, mode, tcpPort: parseIntOption('--serial tcp port', arg, 1024, 65535) };
    default:
      throw usageError(`--serial: "${spec}" is not valid; allowed: ${allowed}`);
  }
}
