// The details pane's content: a VM's settings summarised section by section, the way
// VirtualBox's details pane reads. Pure, no DOM.
import type { MachineConfig, OsType } from '../../../src-core/api/machine.ts';
import { S } from './strings.ts';

export interface SummarySection {
  title: string;
  rows: [label: string, value: string][];
}

export function osLabel(osTypes: readonly OsType[], id: string): string {
  return osTypes.find((o) => o.id.toLowerCase() === id.toLowerCase())?.label ?? id;
}

export function summarize(path: string, c: MachineConfig, osTypes: readonly OsType[]): SummarySection[] {
  const d = S.details;
  const system: SummarySection['rows'] = [
    [d.memory, S.units.mib(c.memoryMiB)],
    [d.processors, String(c.cpus)],
    [d.bootOrder, c.bootOrder.map((b) => S.bootDevice[b] ?? b).join(', ') || d.none],
    [d.firmware, S.firmware[c.firmware.type] ?? c.firmware.type],
  ];
  if (c.firmware.type === 'linux') {
    system.push([d.kernel, c.firmware.kernel ?? '']);
    system.push([d.initrd, c.firmware.initrd ?? d.none]);
    if (c.firmware.cmdline) system.push([d.cmdline, c.firmware.cmdline]);
  }
  const storage: SummarySection['rows'] = [];
  for (const ctl of c.storage) {
    storage.push([d.controller(ctl.name, ctl.type), '']);
    for (const a of ctl.attachments) {
      const value = a.type === 'optical' ? (a.path ? d.optical(a.path) : d.emptyOptical) : d.disk(a.path, a.format ?? '?');
      storage.push([`  ${ctl.name} Port ${a.port}`, value]);
    }
  }
  const network: SummarySection['rows'] = c.network.map((n) => [d.adapter(n.slot), n.enabled ? d.nat(n.model, n.portForwards.length) : d.disabled]);
  const serial: SummarySection['rows'] = c.serial
    .filter((s) => s.mode !== 'none')
    .map((s) => [d.port(s.port), `${S.serialMode[s.mode] ?? s.mode}${s.mode === 'file' ? ` (${s.path ?? ''})` : s.mode === 'tcp' ? ` (127.0.0.1:${s.tcpPort ?? ''})` : ''}`]);
  const sections: SummarySection[] = [
    { title: d.general, rows: [[d.name, c.name], [d.os, osLabel(osTypes, c.osType)], [d.location, path], [d.groups, c.group]] },
    { title: d.system, rows: system },
    { title: d.display, rows: [[d.videoMemory, S.units.mib(c.display.vramMiB)], [d.graphics, c.display.controller.toUpperCase()]] },
    { title: d.storage, rows: storage.length ? storage : [[d.none, '']] },
    { title: d.network, rows: network.length ? network : [[d.noneSection, '']] },
    { title: d.serial, rows: serial.length ? serial : [[d.noneSection, '']] },
  ];
  if (c.description) sections.push({ title: d.description, rows: [['', c.description]] });
  return sections;
}
