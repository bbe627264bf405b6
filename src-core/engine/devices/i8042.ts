// i8042 PS/2 controller (data 0x60, status/command 0x64) with a keyboard on port 1 (IRQ 1)
// and a mouse on port 2 (IRQ 12). Also the PC's A20 gate and CPU reset line (output port,
// command 0xD1, and the 0xFE pulse command). Scancodes are set 2 from the host side and
// translated to set 1 when the command byte asks for translation (the default), as Linux
// expects.
import type { IoBus, IoSize } from '../bus-io.ts';
import type { Device, DeviceState, IrqLine } from '../device.ts';

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08; // last write was to 0x64
const STATUS_UNLOCKED = 0x10;
const STATUS_AUX = 0x20; // output buffer holds mouse data
const CCB_KBD_INT = 0x01;
const CCB_AUX_INT = 0x02;
const CCB_SYS = 0x04;
const CCB_KBD_DISABLE = 0x10;
const CCB_AUX_DISABLE = 0x20;
const CCB_TRANSLATE = 0x40;

// Set 2 -> set 1 translation table for the single-byte codes (8042 translation).
const SET2_TO_SET1 = new Uint8Array(256);
{
  const pairs: [number, number][] = [
    [0x76, 0x01], [0x16, 0x02], [0x1e, 0x03], [0x26, 0x04], [0x25, 0x05], [0x2e, 0x06], [0x36, 0x07],
    [0x3d, 0x08], [0x3e, 0x09], [0x46, 0x0a], [0x45, 0x0b], [0x4e, 0x0c], [0x55, 0x0d], [0x66, 0x0e],
    [0x0d, 0x0f], [0x15, 0x10], [0x1d, 0x11], [0x24, 0x12], [0x2d, 0x13], [0x2c, 0x14], [0x35, 0x15],
    [0x3c, 0x16], [0x43, 0x17], [0x44, 0x18], [0x4d, 0x19], [0x54, 0x1a], [0x5b, 0x1b], [0x5a, 0x1c],
    [0x14, 0x1d], [0x1c, 0x1e], [0x1b, 0x1f], [0x23, 0x20], [0x2b, 0x21], [0x34, 0x22], [0x33, 0x23],
    [0x3b, 0x24], [0x42, 0x25], [0x4b, 0x26], [0x4c, 0x27], [0x52, 0x28], [0x0e, 0x29], [0x12, 0x2a],
    [0x5d, 0x2b], [0x1a, 0x2c], [0x22, 0x2d], [0x21, 0x2e], [0x2a, 0x2f], [0x32, 0x30], [0x31, 0x31],
    [0x3a, 0x32], [0x41, 0x33], [0x49, 0x34], [0x4a, 0x35], [0x59, 0x36], [0x7c, 0x37], [0x11, 0x38],
    [0x29, 0x39], [0x58, 0x3a], [0x05, 0x3b], [0x06, 0x3c], [0x04, 0x3d], [0x0c, 0x3e], [0x03, 0x3f],
    [0x0b, 0x40], [0x83, 0x41], [0x0a, 0x42], [0x01, 0x43], [0x09, 0x44], [0x77, 0x45], [0x7e, 0x46],
    [0x6c, 0x47], [0x75, 0x48], [0x7d, 0x49], [0x7b, 0x4a], [0x6b, 0x4b], [0x73, 0x4c], [0x74, 0x4d],
    [0x79, 0x4e], [0x69, 0x4f], [0x72, 0x50], [0x7a, 0x51], [0x70, 0x52], [0x71, 0x53], [0x78, 0x57],
    [0x07, 0x58],
  ];
  for (const [s2, s1] of pairs) SET2_TO_SET1[s2] = s1;
}

export interface I8042Hooks {
  onReset?: () => void;
  onA20?: (enabled: boolean) => void;
}

export class I8042 implements Device {
  readonly name = 'i8042';
  hooks: I8042Hooks = {};
  private out: { byte: number; aux: boolean }[] = [];
  private ccb = CCB_KBD_INT | CCB_AUX_INT | CCB_SYS | CCB_TRANSLATE;
  private status = STATUS_SYS | STATUS_UNLOCKED;
  private pendingCmd = -1; // controller command waiting for its data byte
  private outputPort = 0x03; // bit 0 reset line (1 = running), bit 1 A20
  // keyboard
  private kbdPendingCmd = -1;
  private kbdEnabled = true;
  private scancodeSet = 2;
  private breakPrefix = false; // translating a set-2 F0 prefix
  // mouse
  private auxPendingCmd = -1;
  private auxEnabled = false;
  private auxSampleRate = 100;
  private auxResolution = 2;
  private auxScaling21 = false;
  private auxButtons = 0;
  private auxWrap = false;

  constructor(
    io: IoBus,
    private readonly kbdIrq: IrqLine,
    private readonly auxIrq: IrqLine,
  ) {
    io.register(0x60, 1, {
      read: () => this.readData(),
      write: (_p: number, _s: IoSize, v: number) => this.writeData(v & 0xff),
    }, 'i8042-data');
    io.register(0x64, 1, {
      read: () => this.readStatus(),
      write: (_p: number, _s: IoSize, v: number) => this.writeCommand(v & 0xff),
    }, 'i8042-cmd');
  }

  get a20(): boolean {
    return (this.outputPort & 2) !== 0;
  }

  reset(): void {
    this.out = [];
    this.ccb = CCB_KBD_INT | CCB_AUX_INT | CCB_SYS | CCB_TRANSLATE;
    this.status = STATUS_SYS | STATUS_UNLOCKED;
    this.pendingCmd = -1;
    this.outputPort = 0x03;
    this.kbdPendingCmd = -1;
    this.kbdEnabled = true;
    this.scancodeSet = 2;
    this.breakPrefix = false;
    this.auxPendingCmd = -1;
    this.auxEnabled = false;
    this.auxWrap = false;
    this.updateIrq();
  }

  // ---- output buffer ----------------------------------------------------------------------

  private push(byte: number, aux: boolean): void {
    if (this.out.length >= 64) return; // a real controller would drop too
    this.out.push({ byte: byte & 0xff, aux });
    this.updateIrq();
  }

  private updateIrq(): void {
    const head = this.out[0];
    if (head && !head.aux && this.ccb & CCB_KBD_INT) this.kbdIrq.raise();
    else this.kbdIrq.lower();
    if (head && head.aux && this.ccb & CCB_AUX_INT) this.auxIrq.raise();
    else this.auxIrq.lower();
  }

  private readStatus(): number {
    const head = this.out[0];
    return this.status | (head ? STATUS_OBF | (head.aux ? STATUS_AUX : 0) : 0);
  }

  private readData(): number {
    const head = this.out.shift();
    this.updateIrq();
    return head ? head.byte : 0x00;
  }

  // ---- host input -----------------------------------------------------------------------------

  /** A key event as set-2 scancode bytes (e.g. [0x1c] for A, [0xf0, 0x1c] for its release). */
  keyboardInput(set2: number[]): void {
    if (!this.kbdEnabled || this.ccb & CCB_KBD_DISABLE) return;
    for (const b of set2) this.pushKeyboardByte(b);
  }

  private pushKeyboardByte(b: number): void {
    if (!(this.ccb & CCB_TRANSLATE)) {
      this.push(b, false);
      return;
    }
    if (b === 0xf0) {
      this.breakPrefix = true;
      return;
    }
    if (b === 0xe0 || b === 0xe1) {
      this.push(b, false);
      return;
    }
    const s1 = SET2_TO_SET1[b]! || b;
    this.push(this.breakPrefix ? s1 | 0x80 : s1, false);
    this.breakPrefix = false;
  }

  /** Relative mouse motion (dy positive = up, as PS/2 reports it) and button state bits. */
  mouseInput(dx: number, dy: number, buttons: number): void {
    this.auxButtons = buttons & 7;
    if (!this.auxEnabled || this.ccb & CCB_AUX_DISABLE) return;
    const clamp = (v: number) => Math.max(-256, Math.min(255, Math.trunc(v)));
    const x = clamp(dx);
    const y = clamp(dy);
    const flags = 0x08 | this.auxButtons | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0);
    this.push(flags, true);
    this.push(x & 0xff, true);
    this.push(y & 0xff, true);
  }

  // ---- controller commands --------------------------------------------------------------------

  private writeCommand(cmd: number): void {
    this.status |= STATUS_CMD;
    if ((cmd & 0xf0) === 0xf0) {
      // Pulse output port lines: bit 0 low means pulse the CPU reset line.
      if (!(cmd & 1)) this.hooks.onReset?.();
      return;
    }
    if (cmd >= 0x20 && cmd < 0x40) {
      this.push(cmd === 0x20 ? this.ccb : 0, false);
      return;
    }
    if (cmd >= 0x60 && cmd < 0x80) {
      this.pendingCmd = cmd;
      return;
    }
    switch (cmd) {
      case 0xa7: this.ccb |= CCB_AUX_DISABLE; break;
      case 0xa8: this.ccb &= ~CCB_AUX_DISABLE; break;
      case 0xa9: this.push(0x00, false); break; // aux interface test: OK
      case 0xaa: // self test
        this.push(0x55, false);
        break;
      case 0xab: this.push(0x00, false); break; // keyboard interface test: OK
      case 0xad: this.ccb |= CCB_KBD_DISABLE; break;
      case 0xae: this.ccb &= ~CCB_KBD_DISABLE; break;
      case 0xc0: this.push(0x00, false); break; // input port
      case 0xd0: this.push(this.outputPort, false); break;
      case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        this.pendingCmd = cmd;
        break;
      case 0xdd: this.setOutputPort(this.outputPort & ~2); break; // A20 off
      case 0xdf: this.setOutputPort(this.outputPort | 2); break; // A20 on
      default:
        break; // unknown commands are ignored, like most real controllers
    }
    this.updateIrq();
  }

  private setOutputPort(v: number): void {
    const old = this.outputPort;
    this.outputPort = v | 1;
    if ((old ^ v) & 2) this.hooks.onA20?.((v & 2) !== 0);
    if (!(v & 1)) this.hooks.onReset?.();
  }

  private writeData(v: number): void {
    this.status &= ~STATUS_CMD;
    const cmd = this.pendingCmd;
    this.pendingCmd = -1;
    if (cmd >= 0x60 && cmd < 0x80) {
      if (cmd === 0x60) {
        this.ccb = v;
        this.status = (this.status & ~STATUS_SYS) | (v & CCB_SYS);
      }
      this.updateIrq();
      return;
    }
    switch (cmd) {
      case 0xd1: this.setOutputPort(v); return;
      case 0xd2: this.push(v, false); return; // loop back as keyboard data
      case 0xd3: this.push(v, true); return; // loop back as mouse data
      case 0xd4: this.auxCommand(v); return;
      default:
        this.keyboardCommand(v);
    }
  }

  private keyboardCommand(v: number): void {
    // Sending to the keyboard re-enables its interface (as on real controllers).
    this.ccb &= ~CCB_KBD_DISABLE;
    const pending = this.kbdPendingCmd;
    if (pending >= 0) {
      this.kbdPendingCmd = -1;
      if (pending === 0xf0) {
        if (v === 0) {
          this.push(0xfa, false);
          this.push(this.scancodeSet, false);
          return;
        }
        if (v >= 1 && v <= 3) this.scancodeSet = v;
      }
      this.push(0xfa, false); // LEDs (0xED), typematic (0xF3), set (0xF0) data acknowledged
      return;
    }
    switch (v) {
      case 0xed: case 0xf0: case 0xf3:
        this.kbdPendingCmd = v;
        this.push(0xfa, false);
        return;
      case 0xee: this.push(0xee, false); return; // echo
      case 0xf2: // identify: MF2 keyboard
        this.push(0xfa, false);
        this.push(0xab, false);
        this.push(0x83, false);
        return;
      case 0xf4: this.kbdEnabled = true; this.push(0xfa, false); return;
      case 0xf5: this.kbdEnabled = false; this.push(0xfa, false); return;
      case 0xf6: this.kbdEnabled = true; this.push(0xfa, false); return;
      case 0xff:
        this.scancodeSet = 2;
        this.kbdEnabled = true;
        this.push(0xfa, false);
        this.push(0xaa, false); // basic assurance test passed
        return;
      default:
        this.push(0xfa, false);
    }
  }

  private auxCommand(v: number): void {
    this.ccb &= ~CCB_AUX_DISABLE;
    const pending = this.auxPendingCmd;
    if (pending >= 0) {
      this.auxPendingCmd = -1;
      if (pending === 0xf3) this.auxSampleRate = v;
      else if (pending === 0xe8) this.auxResolution = v & 3;
      this.push(0xfa, true);
      return;
    }
    if (this.auxWrap && v !== 0xec && v !== 0xff) {
      this.push(v, true);
      return;
    }
    switch (v) {
      case 0xe6: this.auxScaling21 = false; break;
      case 0xe7: this.auxScaling21 = true; break;
      case 0xe8: case 0xf3:
        this.auxPendingCmd = v;
        break;
      case 0xe9: // status request: ack + 3 status bytes
        this.push(0xfa, true);
        this.push((this.auxEnabled ? 0x20 : 0) | (this.auxScaling21 ? 0x10 : 0) | this.auxButtons, true);
        this.push(this.auxResolution, true);
        this.push(this.auxSampleRate, true);
        return;
      case 0xea: break; // stream mode
      case 0xec: this.auxWrap = false; break;
      case 0xee: this.auxWrap = true; break;
      case 0xf2: // identify: standard PS/2 mouse
        this.push(0xfa, true);
        this.push(0x00, true);
        return;
      case 0xf4: this.auxEnabled = true; break;
      case 0xf5: this.auxEnabled = false; break;
      case 0xf6:
        this.auxSampleRate = 100;
        this.auxResolution = 2;
        this.auxScaling21 = false;
        break;
      case 0xff:
        this.auxEnabled = false;
        this.auxWrap = false;
        this.auxSampleRate = 100;
        this.auxResolution = 2;
        this.push(0xfa, true);
        this.push(0xaa, true);
        this.push(0x00, true);
        return;
      default:
        break;
    }
    this.push(0xfa, true);
  }

  saveState(): DeviceState {
    return {
      out: this.out.map((o) => ({ ...o })), ccb: this.ccb, status: this.status, pendingCmd: this.pendingCmd,
      outputPort: this.outputPort, kbdPendingCmd: this.kbdPendingCmd, kbdEnabled: this.kbdEnabled,
      scancodeSet: this.scancodeSet, breakPrefix: this.breakPrefix, auxPendingCmd: this.auxPendingCmd,
      auxEnabled: this.auxEnabled, auxSampleRate: this.auxSampleRate, auxResolution: this.auxResolution,
      auxScaling21: this.auxScaling21, auxButtons: this.auxButtons, auxWrap: this.auxWrap,
    };
  }

  loadState(s: DeviceState): void {
    this.out = (s.out as { byte: number; aux: boolean }[]).map((o) => ({ ...o }));
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(s)) if (k !== 'out' && k in self) self[k] = v;
    this.updateIrq();
  }
}
