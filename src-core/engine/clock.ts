// The machine's one virtual clock. Every device timer (PIT, RTC, LAPIC timer, UART timeouts,
// PM timer) reads time and schedules events here, so all of them agree on "now" and a
// snapshot only has to save one number.
//
// Two modes:
//  - realtime: virtual time follows the host's monotonic clock while the machine runs;
//  - deterministic: virtual time is instructionCount * nsPerInstruction plus the time skipped
//    while the CPU was halted, so the same guest and input give the same run every time.
//
// Time is a float64 count of nanoseconds: exact to the nanosecond for ~104 days of guest time.

export type ClockMode = { kind: 'realtime' } | { kind: 'deterministic'; nsPerInstruction: number };

/** Called with the deadline the timer was due at (periodic devices schedule from it). */
export type TimerCallback = (deadlineNs: number) => void;

/** One scheduled event. A device owns its timers and re-arms them; `deadline` is -1 when idle. */
export class ClockTimer {
  deadline = -1;
  constructor(
    private readonly clock: VirtualClock,
    readonly name: string,
    readonly callback: TimerCallback,
  ) {}

  /** Fire at absolute virtual time `ns` (in the past means: at the next poll). */
  setAt(ns: number): void {
    this.deadline = ns;
    this.clock.timerChanged();
  }

  setIn(deltaNs: number): void {
    this.setAt(this.clock.now() + Math.max(0, deltaNs));
  }

  cancel(): void {
    if (this.deadline < 0) return;
    this.deadline = -1;
    this.clock.timerChanged();
  }

  get armed(): boolean {
    return this.deadline >= 0;
  }
}

export class VirtualClock {
  readonly mode: ClockMode;
  private readonly timers: ClockTimer[] = [];
  // Realtime: host time (ns) at which virtual time was `baseNs`; null while paused.
  private hostAnchor: number | null = null;
  private baseNs = 0;
  // Deterministic: instructions seen so far and the ns added for halted stretches.
  private instructions = 0;
  private skippedNs = 0;
  private counter: (() => number) | null = null;
  private cachedNext = -1;
  private nextDirty = true;

  constructor(mode: ClockMode = { kind: 'realtime' }) {
    if (mode.kind === 'deterministic' && !(mode.nsPerInstruction > 0)) {
      throw new RangeError(`deterministic clock needs nsPerInstruction > 0, got ${mode.nsPerInstruction}`);
    }
    this.mode = mode;
  }

  static hostNs(): number {
    return Number(process.hrtime.bigint());
  }

  /** Current virtual time in nanoseconds since power-on. */
  now(): number {
    if (this.mode.kind === 'deterministic') {
      const n = this.counter ? this.counter() : this.instructions;
      return n * this.mode.nsPerInstruction + this.skippedNs;
    }
    if (this.hostAnchor === null) return this.baseNs;
    return this.baseNs + (VirtualClock.hostNs() - this.hostAnchor);
  }

  /** Realtime mode: start following host time (the machine calls this when it runs). */
  resume(): void {
    if (this.mode.kind === 'realtime' && this.hostAnchor === null) this.hostAnchor = VirtualClock.hostNs();
  }

  /** Realtime mode: freeze virtual time (machine paused). */
  pause(): void {
    if (this.mode.kind === 'realtime' && this.hostAnchor !== null) {
      this.baseNs = this.now();
      this.hostAnchor = null;
    }
  }

  /** Deterministic mode: the CPU has retired `total` instructions since power-on. */
  setInstructionCount(total: number): void {
    this.instructions = total;
  }

  /**
   * Deterministic mode: read the instruction count live from the CPU, so a device polled in
   * the middle of a slice (PIT counter, PM timer) sees time advance instruction by instruction.
   */
  attachInstructionCounter(counter: () => number): void {
    this.counter = counter;
  }

  /**
   * The instruction counter is about to restart from zero (CPU reset): keep the time it
   * accounted for so virtual time never runs backwards.
   */
  foldInstructions(): void {
    if (this.mode.kind !== 'deterministic') return;
    const n = this.counter ? this.counter() : this.instructions;
    this.skippedNs += n * this.mode.nsPerInstruction;
    this.instructions = 0;
  }

  /**
   * The CPU is halted with nothing pending: in deterministic mode jump virtual time to `ns`
   * (the next deadline); in realtime mode there is nothing to do but wait.
   */
  skipTo(ns: number): void {
    if (this.mode.kind !== 'deterministic') return;
    const now = this.now();
    if (ns > now) this.skippedNs += ns - now;
  }

  createTimer(name: string, callback: TimerCallback): ClockTimer {
    const t = new ClockTimer(this, name, callback);
    this.timers.push(t);
    return t;
  }

  /** @internal called by ClockTimer */
  timerChanged(): void {
    this.nextDirty = true;
  }

  /** Earliest armed deadline, or -1 if no timer is armed. */
  nextDeadline(): number {
    if (!this.nextDirty) return this.cachedNext;
    let best = -1;
    for (const t of this.timers) {
      if (t.deadline >= 0 && (best < 0 || t.deadline < best)) best = t.deadline;
    }
    this.cachedNext = best;
    this.nextDirty = false;
    return best;
  }

  /** Run every timer whose deadline has passed, earliest first. Returns how many fired. */
  poll(): number {
    let fired = 0;
    // A callback may re-arm its own timer in the past (catch-up); bound the loop so a
    // misbehaving device cannot hang the machine.
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.nextDeadline();
      if (next < 0) break;
      const now = this.now();
      if (next > now) break;
      let due: ClockTimer | undefined;
      for (const t of this.timers) {
        if (t.deadline >= 0 && t.deadline <= now && (!due || t.deadline < due.deadline)) due = t;
      }
      if (!due) break;
      const at = due.deadline;
      due.deadline = -1;
      this.nextDirty = true;
      due.callback(at);
      fired++;
    }
    return fired;
  }

  saveState(): { now: number; instructions: number; skippedNs: number } {
    return { now: this.now(), instructions: this.instructions, skippedNs: this.skippedNs };
  }

  /** Restores time; timers are restored by their owning devices. */
  loadState(s: { now: number; instructions: number; skippedNs: number }): void {
    if (this.mode.kind === 'deterministic') {
      this.instructions = s.instructions;
      this.skippedNs = s.skippedNs;
    } else {
      const running = this.hostAnchor !== null;
      this.baseNs = s.now;
      this.hostAnchor = running ? VirtualClock.hostNs() : null;
    }
    this.nextDirty = true;
  }
}
