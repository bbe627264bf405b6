import { describe, expect, it } from 'vitest';
import { I8042 } from '../../../src-core/engine/devices/i8042.ts';
import { RecordingIrq, Rig } from './harness.ts';

function setup() {
  const r = new Rig();
  const kbd = new RecordingIrq();
  const aux = new RecordingIrq();
  const dev = new I8042(r.io, kbd, aux);
  const events: string[] = [];
  dev.hooks = { onReset: () => events.push('reset'), onA20: (on) => events.push(`a20:${on}`) };
  const drain = () => {
    const out: number[] = [];
    while (r.in8(0x64) & 1) out.push(r.in8(0x60));
    return out;
  };
  return { r, kbd, aux, dev, events, drain };
}

describe('i8042 PS/2 controller', () => {
  it('passes the controller self test and reads the command byte', () => {
    const { r, drain } = setup();
    r.out8(0x64, 0xaa);
    expect(drain()).toEqual([0x55]);
    r.out8(0x64, 0x20);
    expect(drain()).toEqual([0x47]);
  });

  it('keyboard reset and identify answer like an MF2 keyboard, with IRQ1', () => {
    const { r, kbd, drain } = setup();
    r.out8(0x60, 0xff);
    expect(kbd.level).toBe(true);
    expect(drain()).toEqual([0xfa, 0xaa]);
    expect(kbd.level).toBe(false);
    r.out8(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
  });

  it('translates set-2 key events to set 1 when translation is on', () => {
    const { dev, drain } = setup();
    dev.keyboardInput([0x1c, 0xf0, 0x1c]); // 'A' press and release
    expect(drain()).toEqual([0x1e, 0x9e]);
  });

  it('mouse commands go through 0xD4 and answer on IRQ12 with the AUX bit', () => {
    const { r, aux, dev, drain } = setup();
    r.out8(0x64, 0xd4);
    r.out8(0x60, 0xf2);
    expect(aux.level).toBe(true);
    expect(r.in8(0x64) & 0x21).toBe(0x21);
    expect(drain()).toEqual([0xfa, 0x00]);
    r.out8(0x64, 0xd4);
    r.out8(0x60, 0xf4); // enable reporting
    drain();
    dev.mouseInput(5, -3, 1);
    expect(drain()).toEqual([0x08 | 0x20 | 1, 5, 0xfd]);
  });

  it('AUX loopback (0xD3) lands in the buffer as mouse data, as Linux probes it', () => {
    const { r, aux, drain } = setup();
    r.out8(0x64, 0xd3);
    r.out8(0x60, 0x5a);
    expect(aux.level).toBe(true);
    expect(drain()).toEqual([0x5a]);
  });

  it('command byte write controls interrupts', () => {
    const { r, kbd, drain } = setup();
    r.out8(0x64, 0x60);
    r.out8(0x60, 0x44); // no IRQs
    r.out8(0x64, 0xd2);
    r.out8(0x60, 0x11);
    expect(kbd.level).toBe(false);
    expect(drain()).toEqual([0x11]);
  });

  it('0xFE pulses reset; output port write controls A20 and reset', () => {
    const { r, events, dev } = setup();
    r.out8(0x64, 0xfe);
    expect(events).toEqual(['reset']);
    r.out8(0x64, 0xd1);
    r.out8(0x60, 0x01); // A20 off, reset line high
    expect(dev.a20).toBe(false);
    r.out8(0x64, 0xdf);
    expect(dev.a20).toBe(true);
    expect(events).toEqual(['reset', 'a20:false', 'a20:true']);
  });

  it('saves and restores the output buffer', () => {
    const { r, dev } = setup();
    r.out8(0x60, 0xf2);
    const s = structuredClone(dev.saveState());
    const r2 = new Rig();
    const d2 = new I8042(r2.io, new RecordingIrq(), new RecordingIrq());
    d2.loadState(s);
    expect([r2.in8(0x60), r2.in8(0x60), r2.in8(0x60)]).toEqual([0xfa, 0xab, 0x83]);
  });
});
