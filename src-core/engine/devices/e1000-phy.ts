// The copper PHY behind the 82540EM's MDI interface: a Marvell 88E1011 at PHY address 1, reached
// through the MAC's MDIC register. The virtual cable is always plugged into a 1000BASE-T full
// duplex link partner, so auto-negotiation completes as soon as software (re)starts it, and the
// MAC is told (a link status change interrupt) so the driver's watchdog brings the link up.
import type { DeviceState } from '../device.ts';
import {
  MDIC_DATA_MASK, MDIC_ERROR, MDIC_OP_READ, MDIC_OP_WRITE, MDIC_PHY_SHIFT, MDIC_READY, MDIC_REG_SHIFT,
} from './e1000-regs.ts';

export const PHY_ADDRESS = 1;

/** MII register numbers. */
export const PHY = {
  CTRL: 0,
  STATUS: 1,
  ID1: 2,
  ID2: 3,
  AUTONEG_ADV: 4,
  LP_ABILITY: 5,
  AUTONEG_EXP: 6,
  GIG_CTRL: 9,
  GIG_STATUS: 10,
  EXT_STATUS: 15,
  M88_SPEC_CTRL: 16,
  M88_SPEC_STATUS: 17,
  M88_INT_ENABLE: 18,
  M88_INT_STATUS: 19,
  M88_EXT_SPEC_CTRL: 20,
  M88_RX_ERR_CNT: 21,
} as const;

const CTRL_RESET = 0x8000;
const CTRL_AUTONEG_EN = 0x1000;
const CTRL_RESTART_AUTONEG = 0x0200;

const STATUS_LINK = 0x0004;
const STATUS_AUTONEG_DONE = 0x0020;
/** Capabilities (10/100 half and full, extended status, preamble suppression, autoneg able). */
const STATUS_BASE = 0x7949;

/** 88E1011 PHY identifier: OUI 0x005043, model 0x02, revision 0 (the driver masks the revision). */
const ID1 = 0x0141;
const ID2 = 0x0c20;

/** Power-on values. */
function defaults(): Uint16Array {
  const r = new Uint16Array(32);
  r[PHY.CTRL] = 0x1140; // autoneg enabled, full duplex, 1000 Mb/s
  r[PHY.STATUS] = STATUS_BASE;
  r[PHY.ID1] = ID1;
  r[PHY.ID2] = ID2;
  r[PHY.AUTONEG_ADV] = 0x0de1; // 10/100 half/full, pause
  r[PHY.GIG_CTRL] = 0x0e00; // advertise 1000BASE-T full and half duplex
  r[PHY.EXT_STATUS] = 0x3000; // 1000BASE-T full and half duplex capable
  r[PHY.M88_SPEC_CTRL] = 0x0068;
  r[PHY.M88_EXT_SPEC_CTRL] = 0x0d60;
  return r;
}

/** Registers that report state: software writes do not change them. */
const READ_ONLY = new Set<number>([
  PHY.STATUS, PHY.ID1, PHY.ID2, PHY.LP_ABILITY, PHY.AUTONEG_EXP, PHY.GIG_STATUS, PHY.EXT_STATUS,
  PHY.M88_SPEC_STATUS, PHY.M88_INT_STATUS, PHY.M88_RX_ERR_CNT,
]);

export class E1000Phy {
  regs = defaults();
  /** The virtual cable: a link partner is always there unless a test unplugs it. */
  cable = true;
  /** Called when the link comes up or goes down (the MAC raises LSC). */
  onLinkChange: (() => void) | undefined;

  constructor() {
    this.negotiate(false);
  }

  get linkUp(): boolean {
    return (this.regs[PHY.STATUS]! & STATUS_LINK) !== 0;
  }

  /** Auto-negotiation with the (always 1000BASE-T full duplex) partner finishes at once. */
  private negotiate(notify: boolean): void {
    const was = this.linkUp;
    const r = this.regs;
    if (this.cable) {
      r[PHY.STATUS] = STATUS_BASE | STATUS_LINK | STATUS_AUTONEG_DONE;
      r[PHY.LP_ABILITY] = 0xc1e1; // partner: ack, next page, 10/100 half/full
      r[PHY.AUTONEG_EXP] = 0x0001; // partner is autoneg able
      r[PHY.GIG_STATUS] = 0x3c00; // local and remote receivers OK, partner 1000 full/half
      r[PHY.M88_SPEC_STATUS] = 0xac00; // 1000 Mb/s, full duplex, speed/duplex resolved, link
    } else {
      r[PHY.STATUS] = STATUS_BASE;
      r[PHY.LP_ABILITY] = 0;
      r[PHY.AUTONEG_EXP] = 0;
      r[PHY.GIG_STATUS] = 0;
      r[PHY.M88_SPEC_STATUS] = 0;
    }
    if (notify && was !== this.linkUp) this.onLinkChange?.();
  }

  /**
   * A PHY reset or autoneg restart: on a wire the link drops and comes back once negotiation
   * is done, and the MAC signals that change (LSC), which is how drivers notice the link is up
   * after they configured the PHY. Here negotiation is instant, so the change is signalled at once.
   */
  private renegotiate(): void {
    this.negotiate(false);
    if (this.linkUp) this.onLinkChange?.();
  }

  /** Plug or unplug the virtual cable. */
  setCable(plugged: boolean): void {
    this.cable = plugged;
    this.negotiate(true);
  }

  read(reg: number): number {
    return this.regs[reg & 31]!;
  }

  write(reg: number, value: number): void {
    reg &= 31;
    value &= 0xffff;
    if (READ_ONLY.has(reg)) return;
    if (reg === PHY.CTRL) {
      if (value & CTRL_RESET) {
        // A PHY reset keeps the link partner: negotiation runs again straight after it.
        const keep = this.regs[PHY.AUTONEG_ADV]!;
        const gig = this.regs[PHY.GIG_CTRL]!;
        this.regs = defaults();
        this.regs[PHY.AUTONEG_ADV] = keep;
        this.regs[PHY.GIG_CTRL] = gig;
        this.renegotiate();
        return;
      }
      this.regs[PHY.CTRL] = value & ~CTRL_RESTART_AUTONEG; // self-clearing
      if (value & CTRL_RESTART_AUTONEG && value & CTRL_AUTONEG_EN) this.renegotiate();
      return;
    }
    this.regs[reg] = value;
  }

  /**
   * An MDIC write: runs the read or write on the PHY and returns the new MDIC value (ready bit
   * set; error bit when the PHY address is not ours or the opcode is invalid).
   */
  mdic(value: number): number {
    const phy = (value >>> MDIC_PHY_SHIFT) & 31;
    const reg = (value >>> MDIC_REG_SHIFT) & 31;
    const op = value & (3 << 26);
    if (phy !== PHY_ADDRESS || (op !== MDIC_OP_READ && op !== MDIC_OP_WRITE)) return (value | MDIC_READY | MDIC_ERROR) >>> 0;
    if (op === MDIC_OP_READ) return ((value & ~MDIC_DATA_MASK & ~MDIC_ERROR) | this.read(reg) | MDIC_READY) >>> 0;
    this.write(reg, value & MDIC_DATA_MASK);
    return ((value & ~MDIC_ERROR) | MDIC_READY) >>> 0;
  }

  /** Hardware reset (CTRL.PHY_RST, device reset): power-on registers, link negotiated again. */
  reset(): void {
    this.regs = defaults();
    this.negotiate(false);
  }

  saveState(): DeviceState {
    return { regs: this.regs.slice(), cable: this.cable };
  }

  loadState(s: DeviceState): void {
    this.regs = (s.regs as Uint16Array).slice();
    this.cable = s.cable as boolean;
  }
}
