// ACPI fixed hardware: PM1a event block (status/enable), PM1a control block (SCI_EN, sleep
// type and enable) and the 24-bit PM timer at 3.579545 MHz. The SCI is ISA IRQ 9 (level,
// active high, as the MADT override declares). Writing SLP_EN with the sleep type the DSDT
// exports as \_S5 powers the machine off; the power button sets PWRBTN_STS for the guest.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { ClockTimer, VirtualClock } from '../clock.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';

export const PM_BASE = 0x600;
export const PM1_EVT_BLK = PM_BASE; // 4 bytes: status (2), enable (2)
export const PM1_CNT_BLK = PM_BASE + 4; // 2 bytes
export const PM_TMR_BLK = PM_BASE + 8; // 4 bytes
export const PM_TIMER_HZ = 3_579_545;
export const SCI_IRQ = 9;
/** Sleep type value the DSDT's \_S5 package carries; SLP_EN with it means soft-off. */
export const S5_SLP_TYP = 5;

const TMR_STS = 1 << 0;
const PWRBTN_STS = 1 << 8;
const WAK_STS = 1 << 15;
const STS_MASK = 0x8f31; // defined status bits (TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK)
const EN_MASK = 0x0721; // TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN
const SCI_EN = 1 << 0;
const SLP_EN = 1 << 13;

export class AcpiPm implements Device {
  readonly name = 'acpi-pm';
  private status = 0;
  private enable = 0;
  private control = SCI_EN; // no SMI_CMD handshake: the machine is born in ACPI mode
  private sciLevel = false;
  private readonly overflow: ClockTimer;
  onPowerOff: (() => void) | undefined;
  /** Sleep states other than S5 (S1-S4); none are offered in the DSDT. */
  onSleep: ((slpTyp: number) => void) | undefined;

  constructor(
    io: IoBus,
    private readonly clock: VirtualClock,
    private readonly sci: IrqLine,
  ) {
    this.overflow = clock.createTimer('pm-timer-overflow', () => this.timerOverflow());
    io.register(PM_BASE, 12, {
      read: (port: number, size: IoSize) => this.read(port - PM_BASE, size),
      write: (port: number, size: IoSize, v: number) => this.write(port - PM_BASE, size, v),
    }, 'acpi-pm');
  }

  /** The PM timer value now (24 bits). */
  timerValue(): number {
    return Math.floor((this.clock.now() * PM_TIMER_HZ) / 1e9) & 0xffffff;
  }

  pressPowerButton(): void {
    this.status |= PWRBTN_STS;
    this.updateSci();
  }

  private read(off: number, size: IoSize): number {
    // Assemble from byte reads so odd-sized or unaligned accesses behave. The timer is
    // sampled once per access: sampling it per byte tears a 32-bit read across a carry
    // (0x8ef4 read as 0x8ff4), and Linux then rejects the PM timer as non-monotonic.
    const timer = off + size > 8 ? this.timerValue() : 0;
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(off + i, timer) << (i * 8);
    return v >>> 0;
  }

  private readByte(off: number, timer: number): number {
    switch (off) {
      case 0: return this.status & 0xff;
      case 1: return (this.status >> 8) & 0xff;
      case 2: return this.enable & 0xff;
      case 3: return (this.enable >> 8) & 0xff;
      case 4: return this.control & 0xff;
      case 5: return (this.control >> 8) & 0xff & ~(SLP_EN >> 8); // SLP_EN reads as 0
      case 8: case 9: case 10: case 11:
        return (timer >>> ((off - 8) * 8)) & 0xff;
      default: return 0xff;
    }
  }

  private write(off: number, size: IoSize, v: number): void {
    if (off < 2) {
      // Status: write one to clear.
      const mask = size === 1 ? 0xff << (off * 8) : 0xffff;
      const bits = (size === 1 ? (v & 0xff) << (off * 8) : v) & mask & STS_MASK;
      this.status &= ~bits;
      if (size === 4) this.writeEnable((v >>> 16) & 0xffff, 0xffff);
      this.updateSci();
    } else if (off < 4) {
      const shift = (off - 2) * 8;
      const mask = size === 1 ? 0xff << shift : 0xffff;
      this.writeEnable(((v << shift) & mask) >>> 0, mask);
    } else if (off < 6) {
      const shift = (off - 4) * 8;
      const mask = size === 1 ? 0xff << shift : 0xffff;
      this.writeControl((((this.control & ~mask) | ((v << shift) & mask)) & 0xffff) >>> 0);
    }
    // The PM timer is read-only.
  }

  private writeEnable(v: number, mask: number): void {
    this.enable = ((this.enable & ~mask) | (v & mask)) & EN_MASK;
    this.armOverflow();
    this.updateSci();
  }

  private writeControl(v: number): void {
    this.control = v & ~SLP_EN;
    if (!(v & SLP_EN)) return;
    const slpTyp = (v >> 10) & 7;
    this.status |= WAK_STS;
    if (slpTyp === S5_SLP_TYP) this.onPowerOff?.();
    else this.onSleep?.(slpTyp);
  }

  private updateSci(): void {
    const level = (this.status & this.enable & 0x0721) !== 0 && (this.control & SCI_EN) !== 0;
    if (level === this.sciLevel) return;
    this.sciLevel = level;
    if (level) this.sci.raise();
    else this.sci.lower();
  }

  /** TMR_STS is set whenever bit 23 of the timer flips; only timed while TMR_EN is on. */
  private armOverflow(): void {
    if (!(this.enable & TMR_STS)) {
      this.overflow.cancel();
      return;
    }
    const ticks = Math.floor((this.clock.now() * PM_TIMER_HZ) / 1e9);
    const next = (Math.floor(ticks / 0x800000) + 1) * 0x800000;
    this.overflow.setAt(Math.ceil((next * 1e9) / PM_TIMER_HZ));
  }

  private timerOverflow(): void {
    this.status |= TMR_STS;
    this.updateSci();
    this.armOverflow();
  }

  reset(): void {
    this.status = 0;
    this.enable = 0;
    this.control = SCI_EN;
    this.overflow.cancel();
    this.updateSci();
  }

  saveState(): DeviceState {
    return { status: this.status, enable: this.enable, control: this.control };
  }

  loadState(s: DeviceState): void {
    this.status = s.status as number;
    this.enable = s.enable as number;
    this.control = s.control as number;
    this.armOverflow();
    this.updateSci();
  }
}
