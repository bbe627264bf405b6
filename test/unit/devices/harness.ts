// Shared test rig for device unit tests: a real IoBus, a deterministic clock advanced by
// hand (1 ns per "instruction"), and IRQ lines that record what devices do with them.
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { VirtualClock } from '../../../src-core/engine/clock.ts';
import type { IrqLine } from '../../../src-core/engine/device.ts';

export class RecordingIrq implements IrqLine {
  level = false;
  edges = 0; // rising edges seen
  raise(): void {
    if (!this.level) this.edges++;
    this.level = true;
  }
  lower(): void {
    this.level = false;
  }
  pulse(): void {
    this.raise();
    this.lower();
  }
}

export class Rig {
  readonly io = new IoBus();
  readonly clock = new VirtualClock({ kind: 'deterministic', nsPerInstruction: 1 });
  private ns = 0;

  /** Move virtual time forward and fire due timers. */
  advance(ns: number): void {
    this.ns += ns;
    this.clock.setInstructionCount(this.ns);
    this.clock.poll();
  }

  in8(port: number): number {
    return this.io.read(port, 1);
  }
  out8(port: number, v: number): void {
    this.io.write(port, 1, v);
  }
  in16(port: number): number {
    return this.io.read(port, 2);
  }
  out16(port: number, v: number): void {
    this.io.write(port, 2, v);
  }
  in32(port: number): number {
    return this.io.read(port, 4);
  }
  out32(port: number, v: number): void {
    this.io.write(port, 4, v);
  }
}
