// Execution cap: the VM process runs the guest in time slices and sleeps between them so its
// busy time is `cap` percent of wall time. The governor keeps a running account over a short
// window (so a late timer or a long slice is paid back in the next sleep rather than lost)
// and restarts the window now and then so an old debt does not distort the present.
export class CapGovernor {
  private busyMs = 0;
  private windowStart: number;

  constructor(private capPercent: number, now = performance.now(), private readonly windowMs = 1000) {
    this.setCap(capPercent);
    this.windowStart = now;
  }

  setCap(capPercent: number): void {
    if (!(capPercent >= 1 && capPercent <= 100)) throw new RangeError(`execution cap must be 1-100 percent, got ${capPercent}`);
    this.capPercent = capPercent;
  }

  get cap(): number {
    return this.capPercent;
  }

  /** Wall-clock length of one run slice. Short slices keep the duty cycle smooth. */
  sliceMs(): number {
    return this.capPercent >= 100 ? 20 : Math.max(2, Math.min(20, this.capPercent / 2));
  }

  /**
   * A slice ran for `busyMs`; returns how long to sleep now (0 at cap 100). `now` is the time
   * the slice ended.
   */
  afterSlice(busyMs: number, now = performance.now()): number {
    if (this.capPercent >= 100) return 0;
    const f = this.capPercent / 100;
    let elapsed = now - this.windowStart;
    if (elapsed > this.windowMs) {
      // Start a new window carrying any sleep still owed; unused credit is dropped so a VM
      // that idled cannot burst above its cap afterwards.
      const owed = this.busyMs / f - elapsed;
      // The new window starts where this slice started.
      this.windowStart = now - busyMs;
      this.busyMs = Math.max(0, owed) * f;
      elapsed = busyMs;
    }
    this.busyMs += busyMs;
    return Math.max(0, this.busyMs / f - elapsed);
  }
}
