// Reading an OVF descriptor (0.9, 1.x or 2.x) into the OvfEnvelope model. Elements are matched by
// namespace and local name, never by prefix, so `ovf:Item` and a default-namespace `Item` read
// the same. Every broken cross-reference is collected and reported together.
import { HangarError } from '../api/errors.ts';
import { attrOf, childNamed, childrenNamed, elements, parseXml, textOf, type XmlElement } from './xml.ts';
import {
  NS, RT, type OvfDeploymentOption, type OvfDisk, type OvfEnvelope, type OvfFileRef, type OvfNetwork, type OvfOs,
  type OvfProduct, type OvfVersion, type OvfVirtualSystem, type RasdItem,
} from './ovf-model.ts';
import { toBytes } from './units.ts';

const ENVELOPE_NS: readonly string[] = [NS.ovf1, NS.ovf2, NS.ovf09];
const CIM_PREFIX = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';
const CONTROLLER_TYPES: readonly number[] = [RT.ide, RT.scsi, RT.otherStorage, RT.usb];

/** Problems with an href that would let a package name a file outside itself. */
export function hrefProblem(href: string): string | undefined {
  if (href === '') return 'is empty';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href)) return 'is a URL or drive path (only files inside the package are supported)';
  if (href.startsWith('/') || href.startsWith('\\')) return 'is an absolute path';
  if (href.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(href)) return 'contains control characters';
  if (href.split('/').some((p) => p === '..' || p === '.' || p === '')) return 'contains "..", "." or an empty path segment';
  return undefined;
}

/** `ovf:/disk/ID`, `/disk/ID`, `ovf:/file/ID` or `/file/ID` → kind and id. */
export function parseHostResource(s: string): { kind: 'disk' | 'file'; id: string } | undefined {
  const m = /^(?:ovf:)?\/(disk|file)\/(.+)$/.exec(s.trim());
  return m ? { kind: m[1] as 'disk' | 'file', id: m[2]! } : undefined;
}

class Reader {
  readonly problems: string[] = [];
  readonly ovfNs: string;

  constructor(readonly source: string, root: XmlElement) {
    this.ovfNs = root.ns;
  }

  attr(el: XmlElement, local: string): string | undefined {
    return attrOf(el, local, [this.ovfNs, '']);
  }

  /** Section kind: the element's local name, or for OVF 0.9 `<Section xsi:type="ovf:X_Type">`, X. */
  kind(el: XmlElement): string | undefined {
    if (el.ns !== this.ovfNs) return undefined;
    if (el.local === 'Section' || el.local === 'Content') {
      const t = attrOf(el, 'type', [NS.xsi]);
      if (!t) return el.local;
      return t.slice(t.indexOf(':') + 1).replace(/_Type$/, '');
    }
    return el.local;
  }

  sections(el: XmlElement, kind: string): XmlElement[] {
    return elements(el).filter((c) => this.kind(c) === kind);
  }

  ovfText(el: XmlElement, local: string): string | undefined {
    const c = childNamed(el, local, [this.ovfNs]);
    return c ? textOf(c).trim() : undefined;
  }

  files(env: XmlElement): OvfFileRef[] {
    const refs = childNamed(env, 'References', [this.ovfNs]);
    const out: OvfFileRef[] = [];
    for (const f of refs ? childrenNamed(refs, 'File', [this.ovfNs]) : []) {
      const id = this.attr(f, 'id');
      const href = this.attr(f, 'href');
      const where = `References line ${f.line}`;
      if (!id || href === undefined) {
        this.problems.push(`${where}: File needs ovf:id and ovf:href`);
        continue;
      }
      const bad = hrefProblem(href);
      if (bad) this.problems.push(`${where}: file "${id}" href ${JSON.stringify(href)} ${bad}`);
      if (out.some((o) => o.id === id)) this.problems.push(`${where}: file id "${id}" is used twice`);
      if (out.some((o) => o.href === href)) this.problems.push(`${where}: file "${href}" is listed twice`);
      const sizeText = this.attr(f, 'size');
      let size: number | undefined;
      if (sizeText !== undefined) {
        if (/^\d+$/.test(sizeText) && Number.isSafeInteger(Number(sizeText))) size = Number(sizeText);
        else this.problems.push(`${where}: file "${id}" size ${JSON.stringify(sizeText)} is not a whole number`);
      }
      const comp = this.attr(f, 'compression');
      if (comp !== undefined && comp !== 'gzip' && comp !== 'identity') this.problems.push(`${where}: file "${id}" compression "${comp}" is not supported (gzip or identity)`);
      if (this.attr(f, 'chunkSize') !== undefined) this.problems.push(`${where}: file "${id}" is split into chunks (ovf:chunkSize), which is not supported`);
      out.push({ id, href, size, compression: comp === 'gzip' ? 'gzip' : undefined });
    }
    return out;
  }

  disks(env: XmlElement, files: OvfFileRef[]): OvfDisk[] {
    const out: OvfDisk[] = [];
    for (const sec of this.sections(env, 'DiskSection')) {
      for (const d of childrenNamed(sec, 'Disk', [this.ovfNs])) {
        const where = `DiskSection line ${d.line}`;
        const diskId = this.attr(d, 'diskId');
        if (!diskId) {
          this.problems.push(`${where}: Disk has no ovf:diskId`);
          continue;
        }
        if (out.some((o) => o.diskId === diskId)) this.problems.push(`${where}: disk id "${diskId}" is used twice`);
        const fileRef = this.attr(d, 'fileRef');
        if (fileRef !== undefined && !files.some((f) => f.id === fileRef)) {
          this.problems.push(`${where}: disk "${diskId}" refers to file "${fileRef}", which is not in References`);
        }
        let capacity = 0;
        try {
          capacity = toBytes(this.attr(d, 'capacity') ?? '', this.attr(d, 'capacityAllocationUnits'), `disk "${diskId}" capacity`);
          if (capacity <= 0) this.problems.push(`${where}: disk "${diskId}" has capacity 0`);
        } catch (err) {
          this.problems.push(`${where}: ${(err as Error).message}`);
        }
        const pop = this.attr(d, 'populatedSize');
        out.push({
          diskId, fileRef, capacity,
          populatedSize: pop !== undefined && /^\d+$/.test(pop) ? Number(pop) : undefined,
          format: this.attr(d, 'format'),
        });
      }
    }
    return out;
  }

  networks(env: XmlElement): OvfNetwork[] {
    return this.sections(env, 'NetworkSection').flatMap((sec) =>
      childrenNamed(sec, 'Network', [this.ovfNs]).map((n) => ({ name: this.attr(n, 'name') ?? '', description: this.ovfText(n, 'Description') })),
    );
  }

  deploymentOptions(env: XmlElement): OvfDeploymentOption[] {
    return this.sections(env, 'DeploymentOptionSection').flatMap((sec) =>
      childrenNamed(sec, 'Configuration', [this.ovfNs]).map((c) => ({
        id: this.attr(c, 'id') ?? '',
        label: this.ovfText(c, 'Label'),
        isDefault: this.attr(c, 'default') === 'true',
      })),
    );
  }

  item(el: XmlElement, vsId: string): RasdItem | undefined {
    const fields: Record<string, string> = {};
    const hostResources: string[] = [];
    const connections: string[] = [];
    const vmwConfig: Record<string, string> = {};
    for (const c of elements(el)) {
      if (c.ns.startsWith(CIM_PREFIX)) {
        const local = c.local === 'InstanceId' ? 'InstanceID' : c.local;
        const v = textOf(c).trim();
        if (local === 'HostResource') hostResources.push(v);
        else if (local === 'Connection') connections.push(v);
        else fields[local] = v;
      } else if (c.ns === NS.vmw && c.local === 'Config') {
        const k = attrOf(c, 'key', [NS.vmw, '']);
        if (k) vmwConfig[k] = attrOf(c, 'value', [NS.vmw, '']) ?? '';
      }
    }
    const where = `VirtualSystem "${vsId}" ${el.local} line ${el.line}`;
    const rt = fields.ResourceType ?? '';
    if (!/^\d+$/.test(rt)) {
      this.problems.push(`${where}: ResourceType ${JSON.stringify(rt)} is missing or not a number`);
      return undefined;
    }
    if (!fields.InstanceID) {
      this.problems.push(`${where}: item has no InstanceID`);
      return undefined;
    }
    const conf = this.attr(el, 'configuration');
    return {
      element: el.local,
      resourceType: Number(rt),
      instanceId: fields.InstanceID,
      fields, hostResources, connections, vmwConfig,
      required: this.attr(el, 'required') !== 'false',
      configurations: conf ? conf.split(/\s+/).filter(Boolean) : undefined,
      line: el.line,
    };
  }

  os(sec: XmlElement): OvfOs {
    const idText = this.attr(sec, 'id') ?? '';
    const vbox = childNamed(sec, 'OSType', [NS.vbox]);
    return {
      id: /^\d+$/.test(idText) ? Number(idText) : 0,
      version: this.attr(sec, 'version'),
      description: this.ovfText(sec, 'Description'),
      vboxType: vbox ? textOf(vbox).trim() : undefined,
      vmwType: attrOf(sec, 'osType', [NS.vmw]),
    };
  }

  product(sec: XmlElement): OvfProduct {
    return {
      product: this.ovfText(sec, 'Product'),
      vendor: this.ovfText(sec, 'Vendor'),
      version: this.ovfText(sec, 'Version'),
      fullVersion: this.ovfText(sec, 'FullVersion'),
      productUrl: this.ovfText(sec, 'ProductUrl'),
      vendorUrl: this.ovfText(sec, 'VendorUrl'),
      properties: childrenNamed(sec, 'Property', [this.ovfNs]).map((p) => ({
        key: this.attr(p, 'key') ?? '',
        type: this.attr(p, 'type') ?? 'string',
        value: this.attr(p, 'value'),
        label: this.ovfText(p, 'Label'),
        description: this.ovfText(p, 'Description'),
      })),
    };
  }

  system(vs: XmlElement, env: { disks: OvfDisk[]; files: OvfFileRef[] }): OvfVirtualSystem {
    const id = this.attr(vs, 'id') ?? '';
    if (!id) this.problems.push(`VirtualSystem line ${vs.line}: no ovf:id`);
    const out: OvfVirtualSystem = {
      id, name: this.ovfText(vs, 'Name'), systemTypes: [], items: [], vmwConfig: {}, products: [], eulas: [], hasVboxMachine: false,
    };
    const osSec = this.sections(vs, 'OperatingSystemSection')[0];
    if (osSec) out.os = this.os(osSec);
    const hws = this.sections(vs, 'VirtualHardwareSection');
    if (hws.length === 0) this.problems.push(`VirtualSystem "${id}": no VirtualHardwareSection`);
    // Several hardware sections are alternatives for different platforms; the first is used.
    const hw = hws[0];
    if (hw) {
      const sys = childNamed(hw, 'System', [this.ovfNs]);
      const type = sys ? childNamed(sys, 'VirtualSystemType') : undefined;
      if (type) out.systemTypes = textOf(type).trim().split(/[\s,]+/).filter(Boolean);
      for (const c of elements(hw)) {
        if (c.ns === this.ovfNs && (c.local === 'Item' || c.local === 'StorageItem' || c.local === 'EthernetPortItem')) {
          const it = this.item(c, id);
          if (it) out.items.push(it);
        } else if (c.ns === NS.vmw && c.local === 'Config') {
          const k = attrOf(c, 'key', [NS.vmw, '']);
          if (k) out.vmwConfig[k] = attrOf(c, 'value', [NS.vmw, '']) ?? '';
        }
      }
    }
    for (const p of this.sections(vs, 'ProductSection')) out.products.push(this.product(p));
    for (const e of this.sections(vs, 'EulaSection')) out.eulas.push(this.ovfText(e, 'License') ?? '');
    const ann = this.sections(vs, 'AnnotationSection')[0];
    if (ann) out.annotation = this.ovfText(ann, 'Annotation');
    const hangar = childNamed(vs, 'Machine', [NS.hangar]);
    if (hangar) {
      const cfg = childNamed(hangar, 'Config', [NS.hangar]);
      if (cfg) out.hangarConfig = textOf(cfg);
      else this.problems.push(`VirtualSystem "${id}": the Hangar Machine section has no Config element`);
    }
    out.hasVboxMachine = childNamed(vs, 'Machine', [NS.vbox]) !== undefined;
    this.checkItems(out, env);
    return out;
  }

  checkItems(vs: OvfVirtualSystem, env: { disks: OvfDisk[]; files: OvfFileRef[] }): void {
    const byId = new Map<string, RasdItem>();
    for (const it of vs.items) {
      if (byId.has(it.instanceId)) this.problems.push(`VirtualSystem "${vs.id}" line ${it.line}: InstanceID ${it.instanceId} is used twice`);
      byId.set(it.instanceId, it);
    }
    for (const it of vs.items) {
      const where = `VirtualSystem "${vs.id}" item ${it.instanceId} (${it.fields.ElementName ?? it.fields.Caption ?? `ResourceType ${it.resourceType}`}, line ${it.line})`;
      const parent = it.fields.Parent;
      if (parent !== undefined) {
        const p = byId.get(parent);
        if (!p) this.problems.push(`${where}: Parent ${parent} is not an item of this VirtualSystem`);
        else if (!CONTROLLER_TYPES.includes(p.resourceType)) this.problems.push(`${where}: Parent ${parent} is not a controller (it has ResourceType ${p.resourceType})`);
      }
      for (const hr of it.hostResources) {
        if (hr === '') continue;
        const ref = parseHostResource(hr);
        if (it.resourceType === RT.disk) {
          if (!ref || ref.kind !== 'disk') this.problems.push(`${where}: HostResource ${JSON.stringify(hr)} does not name a disk (expected ovf:/disk/ID)`);
          else if (!env.disks.some((d) => d.diskId === ref.id)) this.problems.push(`${where}: HostResource ${JSON.stringify(hr)} names disk "${ref.id}", which is not in the DiskSection`);
        } else if (ref?.kind === 'file' && !env.files.some((f) => f.id === ref.id)) {
          this.problems.push(`${where}: HostResource ${JSON.stringify(hr)} names file "${ref.id}", which is not in References`);
        } else if (ref?.kind === 'disk' && !env.disks.some((d) => d.diskId === ref.id)) {
          this.problems.push(`${where}: HostResource ${JSON.stringify(hr)} names disk "${ref.id}", which is not in the DiskSection`);
        }
      }
    }
  }

  collect(el: XmlElement, env: { disks: OvfDisk[]; files: OvfFileRef[] }, out: OvfVirtualSystem[], depth = 0): void {
    if (depth > 8) {
      this.problems.push('VirtualSystemCollections nested too deeply');
      return;
    }
    for (const c of elements(el)) {
      const k = this.kind(c);
      if (k === 'VirtualSystem') out.push(this.system(c, env));
      else if (k === 'VirtualSystemCollection') this.collect(c, env, out, depth + 1);
    }
  }
}

export function parseOvf(text: string, source: string): OvfEnvelope {
  const root = parseXml(text, source);
  if (root.local !== 'Envelope' || !ENVELOPE_NS.includes(root.ns)) {
    throw new HangarError('corrupt', `${source}: not an OVF descriptor: the root element is {${root.ns}}${root.local}, expected an OVF 0.9, 1.x or 2.x Envelope`);
  }
  const r = new Reader(source, root);
  const version: OvfVersion = root.ns === NS.ovf09 ? '0.9' : root.ns === NS.ovf2 ? '2.0' : '1.0';
  const files = r.files(root);
  const disks = r.disks(root, files);
  const systems: OvfVirtualSystem[] = [];
  r.collect(root, { disks, files }, systems);
  const coll = elements(root).find((c) => r.kind(c) === 'VirtualSystemCollection');
  if (systems.length === 0) r.problems.push('the envelope holds no VirtualSystem');
  if (new Set(systems.map((s) => s.id)).size !== systems.length) r.problems.push('two VirtualSystems have the same ovf:id');
  if (r.problems.length) {
    throw new HangarError('corrupt', `${source}: invalid OVF descriptor:\n  - ${r.problems.join('\n  - ')}`, { problems: r.problems });
  }
  return {
    version, files, disks,
    networks: r.networks(root),
    deploymentOptions: r.deploymentOptions(root),
    systems,
    collectionId: coll ? r.attr(coll, 'id') : undefined,
  };
}
