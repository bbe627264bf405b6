// Human-readable description of one VM for `hangar show`.
import type { MachineConfig } from '../library/config.ts';
import { presetById } from '../library/presets.ts';

export function describeMachine(path: string, c: MachineConfig): string {
  const rows: [string, string][] = [
    ['Name', c.name],
    ['UUID', c.uuid],
    ['OS type', `${presetById(c.osType)?.label ?? c.osType} (${c.osType})`],
    ['Group', c.group],
    ['Config file', path],
    ['CPUs', String(c.cpus)],
    ['Memory', `${c.memoryMiB} MiB`],
    ['Firmware', c.firmware.type],
  ];
  if (c.firmware.type === 'linux') {
    rows.push(['Kernel', c.firmware.kernel ?? '']);
    rows.push(['Initrd', c.firmware.initrd ?? '(none)']);
    rows.push(['Command line', c.firmware.cmdline ?? '']);
  }
  rows.push(['Boot order', c.bootOrder.join(', ') || '(none)']);
  rows.push(['Display', `${c.display.controller}, ${c.display.vramMiB} MiB VRAM`]);
  for (const ctl of c.storage) {
    rows.push([`Storage ${ctl.name}`, `${ctl.type}${ctl.attachments.length ? '' : ' (empty)'}`]);
    for (const a of ctl.attachments) {
      const what = a.type === 'optical' ? `optical ${a.path || '(empty drive)'}` : `disk ${a.path} (${a.format}${a.readOnly ? ', read-only' : ''})`;
      rows.push([`  port ${a.port}`, what]);
    }
  }
  for (const n of c.network) {
    rows.push([`NIC ${n.slot}`, `${n.enabled ? 'enabled' : 'disabled'}, NAT, ${n.model}, MAC ${n.mac}`]);
    for (const r of n.portForwards) {
      rows.push([`  forward ${r.name}`, `${r.protocol} ${r.hostIp}:${r.hostPort} -> ${r.guestIp ?? 'guest'}:${r.guestPort}`]);
    }
  }
  if (!c.network.length) rows.push(['Network', '(none)']);
  for (const s of c.serial) {
    const target = s.mode === 'file' ? `file ${s.path}` : s.mode === 'tcp' ? `tcp 127.0.0.1:${s.tcpPort}` : s.mode;
    rows.push([`Serial ${s.port}`, target]);
  }
  if (!c.serial.length) rows.push(['Serial', '(none)']);
  if (c.description) rows.push(['Description', c.description]);
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${(k + ':').padEnd(w + 1)}${v}`).join('\n') + '\n';
}
