// The contract between the machine (devices, boot loader, VMM) and a CPU backend. The
// TypeScript interpreter implements it; a KVM backend will implement the same thing.
import type { InterruptSource, Snapshottable } from './device.ts';

export interface SegmentSetup {
  selector: number;
  base: number;
  limit: number;
  /** Descriptor attribute bits as in a descriptor's bytes 5-6 (type, S, DPL, P, AVL, L, D/B, G). */
  attributes: number;
}

/** Register state a boot loader hands over (Linux boot protocol entries, firmware reset). */
export interface BootCpuState {
  mode: 'real' | 'protected32' | 'long64';
  rip: number;
  rsp?: number;
  rsi?: number;
  rbx?: number;
  rbp?: number;
  rdi?: number;
  cr0?: number;
  cr3?: number;
  cr4?: number;
  efer?: number;
  gdt?: { base: number; limit: number };
  idt?: { base: number; limit: number };
  cs?: SegmentSetup;
  /** Applied to DS, ES, SS, FS, GS. */
  data?: SegmentSetup;
}

export interface CpuCore extends Snapshottable {
  /** Power-on / INIT state (real mode at F000:FFF0). */
  reset(): void;
  setBootState(state: BootCpuState): void;
  /**
   * Execute at most `budget` instructions. Returns how many ran. Returns early when the CPU
   * halts (HLT with nothing to wake it) or when requestExit() was called.
   */
  run(budget: number): number;
  readonly halted: boolean;
  /** Instructions retired since reset (drives the deterministic clock). */
  readonly instructionCount: number;
  setInterruptSource(src: InterruptSource): void;
  /** A device raised an interrupt: wake from HLT and re-check at the next boundary. */
  notifyInterrupt(): void;
  raiseNmi(): void;
  /** Ask run() to return at the next instruction boundary (called by devices, timers). */
  requestExit(): void;
}
