// Response data of the MMC commands the ATAPI drive answers (atapi-cdrom.ts decides when;
// this file only lays out the bytes): INQUIRY, MODE SENSE pages, GET CONFIGURATION features
// and READ TOC. Multi-byte fields are big-endian, as SCSI/MMC specifies.
import type { IdentityStrings } from './ata-identify.ts';

export const be16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
export const be32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};
export const rd16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const rd32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function concat(parts: Uint8Array[], header: number): { b: Uint8Array; at: number } {
  const body = parts.reduce((n, x) => n + x.length, 0);
  const b = new Uint8Array(header + body);
  let o = header;
  for (const x of parts) {
    b.set(x, o);
    o += x.length;
  }
  return { b, at: header };
}

export function inquiryData(id: IdentityStrings): Uint8Array {
  const b = new Uint8Array(36);
  b[0] = 0x05; // CD/DVD device
  b[1] = 0x80; // removable
  b[3] = 0x21; // ATAPI, response format 1
  b[4] = 31;
  const put = (o: number, len: number, s: string): void => {
    const t = s.padEnd(len, ' ').slice(0, len);
    for (let i = 0; i < len; i++) b[o + i] = t.charCodeAt(i);
  };
  put(8, 8, 'HANGAR');
  put(16, 16, id.model.replace(/^HANGAR\s*/, ''));
  put(32, 4, id.firmware);
  return b;
}

/** MODE SENSE(6/10) data for `page` (01h, 2Ah or 3Fh for all), or undefined if not supported. */
export function modeSenseData(page: number, control: number, ten: boolean, locked: boolean, hasMedium: boolean): Uint8Array | undefined {
  const pages: Uint8Array[] = [];
  if (page === 0x01 || page === 0x3f) {
    const e = new Uint8Array(8); // read error recovery
    e[0] = 0x01;
    e[1] = 6;
    e[3] = 5; // read retry count
    pages.push(e);
  }
  if (page === 0x2a || page === 0x3f) {
    const c = new Uint8Array(20); // CD/DVD capabilities and mechanical status
    c[0] = 0x2a;
    c[1] = 18;
    c[2] = 0x3b; // reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM
    c[4] = 0x71;
    c[5] = 0xff;
    c[6] = 0x29 | (locked ? 0x02 : 0); // tray, eject, lock supported, lock state
    be16(c, 8, 706 * 4); // maximum read speed, kB/s
    be16(c, 10, 2);
    be16(c, 12, 512);
    be16(c, 14, 706 * 4);
    pages.push(c);
  }
  if (pages.length === 0 || control === 3) return undefined; // control 3: saved values, none kept
  const { b } = concat(pages, ten ? 8 : 4);
  if (ten) be16(b, 0, b.length - 2);
  else b[0] = b.length - 1;
  b[ten ? 2 : 1] = hasMedium ? 0x01 : 0x70; // medium type: 120 mm data disc / door closed, no disc
  return b;
}

/** GET CONFIGURATION: features 0 (profile list), 1 (core, ATAPI) and 3 (removable medium). */
export function configurationData(rt: number, start: number, profile: number, locked: boolean): Uint8Array {
  const features: [number, Uint8Array][] = [];
  const profiles = new Uint8Array(12);
  profiles[2] = 0x03; // persistent, current
  profiles[3] = 8;
  be16(profiles, 4, 0x0010); // DVD-ROM
  profiles[6] = profile === 0x0010 ? 1 : 0;
  be16(profiles, 8, 0x0008); // CD-ROM
  profiles[10] = profile === 0x0008 ? 1 : 0;
  features.push([0, profiles]);
  const core = new Uint8Array(12);
  be16(core, 0, 0x0001);
  core[2] = 0x0b;
  core[3] = 8;
  be32(core, 4, 2); // physical interface: ATAPI
  core[8] = 1; // DBE
  features.push([1, core]);
  const removable = new Uint8Array(8);
  be16(removable, 0, 0x0003);
  removable[2] = 0x03;
  removable[3] = 4;
  removable[4] = 0x29 | (locked ? 0x04 : 0) | 0x08; // tray, eject, lock, lock state, pvnt jumper
  features.push([3, removable]);
  // RT 2: only the feature named by the starting number; otherwise every feature from it on.
  const chosen = features.filter(([code]) => (rt === 2 ? code === start : code >= start)).map(([, f]) => f);
  const { b } = concat(chosen, 8);
  be32(b, 0, b.length - 4);
  be16(b, 6, profile);
  return b;
}

/** READ TOC formats 0 (TOC: track 1 and the lead-out) and 1 (session info); undefined otherwise. */
export function tocData(format: number, msf: boolean, sectors: number): Uint8Array | undefined {
  const addr = (b: Uint8Array, o: number, lba: number): void => {
    if (!msf) {
      be32(b, o, lba);
      return;
    }
    const f = lba + 150; // MSF addresses count the 2-second pre-gap
    b[o] = 0;
    b[o + 1] = Math.floor(f / (75 * 60));
    b[o + 2] = Math.floor(f / 75) % 60;
    b[o + 3] = f % 75;
  };
  if (format === 0) {
    const b = new Uint8Array(20);
    be16(b, 0, 18);
    b[2] = 1; // first track
    b[3] = 1; // last track
    b[5] = 0x14; // ADR 1, data track
    b[6] = 1;
    addr(b, 8, 0);
    b[13] = 0x14;
    b[14] = 0xaa; // lead-out
    addr(b, 16, sectors);
    return b;
  }
  if (format === 1) {
    const b = new Uint8Array(12); // one session, starting at track 1
    be16(b, 0, 10);
    b[2] = 1;
    b[3] = 1;
    b[5] = 0x14;
    b[6] = 1;
    addr(b, 8, 0);
    return b;
  }
  return undefined;
}
