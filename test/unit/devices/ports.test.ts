import { describe, expect, it } from 'vitest';
import { DebugConsole } from '../../../src-core/engine/devices/debugcon.ts';
import { DebugExit } from '../../../src-core/engine/devices/debug-exit.ts';
import { Port92 } from '../../../src-core/engine/devices/port92.ts';
import { PostPort } from '../../../src-core/engine/devices/post-port.ts';
import { Rig } from './harness.ts';

describe('small ports', () => {
  it('port 0x92: fast A20 and reset on a rising edge of bit 0', () => {
    const r = new Rig();
    const p = new Port92(r.io);
    const ev: string[] = [];
    p.onReset = () => ev.push('reset');
    p.onA20 = (on) => ev.push(`a20:${on}`);
    expect(r.in8(0x92)).toBe(0x02);
    r.out8(0x92, 0x00);
    expect(p.a20).toBe(false);
    r.out8(0x92, 0x03);
    expect(ev).toEqual(['a20:false', 'a20:true', 'reset']);
    const s = p.saveState();
    const r2 = new Rig();
    const p2 = new Port92(r2.io);
    p2.loadState(s);
    expect(r2.in8(0x92)).toBe(0x03);
  });

  it('port 0x80 keeps the last POST code and reports each write', () => {
    const r = new Rig();
    const p = new PostPort(r.io);
    const codes: number[] = [];
    p.onCode = (c) => codes.push(c);
    r.out8(0x80, 0x12);
    r.out8(0x80, 0x34);
    expect(codes).toEqual([0x12, 0x34]);
    expect(r.in8(0x80)).toBe(0x34);
    expect(p.saveState()).toEqual({ lastCode: 0x34, writes: 2 });
  });

  it('port 0xE9 debug console forwards bytes and identifies itself', () => {
    const r = new Rig();
    const d = new DebugConsole(r.io);
    const out: number[] = [];
    d.onOutput = (b) => out.push(b);
    for (const c of 'ok') r.out8(0xe9, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('ok');
    expect(r.in8(0xe9)).toBe(0xe9);
  });

  it('debug-exit port reports (value << 1) | 1', () => {
    const r = new Rig();
    const d = new DebugExit(r.io);
    let status = -1;
    d.onExit = (s) => (status = s);
    r.out8(0x501, 0x10);
    expect(status).toBe(0x21);
  });
});
