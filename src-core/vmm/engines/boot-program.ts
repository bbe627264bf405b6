// A tiny real-mode guest program, assembled here byte by byte, that lets the VMM be exercised
// on the real engine without an operating system: it prints HANGAR-PROGRAM-READY on COM1, then
// loops forever incrementing a counter in guest RAM (at 0x500, so save/restore can be checked),
// echoing every byte received on COM1, and powering the machine off through ACPI (PM1 control,
// SLP_TYP=5 + SLP_EN) when it sees the power button's status bit, as an OS would.
//
// It is a busy loop on purpose: the execution-cap and statistics tests need a guest that
// always wants the CPU.

export const PROGRAM_LOAD_ADDRESS = 0x7c00;
export const PROGRAM_COUNTER_ADDRESS = 0x500;
export const PROGRAM_READY_MARKER = 'HANGAR-PROGRAM-READY';

type Item = number | { rel8: string } | { abs16: string } | { label: string };

/** Two-pass assembly of bytes, labels, 8-bit relative jumps and 16-bit absolute addresses. */
function assemble(items: Item[], origin: number): Uint8Array {
  const labels = new Map<string, number>();
  let pc = origin;
  for (const it of items) {
    if (typeof it === 'number') pc++;
    else if ('label' in it) labels.set(it.label, pc);
    else if ('rel8' in it) pc++;
    else pc += 2;
  }
  const out: number[] = [];
  pc = origin;
  const addr = (l: string): number => {
    const a = labels.get(l);
    if (a === undefined) throw new Error(`boot program: unknown label ${l}`);
    return a;
  };
  for (const it of items) {
    if (typeof it === 'number') {
      out.push(it);
      pc++;
    } else if ('rel8' in it) {
      const d = addr(it.rel8) - (pc + 1);
      if (d < -128 || d > 127) throw new Error(`boot program: jump to ${it.rel8} out of range`);
      out.push(d & 0xff);
      pc++;
    } else if ('abs16' in it) {
      const a = addr(it.abs16);
      out.push(a & 0xff, a >> 8);
      pc += 2;
    }
  }
  return Uint8Array.from(out);
}

export function bootProgram(): Uint8Array {
  const msg = [...Buffer.from(`${PROGRAM_READY_MARKER}\r\n`, 'latin1'), 0];
  const c = PROGRAM_COUNTER_ADDRESS;
  return assemble([
    0xfa, //                       cli
    0x31, 0xc0, //                 xor ax, ax
    0x8e, 0xd8, //                 mov ds, ax
    0x8e, 0xd0, //                 mov ss, ax
    0xbc, 0x00, 0x7c, //           mov sp, 0x7c00
    0xfc, //                       cld
    0xbe, { abs16: 'msg' }, //     mov si, msg
    0xba, 0xf8, 0x03, //           mov dx, 0x3f8 (COM1 data)
    { label: 'print' },
    0xac, //                       lodsb
    0x84, 0xc0, //                 test al, al
    0x74, { rel8: 'loop' }, //     jz loop
    0xee, //                       out dx, al
    0xeb, { rel8: 'print' }, //    jmp print
    { label: 'loop' },
    0x66, 0xff, 0x06, c & 0xff, c >> 8, // inc dword [counter]
    0xba, 0x00, 0x06, //           mov dx, 0x600 (PM1a status)
    0xed, //                       in ax, dx
    0xf6, 0xc4, 0x01, //           test ah, 1 (PWRBTN_STS is bit 8)
    0x75, { rel8: 'off' }, //      jnz off
    0xba, 0xfd, 0x03, //           mov dx, 0x3fd (COM1 line status)
    0xec, //                       in al, dx
    0xa8, 0x01, //                 test al, 1 (data ready)
    0x74, { rel8: 'loop' }, //     jz loop
    0xba, 0xf8, 0x03, //           mov dx, 0x3f8
    0xec, //                       in al, dx
    0xee, //                       out dx, al (echo)
    0xeb, { rel8: 'loop' }, //     jmp loop
    { label: 'off' },
    0xba, 0x04, 0x06, //           mov dx, 0x604 (PM1a control)
    0xb8, 0x00, 0x34, //           mov ax, SLP_EN | (5 << 10)
    0xef, //                       out dx, ax
    { label: 'halt' },
    0xf4, //                       hlt
    0xeb, { rel8: 'halt' }, //     jmp halt
    { label: 'msg' },
    ...msg,
  ], PROGRAM_LOAD_ADDRESS);
}
