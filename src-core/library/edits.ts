// Edits to a machine configuration, expressed as plain data. The CLI's `modify` flags and
// the GUI's settings dialog both produce these; applying them never validates — the
// library validates the whole result afterwards.
import { HangarError } from '../api/errors.ts';
import type { MachineEdit } from '../api/edits.ts';
import type { Attachment, MachineConfig } from './config.ts';
import { randomMac } from './defaults.ts';

// The edit kinds and their fields are defined once, by the service API's schema
// (src-core/api/edits.ts), so what a client may send and what the library applies agree.
export type { MachineEdit };

function missing(what: string): HangarError {
  return new HangarError('not-found', what);
}

export function applyEdit(cfg: MachineConfig, e: MachineEdit): void {
  switch (e.kind) {
    case 'set':
      (cfg as unknown as Record<string, unknown>)[e.field] = e.value;
      return;
    case 'firmware': {
      if (e.type !== undefined) cfg.firmware.type = e.type;
      for (const k of ['kernel', 'initrd', 'cmdline'] as const) {
        const v = e[k];
        if (v === null) delete cfg.firmware[k];
        else if (v !== undefined) cfg.firmware[k] = v;
      }
      if (cfg.firmware.type !== 'linux' && e.type !== undefined) {
        delete cfg.firmware.kernel;
        delete cfg.firmware.initrd;
        delete cfg.firmware.cmdline;
      }
      return;
    }
    case 'bootOrder':
      cfg.bootOrder = [...e.order];
      return;
    case 'display':
      if (e.controller !== undefined) cfg.display.controller = e.controller;
      if (e.vramMiB !== undefined) cfg.display.vramMiB = e.vramMiB;
      return;
    case 'addController':
      cfg.storage.push({ name: e.name, type: e.type, attachments: [] });
      return;
    case 'removeController': {
      const i = cfg.storage.findIndex((c) => c.name === e.name);
      if (i < 0) throw missing(`no storage controller named "${e.name}" (controllers: ${cfg.storage.map((c) => c.name).join(', ') || 'none'})`);
      cfg.storage.splice(i, 1);
      return;
    }
    case 'attach': {
      const ctl = cfg.storage.find((c) => c.name === e.controller);
      if (!ctl) throw missing(`no storage controller named "${e.controller}" (controllers: ${cfg.storage.map((c) => c.name).join(', ') || 'none'})`);
      const a: Attachment = { port: e.port, type: e.type, path: e.path };
      if (e.format !== undefined) a.format = e.format;
      if (e.readOnly !== undefined) a.readOnly = e.readOnly;
      ctl.attachments = ctl.attachments.filter((x) => x.port !== e.port);
      ctl.attachments.push(a);
      ctl.attachments.sort((x, y) => x.port - y.port);
      return;
    }
    case 'detach': {
      const ctl = cfg.storage.find((c) => c.name === e.controller);
      if (!ctl || !ctl.attachments.some((a) => a.port === e.port)) throw missing(`nothing is attached to ${e.controller} port ${e.port}`);
      ctl.attachments = ctl.attachments.filter((a) => a.port !== e.port);
      return;
    }
    case 'nic': {
      let nic = cfg.network.find((n) => n.slot === e.slot);
      if (!nic) {
        nic = { slot: e.slot, enabled: true, attachment: 'nat', model: e.model ?? 'e1000', mac: randomMac(), portForwards: [] };
        cfg.network.push(nic);
        cfg.network.sort((a, b) => a.slot - b.slot);
      }
      if (e.enabled !== undefined) nic.enabled = e.enabled;
      if (e.model !== undefined) nic.model = e.model;
      if (e.mac !== undefined) nic.mac = e.mac === 'auto' ? randomMac() : e.mac.toUpperCase();
      return;
    }
    case 'removeNic': {
      const before = cfg.network.length;
      cfg.network = cfg.network.filter((n) => n.slot !== e.slot);
      if (cfg.network.length === before) throw missing(`no network adapter in slot ${e.slot}`);
      return;
    }
    case 'addPortForward': {
      const nic = cfg.network.find((n) => n.slot === e.slot);
      if (!nic) throw missing(`no network adapter in slot ${e.slot}`);
      nic.portForwards = nic.portForwards.filter((r) => r.name !== e.rule.name);
      nic.portForwards.push({ ...e.rule });
      return;
    }
    case 'removePortForward': {
      const nic = cfg.network.find((n) => n.slot === e.slot);
      if (!nic || !nic.portForwards.some((r) => r.name === e.name)) throw missing(`no port-forwarding rule "${e.name}" on adapter ${e.slot}`);
      nic.portForwards = nic.portForwards.filter((r) => r.name !== e.name);
      return;
    }
    case 'serial': {
      cfg.serial = cfg.serial.filter((s) => s.port !== e.port);
      const s: MachineConfig['serial'][number] = { port: e.port, mode: e.mode };
      if (e.path !== undefined) s.path = e.path;
      if (e.tcpPort !== undefined) s.tcpPort = e.tcpPort;
      cfg.serial.push(s);
      cfg.serial.sort((a, b) => a.port.localeCompare(b.port));
      return;
    }
    case 'resources': {
      const r = { ...(cfg.resources ?? {}) };
      if (e.priority === null) delete r.priority;
      else if (e.priority !== undefined) r.priority = e.priority;
      if (e.cpuCap === null) delete r.cpuCap;
      else if (e.cpuCap !== undefined) r.cpuCap = e.cpuCap;
      if (e.affinity === null) delete r.affinity;
      else if (e.affinity !== undefined) r.affinity = [...e.affinity];
      if (Object.keys(r).length) cfg.resources = r;
      else delete cfg.resources;
      return;
    }
    case 'removeSerial': {
      const before = cfg.serial.length;
      cfg.serial = cfg.serial.filter((s) => s.port !== e.port);
      if (cfg.serial.length === before) throw missing(`serial port ${e.port} is not configured`);
      return;
    }
  }
}
