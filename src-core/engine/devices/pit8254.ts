// Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC's port 0x61, which
// gates channel 2 and reads back its output. Linux programs channel 0 for the tick and
// calibrates the TSC with channel 2 (gate via 0x61, polling OUT2 or the counter MSB), so
// counter reads must move smoothly with the virtual clock.
//
// Counters are computed from the time they were loaded rather than ticked: reading the count
// at any moment costs one multiplication. BCD counting is accepted but counts in binary.
//
// Late ticks. In realtime mode the host may deschedule the emulator for tens of milliseconds;
// when it runs again several channel-0 periods are due at once, and pulsing IRQ0 for each of
// them in a row merges them into one request in the PIC/APIC. Early Linux counts jiffies from
// these interrupts (its IO-APIC timer check wants more than 4 in ~40 ms, the clocksource
// watchdog compares against them), so instead the missed periods are owed and re-delivered
// one at a time, each after the guest acknowledged the previous one (8259 INTA or local APIC
// EOI of the IOAPIC pin's vector; the machine calls tickAcknowledged), as KVM's PIT does.
// An owed tick goes out at the clock poll after that acknowledgement, which ends the current
// CPU slice, never inside it: so the guest gets at most one owed tick per slice (at most about
// twice the programmed rate) and a guest slower than real time still makes progress between
// ticks. At most 100 ms of ticks are owed.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { ClockTimer, VirtualClock } from '../clock.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';

export const PIT_HZ = 1_193_182;
const NS_PER_S = 1e9;
/** DRAM refresh request toggles every 15.085 us (port 0x61 bit 4). */
const REFRESH_NS = 15_085;
/** At most this much missed time is owed to the guest; beyond it ticks are dropped. */
const MAX_OWED_NS = 100e6;

class Channel {
  mode = 0;
  access = 3; // 1 lsb, 2 msb, 3 lsb then msb
  bcd = false;
  reload = 0x10000; // N; a written 0 means 65536
  loadTime = 0; // ns when counting (re)started from `reload`
  counting = false; // false: waiting for a count or a gate trigger, or paused by gate
  frozen = 0; // count held while paused (modes 0/4 with gate low)
  gate = true;
  writeLow = true; // next write of an lsb/msb pair is the lsb
  readLow = true;
  partial = 0;
  latched = -1; // latched count, -1 when none
  latchedHigh = false; // next read of a latched lsb/msb pair returns the msb
  status = -1; // latched status byte, -1 when none
  nullCount = true;

  ticks(now: number): number {
    return Math.floor(((now - this.loadTime) * PIT_HZ) / NS_PER_S);
  }

  /** Counter value now (what a latch would capture). */
  count(now: number): number {
    if (!this.counting) return this.frozen & 0xffff;
    const n = this.reload;
    const e = this.ticks(now);
    switch (this.mode) {
      case 2:
        return n - (e % n);
      case 3: {
        const half = Math.ceil(n / 2);
        const phase = e % n;
        return (phase < half ? n - 2 * phase : n - 2 * (phase - half)) & 0xfffe;
      }
      default: // 0, 1, 4, 5 count down once and keep wrapping through 0xffff
        return (((n - e) % 0x10000) + 0x10000) % 0x10000;
    }
  }

  /** Output pin level now. */
  out(now: number): boolean {
    if (!this.counting) {
      // Mode 0 output stays low until terminal count, others idle high.
      return this.mode === 0 ? this.nullCount === false && this.frozen === 0 : true;
    }
    const n = this.reload;
    const e = this.ticks(now);
    switch (this.mode) {
      case 0:
      case 1:
        return e >= n;
      case 2:
        return e % n !== n - 1;
      case 3:
        return e % n < Math.ceil(n / 2);
      default: // 4, 5: one-tick low pulse at terminal count
        return e !== n;
    }
  }

  /** Tick count (since loadTime) of the next rising edge of OUT after `now`, or -1. */
  nextRisingTick(now: number): number {
    if (!this.counting) return -1;
    const n = this.reload;
    const e = this.ticks(now);
    switch (this.mode) {
      case 0:
      case 1:
        return e < n ? n : -1;
      case 2:
      case 3:
        return (Math.floor(e / n) + 1) * n;
      default:
        return e < n + 1 ? n + 1 : -1;
    }
  }
}

export class Pit implements Device {
  readonly name = 'pit';
  readonly channels = [new Channel(), new Channel(), new Channel()];
  private speakerData = false;
  private port61Low = 0; // bits 2-3 of port 0x61 as last written
  private readonly timer: ClockTimer;
  private readonly owedTimer: ClockTimer;
  /** Channel-0 periods that fell due while the emulator was not running, not yet delivered. */
  owedTicks = 0;
  /** Virtual time of the last IRQ0 pulse the guest has not acknowledged yet, or -1. */
  private unackedSince = -1;

  constructor(
    io: IoBus,
    private readonly clock: VirtualClock,
    private readonly irq0: IrqLine,
  ) {
    this.timer = clock.createTimer('pit-ch0', (now) => this.channel0Edge(now));
    this.owedTimer = clock.createTimer('pit-owed', () => this.deliverOwed());
    io.register(0x40, 4, {
      read: (port: number, _s: IoSize) => this.readCounter(port - 0x40),
      write: (port: number, _s: IoSize, v: number) => {
        if (port === 0x43) this.writeControl(v & 0xff);
        else this.writeCounter(port - 0x40, v & 0xff);
      },
    }, 'pit');
    io.register(0x61, 1, {
      read: () => this.readPort61(),
      write: (_p: number, _s: IoSize, v: number) => this.writePort61(v & 0xff),
    }, 'port61');
    this.reset();
  }

  reset(): void {
    for (let i = 0; i < 3; i++) this.channels[i] = new Channel();
    this.channels[2]!.gate = false;
    this.speakerData = false;
    this.port61Low = 0;
    this.timer.cancel();
    this.owedTimer.cancel();
    this.owedTicks = 0;
    this.unackedSince = -1;
  }

  private now(): number {
    return this.clock.now();
  }

  private writeControl(v: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      // Read-back: bit 5 clear latches counts, bit 4 clear latches status.
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        const ch = this.channels[i]!;
        if (!(v & 0x20) && ch.latched < 0) this.latch(ch);
        if (!(v & 0x10) && ch.status < 0) {
          ch.status = ((ch.out(this.now()) ? 0x80 : 0) | (ch.nullCount ? 0x40 : 0) | (ch.access << 4) |
            (ch.mode << 1) | (ch.bcd ? 1 : 0));
        }
      }
      return;
    }
    const ch = this.channels[sel]!;
    const access = (v >> 4) & 3;
    if (access === 0) {
      if (ch.latched < 0) this.latch(ch);
      return;
    }
    ch.access = access;
    ch.mode = (v >> 1) & 7;
    if (ch.mode > 5) ch.mode -= 4; // 6 and 7 alias 2 and 3
    ch.bcd = (v & 1) !== 0;
    ch.counting = false;
    ch.frozen = 0;
    ch.nullCount = true;
    ch.writeLow = true;
    ch.readLow = true;
    ch.latched = -1;
    ch.status = -1;
    if (sel === 0) this.reprogrammed();
  }

  private latch(ch: Channel): void {
    ch.latched = ch.count(this.now());
    ch.latchedHigh = false;
  }

  private writeCounter(i: number, v: number): void {
    const ch = this.channels[i]!;
    let value: number;
    if (ch.access === 1) value = v;
    else if (ch.access === 2) value = v << 8;
    else if (ch.writeLow) {
      ch.partial = v;
      ch.writeLow = false;
      // Mode 0: writing the first byte stops the count (8254 data sheet).
      if (ch.mode === 0 && ch.counting) {
        ch.frozen = ch.count(this.now());
        ch.counting = false;
      }
      return;
    } else {
      value = ch.partial | (v << 8);
      ch.writeLow = true;
    }
    ch.reload = value === 0 ? 0x10000 : value;
    ch.nullCount = false;
    if (i === 0) this.owedTicks = 0; // a new count: ticks owed at the old rate are void
    // Modes 1 and 5 wait for a gate edge; the others start when the count is written
    // (mode 2/3 reloads on the fly only at the end of a period; close enough to restart).
    if (ch.mode === 1 || ch.mode === 5) {
      ch.counting = false;
      ch.frozen = ch.reload & 0xffff;
    } else if (ch.gate) {
      ch.counting = true;
      ch.loadTime = this.now();
    } else {
      ch.counting = false;
      ch.frozen = ch.reload & 0xffff;
    }
    if (i === 0) this.rearm();
  }

  private readCounter(i: number): number {
    if (i === 3) return 0xff; // the control word register cannot be read
    const ch = this.channels[i]!;
    if (ch.status >= 0) {
      const s = ch.status;
      ch.status = -1;
      return s;
    }
    if (ch.latched >= 0) {
      const c = ch.latched;
      if (ch.access === 1) {
        ch.latched = -1;
        return c & 0xff;
      }
      if (ch.access === 2) {
        ch.latched = -1;
        return c >> 8;
      }
      if (!ch.latchedHigh) {
        ch.latchedHigh = true;
        return c & 0xff;
      }
      ch.latched = -1;
      ch.latchedHigh = false;
      return c >> 8;
    }
    const c = ch.count(this.now());
    if (ch.access === 1) return c & 0xff;
    if (ch.access === 2) return c >> 8;
    const low = ch.readLow;
    ch.readLow = !ch.readLow;
    return low ? c & 0xff : c >> 8;
  }

  /** Gate input of channel `i` (only channel 2's is wired, through port 0x61). */
  setGate(i: number, level: boolean): void {
    const ch = this.channels[i]!;
    if (ch.gate === level) return;
    ch.gate = level;
    const now = this.now();
    if (!level) {
      // Modes 0/4 pause; 2/3 stop with OUT high until the next rising edge.
      if (ch.counting) {
        ch.frozen = ch.count(now);
        ch.counting = false;
      }
      return;
    }
    if (ch.nullCount) return;
    if (ch.mode === 0 || ch.mode === 4) {
      // Resume from the paused value.
      ch.reload = ch.frozen || 0x10000;
      ch.loadTime = now;
      ch.counting = true;
    } else {
      // Modes 1, 2, 3, 5 (re)trigger on the rising edge.
      ch.loadTime = now;
      ch.counting = true;
    }
    if (i === 0) this.rearm();
  }

  private readPort61(): number {
    // One clock sample for both time-derived bits, so they describe the same instant.
    const now = this.now();
    const refresh = Math.floor(now / REFRESH_NS) & 1;
    return (
      (this.channels[2]!.gate ? 1 : 0) | (this.speakerData ? 2 : 0) | this.port61Low |
      (refresh << 4) | (this.channels[2]!.out(now) ? 0x20 : 0)
    );
  }

  private writePort61(v: number): void {
    this.speakerData = (v & 2) !== 0;
    this.port61Low = v & 0x0c;
    this.setGate(2, (v & 1) !== 0);
  }

  /** Schedule channel 0's next rising OUT edge after time `after` (default now). */
  private rearm(after = this.now()): void {
    const ch = this.channels[0]!;
    const tick = ch.nextRisingTick(after);
    if (tick < 0) {
      this.timer.cancel();
      return;
    }
    this.timer.setAt(ch.loadTime + Math.ceil((tick * NS_PER_S) / PIT_HZ));
  }

  private reprogrammed(): void {
    this.owedTicks = 0;
    this.owedTimer.cancel();
    this.rearm();
  }

  /** Channel 0 period in ns in the periodic modes (2, 3), else 0. */
  private periodNs(): number {
    const ch = this.channels[0]!;
    return ch.counting && (ch.mode === 2 || ch.mode === 3) ? (ch.reload * NS_PER_S) / PIT_HZ : 0;
  }

  private pulse(now: number): void {
    this.unackedSince = now;
    this.irq0.pulse();
  }

  private channel0Edge(at: number): void {
    const now = this.now();
    const period = this.periodNs();
    // This edge is delivered now unless the previous pulse, sent less than half a period
    // ago (an owed tick), is still unacknowledged: then it is owed too rather than merged.
    if (this.unackedSince >= 0 && period > 0 && now - this.unackedSince < period / 2) this.owedTicks++;
    else this.pulse(now);
    if (period > 0) {
      // Periods that fell due while the host was not running us are owed.
      const missed = Math.floor((now - at) / period);
      this.owedTicks = Math.min(this.owedTicks + missed, Math.floor(MAX_OWED_NS / period));
    }
    this.rearm(now);
  }

  /**
   * The guest took the last IRQ0 (8259 INTA of IRQ0, or a local APIC EOI of the vector the
   * IOAPIC's timer pin uses): deliver the next owed tick, if any.
   */
  tickAcknowledged(): void {
    if (this.unackedSince < 0) return;
    this.unackedSince = -1;
    if (this.owedTicks > 0) this.owedTimer.setAt(this.now()); // due at the next poll
  }

  private deliverOwed(): void {
    if (this.owedTicks === 0 || this.unackedSince >= 0 || this.periodNs() === 0) return;
    this.owedTicks--;
    this.pulse(this.now());
  }

  saveState(): DeviceState {
    return {
      channels: this.channels.map((c) => ({ ...c })),
      speakerData: this.speakerData,
      port61Low: this.port61Low,
      timer: this.timer.deadline,
      owedTicks: this.owedTicks,
      unackedSince: this.unackedSince,
      owedTimer: this.owedTimer.deadline,
    };
  }

  loadState(s: DeviceState): void {
    const chans = s.channels as Record<string, unknown>[];
    for (let i = 0; i < 3; i++) Object.assign(this.channels[i]!, chans[i]);
    this.speakerData = s.speakerData as boolean;
    this.port61Low = s.port61Low as number;
    this.owedTicks = (s.owedTicks as number | undefined) ?? 0;
    this.unackedSince = (s.unackedSince as number | undefined) ?? -1;
    const o = (s.owedTimer as number | undefined) ?? -1;
    if (o >= 0) this.owedTimer.setAt(o);
    else this.owedTimer.cancel();
    const t = s.timer as number;
    if (t >= 0) this.timer.setAt(t);
    else this.timer.cancel();
  }
}
