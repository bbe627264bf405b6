// The e820 memory map handed to the kernel. It must agree with what the machine actually
// maps: RAM below the EBDA, the EBDA and the legacy 0xA0000-0xFFFFF window reserved (ACPI
// tables live at 0xE0000), RAM from 1 MiB to the end of low RAM, the IOAPIC/LAPIC/BIOS area
// below 4 GiB reserved, and any RAM moved above 4 GiB.
import { FOUR_GIB } from '../bus-memory.ts';

export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

export const EBDA_START = 0x9fc00;
export const HIGH_MEMORY = 0x100000;

export function buildE820(lowRamEnd: number, highRamEnd: number): E820Entry[] {
  if (lowRamEnd < 2 * HIGH_MEMORY) throw new RangeError(`guest needs at least 2 MiB of RAM, has ${lowRamEnd} bytes`);
  const map: E820Entry[] = [
    { addr: 0, size: EBDA_START, type: E820_RAM },
    { addr: EBDA_START, size: 0xa0000 - EBDA_START, type: E820_RESERVED },
    { addr: 0xe0000, size: 0x20000, type: E820_RESERVED },
    { addr: HIGH_MEMORY, size: lowRamEnd - HIGH_MEMORY, type: E820_RAM },
    // IOAPIC (0xFEC00000), LAPIC (0xFEE00000) and the BIOS flash alias up to 4 GiB.
    { addr: 0xfec0_0000, size: FOUR_GIB - 0xfec0_0000, type: E820_RESERVED },
  ];
  if (highRamEnd > FOUR_GIB) map.push({ addr: FOUR_GIB, size: highRamEnd - FOUR_GIB, type: E820_RAM });
  return map;
}
