// The settings dialog edits a copy of a VM's configuration; saving sends the difference as
// the library's edit list (MachineEdit), so the server applies and validates exactly what
// changed. Pure, no DOM.
import type { MachineEdit } from '../../../src-core/api/edits.ts';
import type { Attachment, MachineConfig, NetworkAdapter, PortForward, SerialPort, StorageController } from '../../../src-core/api/machine.ts';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function attachEdit(ctl: string, a: Attachment): MachineEdit {
  const e: MachineEdit = { kind: 'attach', controller: ctl, port: a.port, type: a.type, path: a.path };
  if (a.type === 'disk' && a.format !== undefined) e.format = a.format;
  if (a.readOnly !== undefined) e.readOnly = a.readOnly;
  return e;
}

function storageEdits(before: StorageController[], after: StorageController[], out: MachineEdit[]): void {
  const old = new Map(before.map((c) => [c.name, c]));
  const kept = new Set<string>();
  for (const c of after) {
    const o = old.get(c.name);
    if (o && o.type === c.type) kept.add(c.name);
  }
  for (const o of before) if (!kept.has(o.name)) out.push({ kind: 'removeController', name: o.name });
  for (const c of after) {
    const o = kept.has(c.name) ? old.get(c.name) : undefined;
    if (!o) {
      out.push({ kind: 'addController', name: c.name, type: c.type });
      for (const a of c.attachments) out.push(attachEdit(c.name, a));
      continue;
    }
    const newPorts = new Set(c.attachments.map((a) => a.port));
    for (const a of o.attachments) if (!newPorts.has(a.port)) out.push({ kind: 'detach', controller: c.name, port: a.port });
    for (const a of c.attachments) {
      const prev = o.attachments.find((x) => x.port === a.port);
      if (!prev || !same(normal(prev), normal(a))) out.push(attachEdit(c.name, a));
    }
  }
}

function normal(a: Attachment): Attachment {
  const n: Attachment = { port: a.port, type: a.type, path: a.path };
  if (a.type === 'disk' && a.format !== undefined) n.format = a.format;
  if (a.readOnly) n.readOnly = true;
  return n;
}

function forwardEdits(slot: number, before: PortForward[], after: PortForward[], out: MachineEdit[]): void {
  const names = new Set(after.map((r) => r.name));
  for (const r of before) if (!names.has(r.name)) out.push({ kind: 'removePortForward', slot, name: r.name });
  for (const r of after) {
    const prev = before.find((x) => x.name === r.name);
    if (!prev || !same(prev, r)) out.push({ kind: 'addPortForward', slot, rule: { ...r } });
  }
}

function networkEdits(before: NetworkAdapter[], after: NetworkAdapter[], out: MachineEdit[]): void {
  const slots = new Set(after.map((n) => n.slot));
  for (const n of before) if (!slots.has(n.slot)) out.push({ kind: 'removeNic', slot: n.slot });
  for (const n of after) {
    const prev = before.find((x) => x.slot === n.slot);
    const e: MachineEdit & { kind: 'nic' } = { kind: 'nic', slot: n.slot };
    if (!prev || prev.enabled !== n.enabled) e.enabled = n.enabled;
    if (!prev || prev.model !== n.model) e.model = n.model;
    // An empty MAC on a new adapter means "pick one"; the library then generates it.
    if (n.mac !== '' && (!prev || prev.mac !== n.mac)) e.mac = n.mac;
    if (!prev || Object.keys(e).length > 2) out.push(e);
    forwardEdits(n.slot, prev?.portForwards ?? [], n.portForwards, out);
  }
}

function serialEdit(s: SerialPort): MachineEdit {
  const e: MachineEdit = { kind: 'serial', port: s.port, mode: s.mode };
  if (s.mode === 'file' && s.path !== undefined) e.path = s.path;
  if (s.mode === 'tcp' && s.tcpPort !== undefined) e.tcpPort = s.tcpPort;
  return e;
}

function serialEdits(before: SerialPort[], after: SerialPort[], out: MachineEdit[]): void {
  const ports = new Set(after.map((s) => s.port));
  for (const s of before) if (!ports.has(s.port)) out.push({ kind: 'removeSerial', port: s.port });
  for (const s of after) {
    const prev = before.find((x) => x.port === s.port);
    if (!prev || !same(serialEdit(prev), serialEdit(s))) out.push(serialEdit(s));
  }
}

/** The edits that turn `before` into `after`. Empty when nothing changed. */
export function diffConfig(before: MachineConfig, after: MachineConfig): MachineEdit[] {
  const out: MachineEdit[] = [];
  for (const f of ['name', 'osType', 'description', 'group'] as const) {
    if (before[f] !== after[f]) out.push({ kind: 'set', field: f, value: after[f] });
  }
  for (const f of ['cpus', 'memoryMiB'] as const) {
    if (before[f] !== after[f]) out.push({ kind: 'set', field: f, value: after[f] });
  }
  const fb = before.firmware;
  const fa = after.firmware;
  if (!same(fb, fa)) {
    if (fa.type === 'linux') {
      out.push({ kind: 'firmware', type: 'linux', kernel: fa.kernel || null, initrd: fa.initrd || null, cmdline: fa.cmdline || null });
    } else {
      out.push({ kind: 'firmware', type: fa.type });
    }
  }
  if (!same(before.bootOrder, after.bootOrder)) out.push({ kind: 'bootOrder', order: [...after.bootOrder] });
  if (!same(before.display, after.display)) out.push({ kind: 'display', controller: after.display.controller, vramMiB: after.display.vramMiB });
  storageEdits(before.storage, after.storage, out);
  networkEdits(before.network, after.network, out);
  serialEdits(before.serial, after.serial, out);
  return out;
}
