// Validation of a machine configuration. Every problem names the field, the value found and
// what is allowed, so the CLI, the GUI's inline errors and file loading all say the same thing.
import { HangarError } from '../api/errors.ts';
import {
  BOOT_DEVICES, CONTROLLER_PORTS, CONTROLLER_TYPES, DISK_FORMATS, DISPLAY_CONTROLLERS, FIRMWARE_TYPES,
  MEDIUM_TYPES, NIC_MODELS, SERIAL_MODES, SERIAL_PORTS, VM_PRIORITIES, type MachineConfig,
} from './config.ts';
import { OS_PRESETS, presetById } from './presets.ts';

export interface ValidationIssue {
  field: string;
  value: unknown;
  allowed: string;
}

export const LIMITS = {
  cpus: { min: 1, max: 64 },
  memoryMiB: { min: 4, max: 65536 },
  vramMiB: { min: 1, max: 256 },
  nameLength: 64,
  descriptionLength: 4096,
  cmdlineLength: 2048,
  nics: 8,
  controllers: 8,
} as const;

export function describeIssue(i: ValidationIssue): string {
  return `${i.field}: ${JSON.stringify(i.value)} is not valid; allowed: ${i.allowed}`;
}

export class ValidationError extends HangarError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], context?: string) {
    super('invalid-config', (context ? `${context}: ` : '') + issues.map(describeIssue).join('\n'), { issues });
    this.issues = issues;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_RE = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/;

/** Problems with a VM name, which also names its folder and file. */
export function nameIssue(name: unknown, field = 'name'): ValidationIssue | undefined {
  const allowed = `1-${LIMITS.nameLength} characters, not starting with "." or a space, without / \\ : * ? " < > | or control characters`;
  if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.nameLength) return { field, value: name, allowed };
  // eslint-disable-next-line no-control-regex
  if (/[/\\:*?"<>|\x00-\x1f\x7f]/.test(name) || /^[. ]/.test(name) || /[ .]$/.test(name)) return { field, value: name, allowed };
  return undefined;
}

function intIn(issues: ValidationIssue[], field: string, v: unknown, min: number, max: number, unit = ''): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    issues.push({ field, value: v, allowed: `a whole number from ${min} to ${max}${unit}` });
  }
}

function oneOf(issues: ValidationIssue[], field: string, v: unknown, values: readonly string[]): void {
  if (typeof v !== 'string' || !values.includes(v)) issues.push({ field, value: v, allowed: `one of ${values.join(', ')}` });
}

function str(issues: ValidationIssue[], field: string, v: unknown, max: number, optional = false): void {
  if (optional && v === undefined) return;
  if (typeof v !== 'string' || v.length > max) issues.push({ field, value: v, allowed: `text of at most ${max} characters` });
}

export function isValidMac(mac: string): boolean {
  if (!MAC_RE.test(mac)) return false;
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0; // unicast only
}

export function validateConfig(c: MachineConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const cfg = c as unknown as Record<string, unknown>;
  if (typeof cfg !== 'object' || cfg === null) return [{ field: '(config)', value: c, allowed: 'a JSON object' }];
  if (typeof c.uuid !== 'string' || !UUID_RE.test(c.uuid)) issues.push({ field: 'uuid', value: c.uuid, allowed: 'a lower-case UUID like 123e4567-e89b-12d3-a456-426614174000' });
  const n = nameIssue(c.name);
  if (n) issues.push(n);
  if (typeof c.osType !== 'string' || !presetById(c.osType)) {
    issues.push({ field: 'osType', value: c.osType, allowed: `one of ${OS_PRESETS.map((p) => p.id).join(', ')} (see hangar ostypes)` });
  }
  str(issues, 'description', c.description, LIMITS.descriptionLength);
  if (typeof c.group !== 'string' || !/^\/([^/\x00-\x1f]+(\/[^/\x00-\x1f]+)*)?$/.test(c.group)) {
    issues.push({ field: 'group', value: c.group, allowed: 'a path starting with "/" such as "/" or "/Servers/Web", no empty parts' });
  }
  intIn(issues, 'cpus', c.cpus, LIMITS.cpus.min, LIMITS.cpus.max);
  intIn(issues, 'memoryMiB', c.memoryMiB, LIMITS.memoryMiB.min, LIMITS.memoryMiB.max, ' MiB');
  validateFirmware(issues, c);
  if (!Array.isArray(c.bootOrder) || c.bootOrder.length > BOOT_DEVICES.length) {
    issues.push({ field: 'bootOrder', value: c.bootOrder, allowed: `a list of up to 4 of ${BOOT_DEVICES.join(', ')}, each once` });
  } else {
    c.bootOrder.forEach((b, i) => oneOf(issues, `bootOrder[${i}]`, b, BOOT_DEVICES));
    if (new Set(c.bootOrder).size !== c.bootOrder.length) issues.push({ field: 'bootOrder', value: c.bootOrder, allowed: 'each boot device at most once' });
  }
  validateStorage(issues, c);
  validateNetwork(issues, c);
  validateSerial(issues, c);
  if (typeof c.display !== 'object' || c.display === null) {
    issues.push({ field: 'display', value: c.display, allowed: 'an object with controller and vramMiB' });
  } else {
    oneOf(issues, 'display.controller', c.display.controller, DISPLAY_CONTROLLERS);
    intIn(issues, 'display.vramMiB', c.display.vramMiB, LIMITS.vramMiB.min, LIMITS.vramMiB.max, ' MiB');
  }
  validateResources(issues, c);
  return issues;
}

function validateFirmware(issues: ValidationIssue[], c: MachineConfig): void {
  const f = c.firmware;
  if (typeof f !== 'object' || f === null) {
    issues.push({ field: 'firmware', value: f, allowed: 'an object with type bios, uefi or linux' });
    return;
  }
  oneOf(issues, 'firmware.type', f.type, FIRMWARE_TYPES);
  if (f.type === 'linux') {
    if (typeof f.kernel !== 'string' || f.kernel === '') issues.push({ field: 'firmware.kernel', value: f.kernel, allowed: 'the path of a Linux kernel (bzImage); required for linux direct boot' });
    str(issues, 'firmware.initrd', f.initrd, 4096, true);
    str(issues, 'firmware.cmdline', f.cmdline, LIMITS.cmdlineLength, true);
  } else {
    for (const k of ['kernel', 'initrd', 'cmdline'] as const) {
      if (f[k] !== undefined) issues.push({ field: `firmware.${k}`, value: f[k], allowed: 'only with firmware type linux' });
    }
  }
}

function validateStorage(issues: ValidationIssue[], c: MachineConfig): void {
  if (!Array.isArray(c.storage) || c.storage.length > LIMITS.controllers) {
    issues.push({ field: 'storage', value: c.storage, allowed: `a list of at most ${LIMITS.controllers} controllers` });
    return;
  }
  const names = new Set<string>();
  c.storage.forEach((ctl, i) => {
    const f = `storage[${i}]`;
    if (typeof ctl.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 _-]{0,31}$/.test(ctl.name)) {
      issues.push({ field: `${f}.name`, value: ctl.name, allowed: '1-32 letters, digits, space, _ or -, starting with a letter or digit' });
    } else if (names.has(ctl.name)) {
      issues.push({ field: `${f}.name`, value: ctl.name, allowed: 'a name no other controller of this VM has' });
    }
    names.add(ctl.name);
    oneOf(issues, `${f}.type`, ctl.type, CONTROLLER_TYPES);
    if (!Array.isArray(ctl.attachments)) {
      issues.push({ field: `${f}.attachments`, value: ctl.attachments, allowed: 'a list of attached media' });
      return;
    }
    const ports = new Set<number>();
    const maxPort = (CONTROLLER_PORTS[ctl.type] ?? 1) - 1;
    ctl.attachments.forEach((a, j) => {
      const af = `${f}.attachments[${j}]`;
      intIn(issues, `${af}.port`, a.port, 0, maxPort);
      if (ports.has(a.port)) issues.push({ field: `${af}.port`, value: a.port, allowed: `a port not used by another medium on ${ctl.name}` });
      ports.add(a.port);
      oneOf(issues, `${af}.type`, a.type, MEDIUM_TYPES);
      if (typeof a.path !== 'string' || (a.type === 'disk' && a.path === '')) {
        issues.push({ field: `${af}.path`, value: a.path, allowed: 'the path of an image file (empty only for an empty optical drive)' });
      }
      if (a.type === 'disk') oneOf(issues, `${af}.format`, a.format, DISK_FORMATS);
      else if (a.format !== undefined) issues.push({ field: `${af}.format`, value: a.format, allowed: 'no format for optical media (ISO images are raw)' });
      if (a.readOnly !== undefined && typeof a.readOnly !== 'boolean') issues.push({ field: `${af}.readOnly`, value: a.readOnly, allowed: 'true or false' });
    });
  });
}

function validateNetwork(issues: ValidationIssue[], c: MachineConfig): void {
  if (!Array.isArray(c.network) || c.network.length > LIMITS.nics) {
    issues.push({ field: 'network', value: c.network, allowed: `a list of at most ${LIMITS.nics} adapters` });
    return;
  }
  const slots = new Set<number>();
  c.network.forEach((nic, i) => {
    const f = `network[${i}]`;
    intIn(issues, `${f}.slot`, nic.slot, 1, LIMITS.nics);
    if (slots.has(nic.slot)) issues.push({ field: `${f}.slot`, value: nic.slot, allowed: 'a slot no other adapter uses' });
    slots.add(nic.slot);
    if (typeof nic.enabled !== 'boolean') issues.push({ field: `${f}.enabled`, value: nic.enabled, allowed: 'true or false' });
    oneOf(issues, `${f}.attachment`, nic.attachment, ['nat']);
    oneOf(issues, `${f}.model`, nic.model, NIC_MODELS);
    if (typeof nic.mac !== 'string' || !isValidMac(nic.mac)) issues.push({ field: `${f}.mac`, value: nic.mac, allowed: 'a unicast MAC address like 0A:48:47:12:34:56 (upper-case hex)' });
    if (!Array.isArray(nic.portForwards)) {
      issues.push({ field: `${f}.portForwards`, value: nic.portForwards, allowed: 'a list of port-forwarding rules' });
      return;
    }
    const ruleNames = new Set<string>();
    const hostPorts = new Set<string>();
    nic.portForwards.forEach((r, j) => {
      const rf = `${f}.portForwards[${j}]`;
      if (typeof r.name !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(r.name)) issues.push({ field: `${rf}.name`, value: r.name, allowed: '1-32 letters, digits, _ or -' });
      else if (ruleNames.has(r.name)) issues.push({ field: `${rf}.name`, value: r.name, allowed: 'a rule name not used twice on this adapter' });
      ruleNames.add(r.name);
      oneOf(issues, `${rf}.protocol`, r.protocol, ['tcp', 'udp']);
      if (r.hostIp !== '127.0.0.1') issues.push({ field: `${rf}.hostIp`, value: r.hostIp, allowed: '127.0.0.1 (forwarded ports listen on loopback only)' });
      intIn(issues, `${rf}.hostPort`, r.hostPort, 1, 65535);
      intIn(issues, `${rf}.guestPort`, r.guestPort, 1, 65535);
      if (r.guestIp !== undefined && (typeof r.guestIp !== 'string' || !/^(\d{1,3})(\.\d{1,3}){3}$/.test(r.guestIp))) {
        issues.push({ field: `${rf}.guestIp`, value: r.guestIp, allowed: 'an IPv4 address, or leave it out for the guest\'s address' });
      }
      const key = `${r.protocol}:${r.hostPort}`;
      if (hostPorts.has(key)) issues.push({ field: `${rf}.hostPort`, value: r.hostPort, allowed: 'a host port not forwarded twice for the same protocol' });
      hostPorts.add(key);
    });
  });
}

function validateSerial(issues: ValidationIssue[], c: MachineConfig): void {
  if (!Array.isArray(c.serial) || c.serial.length > SERIAL_PORTS.length) {
    issues.push({ field: 'serial', value: c.serial, allowed: 'a list of up to 4 serial ports' });
    return;
  }
  const seen = new Set<string>();
  c.serial.forEach((s, i) => {
    const f = `serial[${i}]`;
    oneOf(issues, `${f}.port`, s.port, SERIAL_PORTS);
    if (seen.has(s.port)) issues.push({ field: `${f}.port`, value: s.port, allowed: 'each of COM1-COM4 at most once' });
    seen.add(s.port);
    oneOf(issues, `${f}.mode`, s.mode, SERIAL_MODES);
    if (s.mode === 'file' && (typeof s.path !== 'string' || s.path === '')) issues.push({ field: `${f}.path`, value: s.path, allowed: 'the path of the file that receives the output (mode file)' });
    if (s.mode === 'tcp') intIn(issues, `${f}.tcpPort`, s.tcpPort, 1024, 65535);
  });
}

function validateResources(issues: ValidationIssue[], c: MachineConfig): void {
  const r = c.resources;
  if (r === undefined) return;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    issues.push({ field: 'resources', value: r, allowed: 'an object with priority, cpuCap and affinity, each optional' });
    return;
  }
  if (r.priority !== undefined) oneOf(issues, 'resources.priority', r.priority, VM_PRIORITIES);
  if (r.cpuCap !== undefined) intIn(issues, 'resources.cpuCap', r.cpuCap, 1, 100, ' percent');
  if (r.affinity !== undefined) {
    const ok = Array.isArray(r.affinity) && r.affinity.length > 0 && r.affinity.length <= 1024
      && r.affinity.every((x) => Number.isInteger(x) && x >= 0 && x < 1024) && new Set(r.affinity).size === r.affinity.length;
    if (!ok) issues.push({ field: 'resources.affinity', value: r.affinity, allowed: 'a non-empty list of distinct host core numbers (0-1023), e.g. [0, 1]' });
  }
}

export function assertValid(c: MachineConfig, context?: string): void {
  const issues = validateConfig(c);
  if (issues.length) throw new ValidationError(issues, context);
}
