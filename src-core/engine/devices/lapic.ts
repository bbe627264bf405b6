// Local APIC (xAPIC, MMIO at 0xFEE00000), one per CPU. It is the CPU's InterruptSource:
// fixed interrupts from the IOAPIC and IPIs arrive in IRR, are prioritised against TPR/ISR,
// and EOIs of level-triggered vectors go back to the IOAPIC. LINT0 in ExtINT mode (virtual
// wire) passes the 8259's INT through; LINT1 in NMI mode raises NMIs.
//
// The timer runs from a 1 GHz bus clock (as QEMU's does) divided by the divide register,
// one-shot or periodic, on the machine's virtual clock.
import type { VirtualClock, ClockTimer } from '../clock.ts';
import type { Device, DeviceState, InterruptSource } from '../device.ts';
import type { MmioHandler, MmioSize } from '../bus-memory.ts';
import { DeliveryMode, type ApicBus, type ApicMessage, type ApicTarget } from './apic-bus.ts';

export const LAPIC_BASE = 0xfee0_0000;
const BUS_NS_PER_TICK = 1;
const LVT_MASKED = 1 << 16;
// LVT register offsets: CMCI, timer, thermal, perf, LINT0, LINT1, error.
const LVT_OFFSETS = [0x2f0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370];
const LVT_TIMER = 1;
const LVT_LINT0 = 4;
const LVT_LINT1 = 5;
const LVT_ERROR = 6;
// ESR bits
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECV_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

/** Events the CPU side must act on. */
export interface LapicHooks {
  /** An interrupt may now be deliverable: wake the CPU. */
  onInterrupt?: () => void;
  onNmi?: () => void;
  onInit?: () => void;
  onStartup?: (vector: number) => void;
  /** The guest ended service of `vector` (any trigger mode; late PIT ticks wait for this). */
  onEoi?: (vector: number) => void;
}

function bitTest(a: Uint32Array, v: number): boolean {
  return (a[v >>> 5]! & (1 << (v & 31))) !== 0;
}
function bitSet(a: Uint32Array, v: number): void {
  a[v >>> 5]! |= 1 << (v & 31);
}
function bitClear(a: Uint32Array, v: number): void {
  a[v >>> 5]! &= ~(1 << (v & 31));
}
function highestBit(a: Uint32Array): number {
  for (let i = 7; i >= 0; i--) if (a[i]) return i * 32 + (31 - Math.clz32(a[i]!));
  return -1;
}

export class LocalApic implements Device, InterruptSource, ApicTarget, MmioHandler {
  readonly name: string;
  apicId: number;
  hooks: LapicHooks = {};
  /** The 8259's INT output, seen through LINT0 in ExtINT mode. */
  extInt: InterruptSource | undefined;

  private irr = new Uint32Array(8);
  private isr = new Uint32Array(8);
  private tmr = new Uint32Array(8);
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0; // readable value (latched by the last ESR write)
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private lvt = new Uint32Array(7);
  private divideConfig = 0;
  private initialCount = 0;
  private timerStart = 0; // virtual ns when the current count was loaded
  /** IA32_APIC_BASE bit 11: hardware enable. */
  hwEnabled = true;
  private readonly timer: ClockTimer;

  constructor(
    index: number,
    private readonly clock: VirtualClock,
    private readonly bus: ApicBus,
  ) {
    this.name = `lapic${index}`;
    this.apicId = index;
    this.timer = clock.createTimer(`${this.name}-timer`, () => this.timerFired());
    this.reset();
    bus.attach(this);
  }

  reset(): void {
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.divideConfig = 0;
    this.initialCount = 0;
    this.hwEnabled = true;
    this.timer.cancel();
  }

  /** Virtual-wire setup a BIOS leaves behind (LINT0 ExtINT, LINT1 NMI); direct boot needs it. */
  setVirtualWire(): void {
    this.lvt[LVT_LINT0] = DeliveryMode.ExtInt << 8;
    this.lvt[LVT_LINT1] = DeliveryMode.Nmi << 8;
  }

  private get softwareEnabled(): boolean {
    return (this.svr & 0x100) !== 0;
  }

  // ---- interrupt acceptance -------------------------------------------------------------

  matchesLogical(dest: number): boolean {
    if (!this.hwEnabled) return false;
    const ldr = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (ldr & dest) !== 0; // flat model
    // cluster model: high nibble cluster id (0xf broadcasts), low nibble member mask
    const cluster = dest >>> 4;
    return (cluster === 0xf || cluster === ldr >>> 4) && (dest & ldr & 0xf) !== 0;
  }

  arbitrationPriority(): number {
    return this.tpr & 0xff;
  }

  receive(msg: ApicMessage): void {
    if (!this.hwEnabled) return;
    switch (msg.deliveryMode) {
      case DeliveryMode.Fixed:
      case DeliveryMode.LowestPriority:
        this.acceptVector(msg.vector, msg.level);
        break;
      case DeliveryMode.Nmi:
        this.hooks.onNmi?.();
        break;
      case DeliveryMode.Init:
        this.hooks.onInit?.();
        break;
      case DeliveryMode.Startup:
        this.hooks.onStartup?.(msg.vector);
        break;
      case DeliveryMode.ExtInt:
        this.hooks.onInterrupt?.();
        break;
      default: // SMI: no SMM in this machine
        break;
    }
  }

  private acceptVector(vector: number, level: boolean): void {
    if (vector < 16) {
      this.signalError(ESR_RECV_ILLEGAL_VECTOR);
      return;
    }
    bitSet(this.irr, vector);
    if (level) bitSet(this.tmr, vector);
    else bitClear(this.tmr, vector);
    this.hooks.onInterrupt?.();
  }

  private signalError(bits: number): void {
    this.esrPending |= bits;
    const lvt = this.lvt[LVT_ERROR]!;
    if (!(lvt & LVT_MASKED)) this.acceptVector(lvt & 0xff, false);
  }

  private ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr & 0xff : isrClass;
  }

  /** Highest IRR vector that beats the processor priority, or -1. */
  private deliverable(): number {
    if (!this.hwEnabled) return -1;
    const v = highestBit(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }

  private extIntOpen(): boolean {
    if (!this.hwEnabled) return true; // APIC off: the 8259 drives INTR directly
    const lint0 = this.lvt[LVT_LINT0]!;
    return !(lint0 & LVT_MASKED) && ((lint0 >>> 8) & 7) === DeliveryMode.ExtInt;
  }

  hasInterrupt(): boolean {
    if (this.extInt && this.extIntOpen() && this.extInt.hasInterrupt()) return true;
    return this.deliverable() >= 0;
  }

  acknowledge(): number {
    if (this.extInt && this.extIntOpen() && this.extInt.hasInterrupt()) return this.extInt.acknowledge();
    const v = this.deliverable();
    if (v < 0) return this.svr & 0xff; // the request went away: spurious vector
    bitClear(this.irr, v);
    bitSet(this.isr, v);
    return v;
  }

  /** LINT0/LINT1 pin input (LINT1 is wired to NMI on a PC). */
  setLint(pin: 0 | 1, level: boolean): void {
    const lvt = this.lvt[pin === 0 ? LVT_LINT0 : LVT_LINT1]!;
    if (lvt & LVT_MASKED || !level) return;
    const mode = (lvt >>> 8) & 7;
    if (mode === DeliveryMode.Nmi) this.hooks.onNmi?.();
    else if (mode === DeliveryMode.Fixed) this.acceptVector(lvt & 0xff, ((lvt >>> 15) & 1) === 1);
    else if (mode === DeliveryMode.ExtInt) this.hooks.onInterrupt?.();
  }

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    bitClear(this.isr, v);
    // Level-triggered: tell the IOAPIC (unless EOI broadcast suppression is on).
    if (bitTest(this.tmr, v) && !(this.svr & 0x1000)) this.bus.broadcastEoi(v);
    this.hooks.onEoi?.(v);
    this.hooks.onInterrupt?.();
  }

  // ---- timer ------------------------------------------------------------------------------

  private divisor(): number {
    const d = (this.divideConfig & 3) | ((this.divideConfig & 8) >>> 1);
    return d === 7 ? 1 : 2 << d;
  }

  private tickNs(): number {
    return BUS_NS_PER_TICK * this.divisor();
  }

  private currentCount(): number {
    if (this.initialCount === 0) return 0;
    const elapsed = Math.floor((this.clock.now() - this.timerStart) / this.tickNs());
    const mode = (this.lvt[LVT_TIMER]! >>> 17) & 3;
    if (mode === 1) return this.initialCount - (elapsed % this.initialCount);
    return elapsed >= this.initialCount ? 0 : this.initialCount - elapsed;
  }

  private armTimer(): void {
    if (this.initialCount === 0) {
      this.timer.cancel();
      return;
    }
    this.timer.setAt(this.timerStart + this.initialCount * this.tickNs());
  }

  /**
   * Periodic mode under a busy host: when the emulator runs again after being descheduled,
   * several periods may be due at once. They raise one interrupt (the IRR holds one) and the
   * count keeps its phase. Unlike the PIT's, missed LAPIC ticks are not replayed: Linux drives
   * the LAPIC timer only once the TSC clocksource keeps time, where lost jiffies are harmless,
   * and replaying them made a slow guest spend its whole share in the tick handler (soft
   * lockups seen on a host at load 16).
   */
  private timerFired(): void {
    const lvt = this.lvt[LVT_TIMER]!;
    if (!(lvt & LVT_MASKED)) this.acceptVector(lvt & 0xff, false);
    if (((lvt >>> 17) & 3) === 1 && this.initialCount > 0) {
      const period = this.initialCount * this.tickNs();
      this.timerStart += period;
      const missed = Math.floor((this.clock.now() - this.timerStart) / period);
      if (missed > 0) this.timerStart += missed * period; // the next period ends after now
      this.armTimer();
    }
    // One-shot: nothing to re-arm; currentCount() reads 0 once the count has run out.
  }

  // ---- register file ------------------------------------------------------------------------

  read(offset: number, _size: MmioSize): number {
    const reg = offset & 0xff0;
    const word = this.readRegister(reg);
    return (word >>> ((offset & 3) * 8)) >>> 0;
  }

  write(offset: number, size: MmioSize, value: number): void {
    // Registers are 32-bit; narrower writes are not architectural and are ignored like QEMU.
    if (size !== 4 || (offset & 0xf) !== 0) return;
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  readRegister(reg: number): number {
    if (reg >= 0x100 && reg < 0x180) return this.isr[(reg - 0x100) >>> 4]!;
    if (reg >= 0x180 && reg < 0x200) return this.tmr[(reg - 0x180) >>> 4]!;
    if (reg >= 0x200 && reg < 0x280) return this.irr[(reg - 0x200) >>> 4]!;
    const lvtIndex = LVT_OFFSETS.indexOf(reg);
    if (lvtIndex >= 0) return this.lvt[lvtIndex]!;
    switch (reg) {
      case 0x20: return (this.apicId << 24) >>> 0;
      case 0x30: return 0x0005_0014; // version 0x14, max LVT entry 5 (as QEMU reports)
      case 0x80: return this.tpr;
      case 0x90: return 0; // arbitration priority (not used by P6+ software)
      case 0xa0: return this.ppr();
      case 0xb0: return 0;
      case 0xd0: return this.ldr;
      case 0xe0: return this.dfr;
      case 0xf0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLow & ~(1 << 12); // delivery status: always idle
      case 0x310: return this.icrHigh;
      case 0x380: return this.initialCount;
      case 0x390: return this.currentCount();
      case 0x3e0: return this.divideConfig;
      default:
        return 0;
    }
  }

  writeRegister(reg: number, v: number): void {
    const lvtIndex = LVT_OFFSETS.indexOf(reg);
    if (lvtIndex >= 0) {
      // With the APIC software-disabled, LVT entries stay masked.
      const masks = [0x117ff, 0x700ff, 0x117ff, 0x117ff, 0x1a7ff, 0x1a7ff, 0x100ff];
      let val = v & masks[lvtIndex]!;
      if (!this.softwareEnabled) val |= LVT_MASKED;
      const wasMode = (this.lvt[LVT_TIMER]! >>> 17) & 3;
      this.lvt[lvtIndex] = val;
      if (lvtIndex === LVT_TIMER && ((val >>> 17) & 3) !== wasMode) {
        // Changing timer mode stops the count (SDM 10.5.4.1).
        this.initialCount = 0;
        this.timer.cancel();
      }
      if (lvtIndex === LVT_LINT0) this.hooks.onInterrupt?.();
      return;
    }
    switch (reg) {
      case 0x20:
        this.apicId = v >>> 24;
        return;
      case 0x80:
        this.tpr = v & 0xff;
        this.hooks.onInterrupt?.();
        return;
      case 0xb0:
        this.eoi();
        return;
      case 0xd0:
        this.ldr = v & 0xff00_0000;
        return;
      case 0xe0:
        this.dfr = (v | 0x0fff_ffff) >>> 0;
        return;
      case 0xf0:
        this.svr = v & 0x11ff;
        if (!this.softwareEnabled) for (let i = 0; i < this.lvt.length; i++) this.lvt[i]! |= LVT_MASKED;
        this.hooks.onInterrupt?.();
        return;
      case 0x280:
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case 0x300:
        this.icrLow = v & 0x000c_dfff;
        this.sendIpi();
        return;
      case 0x310:
        this.icrHigh = v & 0xff00_0000;
        return;
      case 0x380:
        this.initialCount = v;
        this.timerStart = this.clock.now();
        this.armTimer();
        return;
      case 0x3e0:
        this.divideConfig = v & 0xb;
        return;
      case 0x30: case 0x90: case 0xa0: case 0x390:
        return; // read-only
      default:
        if (reg >= 0x100 && reg < 0x280) return; // ISR/TMR/IRR are read-only
        this.signalError(ESR_ILLEGAL_REGISTER);
    }
  }

  private sendIpi(): void {
    const lo = this.icrLow;
    const mode = (lo >>> 8) & 7;
    const vector = lo & 0xff;
    // INIT level de-assert is a no-op on P4 and later.
    if (mode === DeliveryMode.Init && !(lo & (1 << 14)) && (lo & (1 << 15))) return;
    if ((mode === DeliveryMode.Fixed || mode === DeliveryMode.LowestPriority) && vector < 16) {
      this.signalError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    this.bus.deliver({
      vector,
      deliveryMode: mode,
      logical: (lo & (1 << 11)) !== 0,
      destination: this.icrHigh >>> 24,
      level: false,
      shorthand: (lo >>> 18) & 3,
      sourceId: this.apicId,
    });
  }

  saveState(): DeviceState {
    return {
      apicId: this.apicId, irr: this.irr.slice(), isr: this.isr.slice(), tmr: this.tmr.slice(),
      tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr, esr: this.esr, esrPending: this.esrPending,
      icrLow: this.icrLow, icrHigh: this.icrHigh, lvt: this.lvt.slice(), divideConfig: this.divideConfig,
      initialCount: this.initialCount, timerStart: this.timerStart, hwEnabled: this.hwEnabled,
      timerDeadline: this.timer.deadline,
    };
  }

  loadState(s: DeviceState): void {
    this.apicId = s.apicId as number;
    this.irr.set(s.irr as Uint32Array);
    this.isr.set(s.isr as Uint32Array);
    this.tmr.set(s.tmr as Uint32Array);
    this.lvt.set(s.lvt as Uint32Array);
    this.tpr = s.tpr as number;
    this.ldr = s.ldr as number;
    this.dfr = s.dfr as number;
    this.svr = s.svr as number;
    this.esr = s.esr as number;
    this.esrPending = s.esrPending as number;
    this.icrLow = s.icrLow as number;
    this.icrHigh = s.icrHigh as number;
    this.divideConfig = s.divideConfig as number;
    this.initialCount = s.initialCount as number;
    this.timerStart = s.timerStart as number;
    this.hwEnabled = s.hwEnabled as boolean;
    const d = s.timerDeadline as number;
    if (d >= 0) this.timer.setAt(d);
    else this.timer.cancel();
  }
}
