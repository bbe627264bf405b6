// The VMDK text descriptor: either embedded in a sparse file or standing alone next to its
// extents (monolithicFlat, twoGbMaxExtentSparse/Flat). It names the extents in order.
import { corrupt, unsupported } from './vdi-vhd-vmdk-common.ts';

export type ExtentType = 'SPARSE' | 'FLAT' | 'ZERO' | 'VMFS' | 'VMFSSPARSE' | 'VMFSRDM' | 'VMFSRAW' | 'SESPARSE';

export interface ExtentLine {
  access: 'RW' | 'RDONLY' | 'NOACCESS';
  sectors: number;
  type: ExtentType;
  file?: string;
  /** FLAT extents: where the data starts in the file, in sectors. */
  offset: number;
}

export interface VmdkDescriptor {
  createType: string;
  cid: string;
  parentCID: string;
  extents: ExtentLine[];
  ddb: Map<string, string>;
}

/** Bounds: a descriptor is small text; refuse anything that is not. */
export const MAX_DESCRIPTOR_BYTES = 1 << 20;
export const MAX_EXTENTS = 1024;

const EXTENT_RE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(SPARSE|FLAT|ZERO|VMFS|VMFSSPARSE|VMFSRDM|VMFSRAW|SESPARSE)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/;

export function looksLikeDescriptor(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 512));
  return text.startsWith('# Disk DescriptorFile') || (/^\s*version\s*=/m.test(text) && /createType\s*=/.test(text));
}

export function parseDescriptor(path: string, bytes: Uint8Array): VmdkDescriptor {
  if (bytes.length > MAX_DESCRIPTOR_BYTES) throw unsupported(path, 'VMDK descriptor is larger than 1 MiB');
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  const text = new TextDecoder('utf-8').decode(bytes.subarray(0, end));
  const d: VmdkDescriptor = { createType: '', cid: 'ffffffff', parentCID: 'ffffffff', extents: [], ddb: new Map() };
  let sawVersion = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const ext = EXTENT_RE.exec(line);
    if (ext) {
      if (d.extents.length >= MAX_EXTENTS) throw unsupported(path, `VMDK descriptor lists more than ${MAX_EXTENTS} extents`);
      const sectors = Number(ext[2]);
      const offset = ext[5] !== undefined ? Number(ext[5]) : 0;
      if (!Number.isSafeInteger(sectors) || !Number.isSafeInteger(offset)) throw corrupt(path, `VMDK extent line "${line}" has an impossible size`);
      const type = ext[3] as ExtentType;
      if (type !== 'ZERO' && ext[4] === undefined) throw corrupt(path, `VMDK extent line "${line}" names no file`);
      d.extents.push({ access: ext[1] as ExtentLine['access'], sectors, type, file: ext[4], offset });
      continue;
    }
    const kv = /^([A-Za-z0-9_.]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (!kv) throw corrupt(path, `VMDK descriptor line "${line.slice(0, 80)}" is not understood`);
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'version') sawVersion = true;
    else if (key === 'CID') d.cid = value;
    else if (key === 'parentCID') d.parentCID = value;
    else if (key === 'createType') d.createType = value;
    else if (key.startsWith('ddb.')) d.ddb.set(key, value);
  }
  if (!sawVersion || d.createType === '') throw corrupt(path, 'VMDK descriptor lacks version or createType');
  if (d.extents.length === 0) throw corrupt(path, 'VMDK descriptor lists no extents');
  return d;
}

export function randomCid(): string {
  const b = new Uint8Array(4);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString('hex');
}

/** Descriptor text for an image Hangar creates. */
export function serializeDescriptor(createType: string, extents: ExtentLine[], adapter = 'ide'): string {
  const sectors = extents.reduce((s, e) => s + e.sectors, 0);
  const heads = 16;
  const spt = 63;
  const cylinders = Math.min(65535, Math.max(1, Math.floor(sectors / (heads * spt))));
  const lines = [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${randomCid()}`,
    'parentCID=ffffffff',
    `createType="${createType}"`,
    '',
    '# Extent description',
    ...extents.map((e) => `${e.access} ${e.sectors} ${e.type}${e.file !== undefined ? ` "${e.file}"` : ''}${e.type === 'FLAT' ? ` ${e.offset}` : ''}`),
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    `ddb.geometry.heads = "${heads}"`,
    `ddb.geometry.sectors = "${spt}"`,
    `ddb.adapterType = "${adapter}"`,
    '',
  ];
  return lines.join('\n');
}
