import { describe, expect, it } from 'vitest';
import { buildAcpiTables, checksum } from '../../../src-core/engine/acpi/tables.ts';
import { eisaId, integer, nameString, pkgLength } from '../../../src-core/engine/acpi/aml.ts';

const t = buildAcpiTables({ cpus: 2, pciHoleStart: 0x2000_0000, comPorts: 4 });
const dv = new DataView(t.bytes.buffer);
const at = (addr: number) => addr - t.base;
const sig = (addr: number) => String.fromCharCode(...t.bytes.subarray(at(addr), at(addr) + 4));
const len = (addr: number) => dv.getUint32(at(addr) + 4, true);

describe('AML encoder', () => {
  it('encodes package lengths in 1 to 3 bytes', () => {
    expect(pkgLength(10)).toEqual([11]);
    expect(pkgLength(62)).toEqual([63]);
    expect(pkgLength(63)).toEqual([0x41, 0x04]); // 65 total
    expect(pkgLength(5000)).toEqual([0x8b, 0x38, 0x01]); // 5003 = 0x138b
  });

  it('encodes integers with the smallest prefix', () => {
    expect(integer(0)).toEqual([0]);
    expect(integer(1)).toEqual([1]);
    expect(integer(5)).toEqual([0x0a, 5]);
    expect(integer(0x1234)).toEqual([0x0b, 0x34, 0x12]);
    expect(integer(0x0001ffff)).toEqual([0x0c, 0xff, 0xff, 0x01, 0x00]);
  });

  it('encodes names and EISA ids as ACPICA does', () => {
    expect(nameString('\\_SB.PCI0')).toEqual([0x5c, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50, 0x43, 0x49, 0x30]);
    expect(eisaId('PNP0A03')).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(() => nameString('toolong')).toThrow(/segment/);
  });
});

describe('ACPI tables', () => {
  it('RSDP has both checksums right and points at RSDT and XSDT', () => {
    expect(String.fromCharCode(...t.bytes.subarray(0, 8))).toBe('RSD PTR ');
    expect(checksum(t.bytes, 0, 20)).toBe(0);
    expect(checksum(t.bytes, 0, 36)).toBe(0);
    expect(dv.getUint8(15)).toBe(2);
    expect(sig(dv.getUint32(16, true))).toBe('RSDT');
    expect(sig(Number(dv.getBigUint64(24, true)))).toBe('XSDT');
  });

  it('every table checksums to zero', () => {
    for (const name of ['RSDT', 'XSDT', 'FACP', 'APIC', 'DSDT']) {
      const a = t.tables[name]!;
      expect(sig(a)).toBe(name);
      expect(checksum(t.bytes, at(a), at(a) + len(a))).toBe(0);
    }
  });

  it('XSDT lists the FADT and MADT; the FADT points at DSDT, FACS and the PM blocks', () => {
    const x = t.tables['XSDT']!;
    const entries = (len(x) - 36) / 8;
    const listed = Array.from({ length: entries }, (_, i) => sig(Number(dv.getBigUint64(at(x) + 36 + 8 * i, true))));
    expect(listed).toEqual(['FACP', 'APIC']);
    const f = at(t.tables['FACP']!);
    expect(len(t.tables['FACP']!)).toBe(244);
    expect(dv.getUint32(f + 40, true)).toBe(t.tables['DSDT']);
    expect(dv.getUint32(f + 36, true) % 64).toBe(0); // FACS 64-byte aligned
    expect(dv.getUint16(f + 46, true)).toBe(9); // SCI
    expect(dv.getUint32(f + 56, true)).toBe(0x600);
    expect(dv.getUint32(f + 64, true)).toBe(0x604);
    expect(dv.getUint32(f + 76, true)).toBe(0x608);
    expect(dv.getUint16(f + 109, true) & 2).toBe(2); // 8042 present
  });

  it('MADT has one enabled local APIC per CPU, the IOAPIC and the IRQ0->GSI2 override', () => {
    const m = at(t.tables['APIC']!);
    expect(dv.getUint32(m + 36, true)).toBe(0xfee00000);
    const types: number[] = [];
    let off = m + 44;
    const end = m + len(t.tables['APIC']!);
    const overrides: [number, number][] = [];
    while (off < end) {
      const type = t.bytes[off]!;
      types.push(type);
      if (type === 1) expect(dv.getUint32(off + 4, true)).toBe(0xfec00000);
      if (type === 2) overrides.push([t.bytes[off + 3]!, dv.getUint32(off + 4, true)]);
      off += t.bytes[off + 1]!;
    }
    expect(off).toBe(end);
    expect(types).toEqual([0, 0, 1, 2, 2, 4]);
    expect(overrides).toEqual([[0, 2], [9, 9]]);
  });

  it('DSDT defines \\_S5 as a package carrying the soft-off sleep type', () => {
    const d = at(t.tables['DSDT']!);
    const body = Array.from(t.bytes.subarray(d + 36, d + len(t.tables['DSDT']!)));
    // NameOp, "\_S5_", PackageOp, PkgLength, 4 elements, BytePrefix 5 ...
    expect(body.slice(0, 11)).toEqual([0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, 0x05]);
  });

  it('rejects impossible CPU counts', () => {
    expect(() => buildAcpiTables({ cpus: 0, pciHoleStart: 0x2000_0000, comPorts: 1 })).toThrow(/cpu count/);
  });
});
