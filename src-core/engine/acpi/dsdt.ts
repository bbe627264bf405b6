// The DSDT: just enough namespace for Linux on this machine. \_S5 (soft-off sleep type, so
// `poweroff` works), the PCI root bridge with its resource windows and a static _PRT
// routing INTx to IOAPIC pins 16-19, the COM ports, and the PS/2 keyboard and mouse so
// the i8042 driver finds them through PNP.
import { S5_SLP_TYP } from '../devices/acpi-pm.ts';
import { COM_PORTS } from '../devices/uart16550.ts';
import {
  buffer, device, dwordMemory, eisaId, endTag, integer, ioPort, irqNoFlags, methodReturning, name, pkg, scope,
  string, wordSpace, type Aml,
} from './aml.ts';

/** GSI of PCI device `slot`'s interrupt pin (0 = INTA): the usual swizzle over 4 pins. */
export function pciIntxGsi(slot: number, pin: number): number {
  return 16 + ((slot + pin) & 3);
}

export interface DsdtOptions {
  /** First address of the PCI hole (the end of low RAM). */
  pciHoleStart: number;
  /** Number of COM ports to describe (1-4). */
  comPorts: number;
}

export function dsdtBody(opts: DsdtOptions): Aml {
  const prt: Aml[] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(pkg(integer(((slot << 16) | 0xffff) >>> 0), integer(pin), integer(0), integer(pciIntxGsi(slot, pin))));
    }
  }
  const pciCrs = [
    ...wordSpace(2, 0x00, 0xff),
    ...ioPort(0xcf8, 8),
    ...wordSpace(1, 0x0000, 0x0cf7),
    ...wordSpace(1, 0x0d00, 0xffff),
    ...dwordMemory(0x000a_0000, 0x000b_ffff),
    ...dwordMemory(opts.pciHoleStart, 0xfebf_ffff),
    ...endTag(),
  ];
  const coms: Aml[] = [];
  for (let i = 0; i < Math.min(4, opts.comPorts); i++) {
    const { base, irq } = COM_PORTS[i]!;
    coms.push(device(`COM${i + 1}`,
      name('_HID', eisaId('PNP0501')),
      name('_UID', integer(i + 1)),
      name('_CRS', buffer([...ioPort(base, 8), ...irqNoFlags(irq), ...endTag()])),
    ));
  }
  return [
    ...name('\\_S5', pkg(integer(S5_SLP_TYP), integer(S5_SLP_TYP), integer(0), integer(0))),
    ...scope('\\_SB',
      device('PCI0',
        name('_HID', eisaId('PNP0A03')),
        name('_ADR', integer(0)),
        name('_UID', integer(0)),
        name('_CRS', buffer(pciCrs)),
        methodReturning('_PRT', pkg(...prt)),
        device('ISA',
          name('_ADR', integer(0x0001_0000)),
          ...coms,
          device('KBD',
            name('_HID', eisaId('PNP0303')),
            name('_CRS', buffer([...ioPort(0x60, 1), ...ioPort(0x64, 1), ...irqNoFlags(1), ...endTag()])),
          ),
          device('MOU',
            name('_HID', eisaId('PNP0F13')),
            name('_CRS', buffer([...irqNoFlags(12), ...endTag()])),
          ),
          device('RTC',
            name('_HID', eisaId('PNP0B00')),
            name('_CRS', buffer([...ioPort(0x70, 2), ...irqNoFlags(8), ...endTag()])),
          ),
        ),
      ),
    ),
    ...name('\\HNGR', string('Hangar')),
  ];
}
