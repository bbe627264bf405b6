import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../../src-core/engine/devices/uart16550.ts';
import { RecordingIrq, Rig } from './harness.ts';

const COM1 = 0x3f8;

function setup() {
  const r = new Rig();
  const irq = new RecordingIrq();
  const uart = new Uart16550(r.io, r.clock, irq, COM1, 0);
  const out: number[] = [];
  uart.onTransmit = (b) => out.push(b);
  return { r, irq, uart, out };
}

describe('16550A UART', () => {
  it('transmits bytes written to THR and reports THR empty', () => {
    const { r, out } = setup();
    for (const c of 'hi\n') r.out8(COM1, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('hi\n');
    expect(r.in8(COM1 + 5) & 0x60).toBe(0x60);
  });

  it('divisor latch access via DLAB', () => {
    const { r } = setup();
    r.out8(COM1 + 3, 0x80);
    r.out8(COM1, 0x01);
    r.out8(COM1 + 1, 0x00);
    expect(r.in8(COM1)).toBe(0x01);
    r.out8(COM1 + 3, 0x03);
    expect(r.in8(COM1 + 3)).toBe(0x03);
  });

  it('looks like a 16550A to the Linux probe: scratch, FIFO bits, loopback modem lines', () => {
    const { r, out } = setup();
    r.out8(COM1 + 7, 0xa5);
    expect(r.in8(COM1 + 7)).toBe(0xa5);
    r.out8(COM1 + 2, 0x01); // enable FIFO
    expect(r.in8(COM1 + 2) & 0xc0).toBe(0xc0);
    r.out8(COM1 + 3, 0xbf); // probe for 64-byte FIFO (16750) with DLAB set
    r.out8(COM1 + 2, 0x21);
    r.out8(COM1 + 3, 0x03);
    expect(r.in8(COM1 + 2) & 0x20).toBe(0); // no 64-byte FIFO: a 16550A
    r.out8(COM1 + 4, 0x1a); // loopback with RTS and OUT2
    expect(r.in8(COM1 + 6) & 0xf0).toBe(0x90); // CTS and DCD
    r.out8(COM1 + 4, 0x1f);
    expect(r.in8(COM1 + 6) & 0xf0).toBe(0xf0);
    r.out8(COM1, 0x41); // loopback: TX goes to RX, not the host
    expect(out).toEqual([]);
    expect(r.in8(COM1 + 5) & 1).toBe(1);
    expect(r.in8(COM1)).toBe(0x41);
  });

  it('receive FIFO raises the data interrupt at the trigger level and drains in order', () => {
    const { r, irq, uart } = setup();
    r.out8(COM1 + 2, 0x81); // FIFO on, trigger 8
    r.out8(COM1 + 4, 0x08); // OUT2 (IRQ enable on PCs)
    r.out8(COM1 + 1, 0x01); // RX data interrupt
    uart.receive([1, 2, 3, 4, 5, 6, 7]);
    expect(irq.level).toBe(false);
    uart.receive([8]);
    expect(irq.level).toBe(true);
    expect(r.in8(COM1 + 2) & 0x0f).toBe(0x04);
    const got: number[] = [];
    while (r.in8(COM1 + 5) & 1) got.push(r.in8(COM1));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(irq.level).toBe(false);
  });

  it('character timeout interrupt for data below the trigger level', () => {
    const { r, irq, uart } = setup();
    r.out8(COM1 + 2, 0xc1); // trigger 14
    r.out8(COM1 + 4, 0x08);
    r.out8(COM1 + 1, 0x01);
    uart.receive([0x61]);
    expect(irq.level).toBe(false);
    r.advance(10e6); // 9600 baud: 4 chars ~ 4.2 ms
    expect(irq.level).toBe(true);
    expect(r.in8(COM1 + 2) & 0x0f).toBe(0x0c);
    expect(r.in8(COM1)).toBe(0x61);
    expect(irq.level).toBe(false);
  });

  it('holds host input beyond the FIFO instead of dropping it', () => {
    const { r, uart } = setup();
    r.out8(COM1 + 2, 0x01);
    const data = Array.from({ length: 40 }, (_, i) => i);
    uart.receive(data);
    expect(uart.pendingInput).toBe(24);
    const got: number[] = [];
    while (r.in8(COM1 + 5) & 1) got.push(r.in8(COM1));
    expect(got).toEqual(data);
  });

  it('THR-empty interrupt fires on enable and is acknowledged by reading IIR', () => {
    const { r, irq } = setup();
    r.out8(COM1 + 4, 0x08);
    r.out8(COM1 + 1, 0x02);
    expect(irq.level).toBe(true);
    expect(r.in8(COM1 + 2) & 0x0f).toBe(0x02);
    expect(irq.level).toBe(false);
    expect(r.in8(COM1 + 2) & 0x0f).toBe(0x01);
    r.out8(COM1, 0x20);
    expect(irq.level).toBe(true);
  });

  it('modem status interrupt on input line changes; reading MSR clears deltas', () => {
    const { r, irq, uart } = setup();
    r.out8(COM1 + 4, 0x08);
    r.out8(COM1 + 1, 0x08);
    uart.setModemInputs({ cts: false });
    expect(irq.level).toBe(true);
    expect(r.in8(COM1 + 6) & 0x1f).toBe(0x01); // DCTS set, CTS low
    expect(irq.level).toBe(false);
  });

  it('no interrupt without OUT2', () => {
    const { r, irq, uart } = setup();
    r.out8(COM1 + 1, 0x01);
    uart.receive([1]);
    expect(irq.level).toBe(false);
  });

  it('saves and restores FIFO contents and registers', () => {
    const { r, uart } = setup();
    r.out8(COM1 + 2, 0x01);
    r.out8(COM1 + 7, 0x42);
    uart.receive([9, 8, 7]);
    const s = structuredClone(uart.saveState());
    const r2 = new Rig();
    const u2 = new Uart16550(r2.io, r2.clock, new RecordingIrq(), COM1, 0);
    u2.loadState(s);
    expect(r2.in8(COM1 + 7)).toBe(0x42);
    expect([r2.in8(COM1), r2.in8(COM1), r2.in8(COM1)]).toEqual([9, 8, 7]);
  });
});
