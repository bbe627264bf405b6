// The contract every emulated device follows. State is a structured-cloneable value
// (plain objects, arrays, numbers, strings, booleans, bigint, typed arrays) so snapshots can
// serialise it with v8.serialize and migration can ship it unchanged.

export type DeviceState = Record<string, unknown>;

export interface Snapshottable {
  saveState(): DeviceState;
  loadState(state: DeviceState): void;
}

export interface Device extends Snapshottable {
  /** Stable name, used as the key of the device's state in a snapshot. */
  readonly name: string;
  /** Back to power-on state (machine reset). */
  reset(): void;
}

/**
 * What a CPU asks for maskable interrupts. The machine wires the local APIC here (which in
 * turn sees the 8259 PIC through LINT0 when in virtual-wire mode).
 */
export interface InterruptSource {
  /** True when an interrupt is deliverable, ignoring the CPU's IF flag. */
  hasInterrupt(): boolean;
  /** INTA cycle: returns the vector and marks it in service. */
  acknowledge(): number;
}

/** A level or edge interrupt line from a device to an interrupt controller. */
export interface IrqLine {
  raise(): void;
  lower(): void;
  /** A rising then falling edge. */
  pulse(): void;
}
