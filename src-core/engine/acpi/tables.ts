// ACPI tables for the PC machine: RSDP (2.0), RSDT and XSDT, FADT (revision 3 layout, 244
// bytes) with its FACS, the DSDT, and the MADT (local APICs, the IOAPIC, ISA overrides for
// the PIT on GSI 2 and the level-triggered SCI, LINT1 as NMI). Everything is built into one
// byte array placed in the BIOS area, which the e820 map reports as reserved.
import { IOAPIC_BASE } from '../devices/ioapic.ts';
import { LAPIC_BASE } from '../devices/lapic.ts';
import { PM1_CNT_BLK, PM1_EVT_BLK, PM_TMR_BLK, SCI_IRQ } from '../devices/acpi-pm.ts';
import { dsdtBody } from './dsdt.ts';

export const ACPI_TABLES_BASE = 0x000e_0000;
export const ACPI_TABLES_MAX = 0x1_0000;
const OEM_ID = 'HANGAR';
const OEM_TABLE_ID = 'HANGARPC';
const CREATOR_ID = 'HNGR';

export interface AcpiOptions {
  cpus: number;
  pciHoleStart: number;
  comPorts: number;
  base?: number;
}

export interface AcpiTables {
  base: number;
  bytes: Uint8Array;
  rsdp: number;
  /** Address of each table by signature. */
  tables: Record<string, number>;
}

function ascii(dv: DataView, off: number, s: string, len: number): void {
  for (let i = 0; i < len; i++) dv.setUint8(off + i, i < s.length ? s.charCodeAt(i) : 0x20);
}

export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + bytes[i]!) & 0xff;
  return sum;
}

/** A table with the standard 36-byte header; `fill` writes the body at offset 36+. */
function table(sig: string, revision: number, bodyLength: number, fill: (dv: DataView) => void): Uint8Array {
  const t = new Uint8Array(36 + bodyLength);
  const dv = new DataView(t.buffer);
  ascii(dv, 0, sig, 4);
  dv.setUint32(4, t.length, true);
  dv.setUint8(8, revision);
  ascii(dv, 10, OEM_ID, 6);
  ascii(dv, 16, OEM_TABLE_ID, 8);
  dv.setUint32(24, 1, true);
  ascii(dv, 28, CREATOR_ID, 4);
  dv.setUint32(32, 1, true);
  fill(dv);
  t[9] = (0x100 - checksum(t)) & 0xff;
  return t;
}

/** Generic address structure (system I/O space). */
function gas(dv: DataView, off: number, port: number, bytes: number): void {
  dv.setUint8(off, 1); // system I/O
  dv.setUint8(off + 1, bytes * 8);
  dv.setUint8(off + 2, 0);
  dv.setUint8(off + 3, bytes === 1 ? 1 : bytes === 2 ? 2 : 3); // access size
  dv.setBigUint64(off + 4, BigInt(port), true);
}

function buildFadt(facs: number, dsdt: number): Uint8Array {
  return table('FACP', 3, 244 - 36, (dv) => {
    dv.setUint32(36, facs, true);
    dv.setUint32(40, dsdt, true);
    dv.setUint8(45, 0); // preferred PM profile: unspecified
    dv.setUint16(46, SCI_IRQ, true);
    dv.setUint32(48, 0, true); // no SMI command port: always in ACPI mode
    dv.setUint32(56, PM1_EVT_BLK, true);
    dv.setUint32(64, PM1_CNT_BLK, true);
    dv.setUint32(76, PM_TMR_BLK, true);
    dv.setUint8(88, 4); // PM1_EVT_LEN
    dv.setUint8(89, 2); // PM1_CNT_LEN
    dv.setUint8(91, 4); // PM_TMR_LEN
    dv.setUint16(96, 101, true); // C2 latency > 100: C2 unsupported
    dv.setUint16(98, 1001, true); // C3 latency > 1000: C3 unsupported
    dv.setUint8(108, 0x32); // RTC century register
    dv.setUint16(109, 0x0003, true); // IAPC_BOOT_ARCH: legacy devices, 8042 present
    // Flags: WBINVD, PROC_C1, SLP_BUTTON (no sleep button), RESET_REG_SUP.
    dv.setUint32(112, (1 << 0) | (1 << 2) | (1 << 5) | (1 << 10), true);
    gas(dv, 116, 0xcf9, 1); // reset register: PIIX3 reset control
    dv.setUint8(128, 0x06); // reset value: hard reset
    dv.setBigUint64(132, BigInt(facs), true);
    dv.setBigUint64(140, BigInt(dsdt), true);
    gas(dv, 148, PM1_EVT_BLK, 4);
    gas(dv, 172, PM1_CNT_BLK, 2);
    gas(dv, 208, PM_TMR_BLK, 4);
  });
}

function buildFacs(): Uint8Array {
  const t = new Uint8Array(64);
  const dv = new DataView(t.buffer);
  ascii(dv, 0, 'FACS', 4);
  dv.setUint32(4, 64, true);
  dv.setUint32(8, 0x48414e47, true); // hardware signature
  dv.setUint8(32, 2); // version
  return t;
}

function buildMadt(cpus: number): Uint8Array {
  const entries: number[] = [];
  for (let i = 0; i < cpus; i++) entries.push(0, 8, i, i, 1, 0, 0, 0); // processor local APIC, enabled
  const io = [1, 12, 0, 0, ...u32(IOAPIC_BASE), ...u32(0)];
  entries.push(...io);
  // Interrupt source overrides: IRQ0 -> GSI2 (edge, high), SCI IRQ9 -> GSI9 (level, high).
  entries.push(2, 10, 0, 0, ...u32(2), 0x00, 0x00);
  entries.push(2, 10, 0, SCI_IRQ, ...u32(SCI_IRQ), 0x0d, 0x00);
  entries.push(4, 6, 0xff, 0x00, 0x00, 1); // local APIC NMI: all processors, LINT1
  return table('APIC', 3, 8 + entries.length, (dv) => {
    dv.setUint32(36, LAPIC_BASE, true);
    dv.setUint32(40, 1, true); // PCAT_COMPAT: dual 8259s present
    entries.forEach((b, i) => dv.setUint8(44 + i, b));
  });
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function buildAcpiTables(opts: AcpiOptions): AcpiTables {
  if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > 255) {
    throw new RangeError(`ACPI: cpu count ${opts.cpus} is not 1..255`);
  }
  const base = opts.base ?? ACPI_TABLES_BASE;
  const parts: { sig: string; bytes: Uint8Array; align: number }[] = [];
  const out = new Uint8Array(ACPI_TABLES_MAX);
  let cursor = 0;
  const tables: Record<string, number> = {};
  const place = (sig: string, bytes: Uint8Array, align: number): number => {
    cursor = Math.ceil(cursor / align) * align;
    if (cursor + bytes.length > out.length) throw new RangeError('ACPI tables do not fit in 64 KiB');
    out.set(bytes, cursor);
    tables[sig] = base + cursor;
    parts.push({ sig, bytes, align });
    cursor += bytes.length;
    return base + cursor - bytes.length;
  };
  cursor = 48; // the RSDP goes first, filled in last
  const dsdtAml = dsdtBody({ pciHoleStart: opts.pciHoleStart, comPorts: opts.comPorts });
  const dsdt = place('DSDT', table('DSDT', 2, dsdtAml.length, (dv) => {
    dsdtAml.forEach((b, i) => dv.setUint8(36 + i, b));
  }), 16);
  const facs = place('FACS', buildFacs(), 64);
  const fadt = place('FACP', buildFadt(facs, dsdt), 16);
  const madt = place('APIC', buildMadt(opts.cpus), 16);
  const sdtEntries = [fadt, madt];
  const rsdt = place('RSDT', table('RSDT', 1, 4 * sdtEntries.length, (dv) => {
    sdtEntries.forEach((a, i) => dv.setUint32(36 + 4 * i, a, true));
  }), 16);
  const xsdt = place('XSDT', table('XSDT', 1, 8 * sdtEntries.length, (dv) => {
    sdtEntries.forEach((a, i) => dv.setBigUint64(36 + 8 * i, BigInt(a), true));
  }), 16);
  // RSDP (ACPI 2.0): checksum covers the first 20 bytes, extended checksum all 36.
  const dv = new DataView(out.buffer);
  ascii(dv, 0, 'RSD PTR ', 8);
  ascii(dv, 9, OEM_ID, 6);
  dv.setUint8(15, 2);
  dv.setUint32(16, rsdt, true);
  dv.setUint32(20, 36, true);
  dv.setBigUint64(24, BigInt(xsdt), true);
  out[8] = (0x100 - checksum(out, 0, 20)) & 0xff;
  out[32] = (0x100 - checksum(out, 0, 36)) & 0xff;
  tables['RSDP'] = base;
  return { base, bytes: out.slice(0, cursor), rsdp: base, tables };
}
