// MC146818 real-time clock and CMOS NVRAM (index 0x70, data 0x71), IRQ 8.
//
// Time is the host's UTC time at power-on plus the virtual clock's elapsed seconds, plus
// whatever offset the guest sets by writing the clock. BCD/binary and 12/24-hour formats,
// the update-in-progress window, and periodic, alarm and update-ended interrupts follow the
// data sheet. The memory-size bytes firmware and older kernels read are filled in by the
// machine (see setMemoryLayout).
import type { IoBus, IoSize } from '../bus-io.ts';
import type { ClockTimer, VirtualClock } from '../clock.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_BINARY = 0x04;
const B_24H = 0x02;
const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;
/** UIP is set for 244 us before each update (data sheet, divider at 32.768 kHz). */
const UIP_NS = 244_000;
const CENTURY = 0x32;

const toBcd = (v: number) => ((Math.floor(v / 10) << 4) | (v % 10)) & 0xff;
const fromBcd = (v: number) => (v >> 4) * 10 + (v & 0xf);

export class CmosRtc implements Device {
  readonly name = 'cmos';
  readonly ram = new Uint8Array(128);
  private index = 0;
  nmiDisabled = false;
  /** Host UTC seconds at virtual time 0 plus any guest adjustment. */
  private epochSeconds: number;
  private readonly periodic: ClockTimer;
  private readonly second: ClockTimer;

  constructor(
    io: IoBus,
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    startTime: Date = new Date(),
  ) {
    this.epochSeconds = Math.floor(startTime.getTime() / 1000);
    this.periodic = clock.createTimer('rtc-periodic', () => this.periodicTick());
    this.second = clock.createTimer('rtc-update', () => this.updateTick());
    io.register(0x70, 2, {
      read: (port: number, _s: IoSize) => (port === 0x70 ? 0xff : this.readData()),
      write: (port: number, _s: IoSize, v: number) => {
        if (port === 0x70) {
          this.index = v & 0x7f;
          this.nmiDisabled = (v & 0x80) !== 0;
        } else {
          this.writeData(v & 0xff);
        }
      },
    }, 'cmos');
    this.resetRegisters();
  }

  private resetRegisters(): void {
    this.ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.ram[REG_B] = B_24H;
    this.ram[REG_C] = 0;
    this.ram[REG_D] = 0x80; // valid RAM and time
  }

  reset(): void {
    // NVRAM survives a reset; control registers return to defaults (B keeps format bits).
    this.ram[REG_B]! &= B_BINARY | B_24H;
    this.ram[REG_C] = 0;
    this.irq.lower();
    this.periodic.cancel();
    this.second.cancel();
  }

  /**
   * Memory-size fields: base memory (KiB), extended memory 1-64 MiB (KiB), memory 16 MiB-4 GiB
   * in 64 KiB units, memory above 4 GiB in 64 KiB units, and the CPU count (SeaBIOS/Bochs).
   */
  setMemoryLayout(lowRamBytes: number, highRamBytes: number, cpus: number): void {
    const r = this.ram;
    r[0x15] = 640 & 0xff;
    r[0x16] = 640 >> 8;
    const extKiB = Math.min(0xfc00, Math.max(0, (lowRamBytes - 0x100000) / 1024));
    r[0x17] = r[0x30] = extKiB & 0xff;
    r[0x18] = r[0x31] = extKiB >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((lowRamBytes - 0x1000000) / 65536)));
    r[0x34] = above16 & 0xff;
    r[0x35] = above16 >> 8;
    const above4g = Math.floor(highRamBytes / 65536);
    r[0x5b] = above4g & 0xff;
    r[0x5c] = (above4g >> 8) & 0xff;
    r[0x5d] = (above4g >> 16) & 0xff;
    r[0x5f] = Math.max(0, cpus - 1);
    r[0x14] = 0x06; // equipment: math coprocessor, 80x25 colour... no floppy
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += r[i]!;
    r[0x2e] = (sum >> 8) & 0xff;
    r[0x2f] = sum & 0xff;
  }

  /** Current RTC time in UTC seconds since 1970. */
  timeSeconds(): number {
    return this.epochSeconds + Math.floor(this.clock.now() / 1e9);
  }

  private get binary(): boolean {
    return (this.ram[REG_B]! & B_BINARY) !== 0;
  }

  private enc(v: number): number {
    return this.binary ? v : toBcd(v);
  }

  private dec(v: number): number {
    return this.binary ? v : fromBcd(v);
  }

  private encHour(h: number): number {
    if (this.ram[REG_B]! & B_24H) return this.enc(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.enc(h12) | (pm ? 0x80 : 0);
  }

  private decHour(v: number): number {
    if (this.ram[REG_B]! & B_24H) return this.dec(v);
    const h12 = this.dec(v & 0x7f) % 12;
    return (v & 0x80) !== 0 ? h12 + 12 : h12;
  }

  private timeField(reg: number, d: Date): number {
    switch (reg) {
      case 0: return this.enc(d.getUTCSeconds());
      case 2: return this.enc(d.getUTCMinutes());
      case 4: return this.encHour(d.getUTCHours());
      case 6: return this.enc(d.getUTCDay() + 1);
      case 7: return this.enc(d.getUTCDate());
      case 8: return this.enc(d.getUTCMonth() + 1);
      case 9: return this.enc(d.getUTCFullYear() % 100);
      case CENTURY: return this.enc(Math.floor(d.getUTCFullYear() / 100));
      default: return this.ram[reg]!;
    }
  }

  private readData(): number {
    const reg = this.index;
    if (reg === REG_A) {
      const ns = this.clock.now() % 1e9;
      const uip = !(this.ram[REG_B]! & B_SET) && ns >= 1e9 - UIP_NS;
      return (this.ram[REG_A]! & 0x7f) | (uip ? 0x80 : 0);
    }
    if (reg === REG_C) {
      const v = this.ram[REG_C]!;
      this.ram[REG_C] = 0;
      this.irq.lower();
      return v;
    }
    if (reg <= 9 && reg !== 1 && reg !== 3 && reg !== 5 || reg === CENTURY) {
      return this.timeField(reg, new Date(this.timeSeconds() * 1000));
    }
    return this.ram[reg]!;
  }

  private writeData(v: number): void {
    const reg = this.index;
    if (reg <= 9 && reg !== 1 && reg !== 3 && reg !== 5 || reg === CENTURY) {
      this.setTimeField(reg, v);
      return;
    }
    switch (reg) {
      case REG_A:
        this.ram[REG_A] = v & 0x7f;
        this.armPeriodic();
        return;
      case REG_B: {
        let b = v;
        if (b & B_SET) b &= ~B_UIE; // setting the clock disables update interrupts
        this.ram[REG_B] = b;
        this.armPeriodic();
        this.armSecond();
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        this.ram[reg] = v;
    }
  }

  /** Guest wrote a time register: shift the epoch so the clock reads the new value. */
  private setTimeField(reg: number, v: number): void {
    const d = new Date(this.timeSeconds() * 1000);
    let [year, month, day, hour, min, sec] = [
      d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(),
    ];
    switch (reg) {
      case 0: sec = this.dec(v & 0x7f); break;
      case 2: min = this.dec(v & 0x7f); break;
      case 4: hour = this.decHour(v); break;
      case 6: return; // day of week follows from the date
      case 7: day = this.dec(v); break;
      case 8: month = this.dec(v) - 1; break;
      case 9: year = Math.floor(year / 100) * 100 + this.dec(v); break;
      case CENTURY: year = this.dec(v) * 100 + (year % 100); break;
    }
    const target = Math.floor(Date.UTC(year, month, day, hour, min, sec) / 1000);
    if (Number.isFinite(target)) this.epochSeconds += target - this.timeSeconds();
  }

  private raise(flags: number): void {
    this.ram[REG_C]! |= flags;
    const b = this.ram[REG_B]!;
    const c = this.ram[REG_C]!;
    if ((c & C_PF && b & B_PIE) || (c & C_AF && b & B_AIE) || (c & C_UF && b & B_UIE)) {
      if (!(c & C_IRQF)) {
        this.ram[REG_C] = c | C_IRQF;
        this.irq.raise();
      }
    }
  }

  /** Periodic interrupt period in ns, or 0 when off. */
  periodNs(): number {
    const a = this.ram[REG_A]!;
    let rate = a & 0x0f;
    if (rate === 0 || ((a >> 4) & 7) !== 2) return 0;
    if (rate <= 2) rate += 7; // rates 1 and 2 alias 8 and 9 at 32.768 kHz
    return ((1 << (rate - 1)) / 32768) * 1e9;
  }

  private armPeriodic(): void {
    const p = this.periodNs();
    if (p === 0 || !(this.ram[REG_B]! & B_PIE)) {
      this.periodic.cancel();
      return;
    }
    const now = this.clock.now();
    this.periodic.setAt((Math.floor(now / p) + 1) * p);
  }

  private periodicTick(): void {
    this.raise(C_PF);
    this.armPeriodic();
  }

  private armSecond(): void {
    const b = this.ram[REG_B]!;
    if (b & B_SET || !(b & (B_UIE | B_AIE))) {
      this.second.cancel();
      return;
    }
    this.second.setAt((Math.floor(this.clock.now() / 1e9) + 1) * 1e9);
  }

  private updateTick(): void {
    let flags = C_UF;
    const d = new Date(this.timeSeconds() * 1000);
    const match = (alarmReg: number, timeReg: number) => {
      const a = this.ram[alarmReg]!;
      return (a & 0xc0) === 0xc0 || a === this.timeField(timeReg, d);
    };
    if (match(1, 0) && match(3, 2) && match(5, 4)) flags |= C_AF;
    this.raise(flags);
    this.armSecond();
  }

  saveState(): DeviceState {
    return {
      ram: this.ram.slice(), index: this.index, nmiDisabled: this.nmiDisabled, epochSeconds: this.epochSeconds,
      periodic: this.periodic.deadline, second: this.second.deadline,
    };
  }

  loadState(s: DeviceState): void {
    this.ram.set(s.ram as Uint8Array);
    this.index = s.index as number;
    this.nmiDisabled = s.nmiDisabled as boolean;
    this.epochSeconds = s.epochSeconds as number;
    for (const [t, d] of [[this.periodic, s.periodic], [this.second, s.second]] as [ClockTimer, number][]) {
      if (d >= 0) t.setAt(d);
      else t.cancel();
    }
  }
}
