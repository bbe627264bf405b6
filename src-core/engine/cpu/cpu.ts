// The interpreter's CPU object: architectural state, the software TLB and linear-memory
// accessors, the instruction cache and the run loop. Instruction semantics live in the
// exec-*.ts files, system behaviour (segments, interrupts, far transfers) in system/*.ts.
//
// Representation choices, made for speed: general registers are 32-bit halves in two
// Int32Arrays (no BigInt anywhere); linear addresses are JavaScript numbers holding the
// sign-extended 48-bit canonical value (exact in a double); arithmetic flags are lazy.
import type { BootCpuState, CpuCore } from '../cpu-api.ts';
import type { MemoryBus } from '../bus-memory.ts';
import type { IoBus } from '../bus-io.ts';
import type { DeviceState, InterruptSource } from '../device.ts';
import { Instr, decode } from './decode.ts';
import { Block, ENDS_BLOCK, MAX_BLOCK } from './block.ts';
import { ACC_FETCH, ACC_USER, ACC_WRITE, T_GLOBAL, T_RS, T_WS, T_XS, translate } from './paging.ts';
import { CR0_PG, EFER_LMA, EX_DB, EX_GP, EX_SS, IF } from './constants.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const TF = 0x100; // local copy: hot-path constant
const CS = 1; // local copy: hot-path constant
import { execute } from './exec.ts';
import { deliverPending, deliverInterrupt, checkInterrupts } from './system/interrupts.ts';
import { resetState, applyBootState } from './system/reset.ts';
import { saveCpuState, loadCpuState } from './system/snapshot.ts';
import { Fpu } from './fpu.ts';

/** Thrown (by identity) to unwind an instruction that faulted; details are on the Cpu. */
export const FAULT = { cpuFault: true };

const TLB_SIZE = 4096;
const TLB_MASK = TLB_SIZE - 1;
const ICACHE_SIZE = 1 << 16;
const BCACHE_SIZE = 1 << 14;

export class Cpu implements CpuCore {
  readonly bus: MemoryBus;
  readonly io: IoBus;
  ram: Uint8Array;
  dv: DataView;

  // General registers as halves: rl[i] low 32 bits, rh[i] high 32 bits (both int32).
  readonly rl = new Int32Array(16);
  readonly rh = new Int32Array(16);
  /** RIP (offset within CS); a sign-extended canonical number in 64-bit mode. */
  rip = 0;
  /** RIP of the instruction being executed (fault restart point). */
  ip0 = 0;
  /** EFLAGS; the arithmetic bits are only valid when flOp is 0 (see flags.ts). */
  flags = 2;
  flOp = 0;
  flSize = 32;
  flRes = 0;
  flResH = 0;
  flA = 0;
  flAH = 0;
  flB = 0;
  flBH = 0;
  flCf = 0;

  // Segment caches: ES CS SS DS FS GS LDTR TR.
  readonly sSel = new Int32Array(8);
  readonly sBase = new Float64Array(8);
  readonly sLimit = new Float64Array(8);
  readonly sAttr = new Int32Array(8);
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;

  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  xcr0 = 1;
  readonly dr = new Float64Array(8);

  /** Current privilege level, code size (16/32/64) and stack address size (16/32/64). */
  cpl = 0;
  codeMode = 16;
  stackMode = 16;
  /** 0 at CPL 0-2, 2 at CPL 3: shifts TLB permission bits to the user variants. */
  userShift = 0;

  // MSRs.
  star = 0; starHi = 0;
  lstar = 0;
  cstar = 0;
  fmask = 0;
  kernelGsBase = 0;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  patLo = 0x00070406;
  patHi = 0x00070406;
  apicBase = 0xfee00900;
  miscEnable = 1;
  tscAux = 0;
  tscOffset = 0;
  readonly msrStore = new Map<number, [number, number]>();

  // SSE state: 16 XMM registers as 4 int32 lanes each.
  readonly xmm = new Int32Array(64);
  mxcsr = 0x1f80;
  readonly fpu = new Fpu();

  // Pending-event state.
  halted = false;
  exitReq = false;
  nmiPending = false;
  nmiBlocked = false;
  /** Set when interrupts must be re-examined at the next boundary. */
  intCheck = true;
  /** Interrupt shadow after STI / MOV SS: no interrupt before the next instruction. */
  inhibit = false;
  instructionCount = 0;
  intSrc: InterruptSource | null = null;
  /** Exception being raised: vector, error code (-1 none). */
  exVec = -1;
  exCode = -1;
  /** Exception class of the event being delivered, for double-fault detection. */
  delivering = -1;
  /**
   * Debug/test hook seen before any exception or interrupt is delivered (rip is already the
   * faulting instruction, or the next one for traps and INT n). Returning true swallows the
   * event and makes run() return; the differential tests use it.
   */
  eventHook?: (vec: number, code: number, kind: string) => boolean;
  /** Called on a triple fault (the machine resets the CPU and devices). */
  onTripleFault?: () => void;
  /** Time source for RDTSC: returns the TSC value; default is the instruction count. */
  tscSource: () => number = () => this.instructionCount + this.executedInRun;
  executedInRun = 0;

  // Software TLB, direct-mapped by virtual page number.
  readonly tlbVpn = new Float64Array(TLB_SIZE).fill(NaN);
  readonly tlbOff = new Float64Array(TLB_SIZE);
  readonly tlbPhys = new Float64Array(TLB_SIZE);
  readonly tlbPerm = new Uint8Array(TLB_SIZE);
  tlbHasLarge = false;
  seenMapVersion = -1;

  // Decoded-instruction cache, keyed by physical address of the first byte.
  readonly icache: (Instr | undefined)[] = new Array(ICACHE_SIZE);
  readonly bcache: (Block | undefined)[] = new Array(BCACHE_SIZE);
  ram32: Int32Array;
  private scratch = new Instr();
  private fetchBase = 0; // linear address of the instruction being decoded
  /** High half of the last 64-bit memory or operand read. */
  mhi = 0;
  /** High half of the last 64-bit ALU result. */
  rhi = 0;
  /** Linear address of the current memory operand (read-modify-write reuses it). */
  eaLin = 0;

  constructor(bus: MemoryBus, io: IoBus) {
    this.bus = bus;
    this.io = io;
    this.ram = bus.ram;
    this.dv = new DataView(bus.ram.buffer, bus.ram.byteOffset, bus.ram.byteLength);
    this.ram32 = new Int32Array(bus.ram.buffer, bus.ram.byteOffset, bus.ram.byteLength >> 2);
    this.reset();
  }

  // ---- CpuCore ----

  reset(): void {
    resetState(this);
  }

  setBootState(state: BootCpuState): void {
    applyBootState(this, state);
  }

  setInterruptSource(src: InterruptSource): void {
    this.intSrc = src;
    this.intCheck = true;
  }

  notifyInterrupt(): void {
    this.intCheck = true;
  }

  raiseNmi(): void {
    this.nmiPending = true;
    this.intCheck = true;
  }

  requestExit(): void {
    this.exitReq = true;
  }

  saveState(): DeviceState {
    return saveCpuState(this);
  }

  loadState(state: DeviceState): void {
    loadCpuState(this, state);
  }

  run(budget: number): number {
    this.exitReq = false;
    this.intCheck = true; // devices may have raised lines without notifying
    if (this.bus.mapVersion !== this.seenMapVersion) this.tlbFlushAll();
    let n = 0;
    this.executedInRun = 0;
    while (n < budget && !this.exitReq) {
      if (this.intCheck) {
        if (this.inhibit) this.inhibit = false;
        else checkInterrupts(this);
      }
      if (this.halted) break;
      try {
        // The inner loop: find the block at RIP (validated against RAM), run its
        // instructions until one transfers control, faults or something needs attention.
        let prev: Block | null = null;
        outer: while (n < budget) {
          this.ip0 = this.rip;
          let blk: Block | null = null;
          const stepping = (this.flags & TF) !== 0; // single-step: one instruction at a time
          if (stepping) prev = null;
          else if (prev !== null && prev.nextRip === this.rip && prev.nextEpoch === this.epoch) {
            // Chained: same translation context, so only the bytes need re-checking.
            const b: Block = prev.next!;
            const w = b.words;
            const r = this.ram32;
            const w0 = b.word0;
            const nw = b.nwords;
            let k = 0;
            while (k < nw && r[w0 + k] === w[k]) k++;
            if (k === nw && b.phys === prev.nextPhys) blk = b;
          }
          if (blk === null && !stepping) {
            const rip = this.rip;
            const ep = this.epoch;
            blk = this.fetchBlock();
            if (prev !== null && blk !== null && ep === this.epoch) {
              prev.next = blk;
              prev.nextRip = rip;
              prev.nextEpoch = ep;
              prev.nextPhys = blk.phys;
            }
          }
          prev = blk;
          if (blk === null) {
            // Not cacheable (crosses a page, or not RAM): one instruction at a time.
            const ins = this.fetchInstr();
            const tf = this.flags & TF;
            const next = this.rip + ins.len;
            this.rip = this.codeMode === 64 ? next : this.codeMode === 32 ? next >>> 0 : next & 0xffff;
            execute(this, ins);
            n++;
            this.executedInRun = n;
            if (tf !== 0) deliverInterrupt(this, EX_DB, -1, 'trap');
            if (this.intCheck || this.exitReq || this.halted) break;
            continue;
          }
          const instrs = blk.instrs;
          const cnt = blk.n;
          const mode = this.codeMode;
          // TF is clear here and only POPF/IRET (which end blocks) can set it.
          for (let i = 0; i < cnt; i++) {
            const ins = instrs[i]!;
            const start = this.rip;
            this.ip0 = start;
            let next = start + ins.len;
            if (mode !== 64) next = mode === 32 ? next >>> 0 : next & 0xffff;
            this.rip = next;
            execute(this, ins);
            n++;
            if (this.rip !== next || this.intCheck || this.exitReq || this.halted || n >= budget) {
              this.executedInRun = n;
              if (this.intCheck || this.exitReq || this.halted) break outer;
              break;
            }
          }
          this.executedInRun = n;
        }
      } catch (e) {
        if (e !== FAULT) throw e;
        n++;
        this.executedInRun = n;
        deliverPending(this);
      }
    }
    this.instructionCount += n;
    this.executedInRun = 0;
    return n;
  }

  /** Raise an exception: records it and unwinds the current instruction. */
  fault(vec: number, code = -1): never {
    this.exVec = vec;
    this.exCode = code;
    throw FAULT;
  }

  // ---- mode bookkeeping ----

  /** Recompute code/stack size and CPL-derived fields after CS/SS/CR0/EFER changes. */
  updateMode(): void {
    const a = this.sAttr[CS]!;
    if (!(this.cr0 & 1)) {
      this.codeMode = (a & 0x4000) ? 32 : 16; // real mode keeps the cached D bit ("unreal" code is rare)
      this.cpl = 0;
    } else if (this.flags & 0x20000) {
      this.codeMode = 16;
      this.cpl = 3;
    } else {
      this.codeMode = (this.efer & EFER_LMA) && (a & 0x2000) ? 64 : (a & 0x4000) ? 32 : 16;
      this.cpl = this.sSel[CS]! & 3;
    }
    this.stackMode = this.codeMode === 64 ? 64 : (this.sAttr[2]! & 0x4000) ? 32 : 16;
    this.userShift = this.cpl === 3 ? 2 : 0;
    this.epoch++;
  }

  // ---- TLB ----

  tlbFill(vpn: number, physPage: number, perm: number): void {
    const i = vpn & TLB_MASK;
    this.tlbVpn[i] = vpn;
    this.tlbPhys[i] = physPage;
    this.tlbOff[i] = this.bus.ramOffset(physPage);
    this.tlbPerm[i] = perm;
  }

  /** Bumped whenever translations or the decode context may have changed. */
  epoch = 0;

  tlbFlushAll(): void {
    this.epoch++;
    this.tlbVpn.fill(NaN);
    this.tlbHasLarge = false;
    this.seenMapVersion = this.bus.mapVersion;
  }

  /** CR3 reload: drop everything but global entries. */
  tlbFlushNonGlobal(): void {
    this.epoch++;
    const v = this.tlbVpn;
    const p = this.tlbPerm;
    for (let i = 0; i < TLB_SIZE; i++) if (!(p[i]! & T_GLOBAL)) v[i] = NaN;
  }

  tlbFlushPage(lin: number): void {
    this.epoch++;
    if (this.tlbHasLarge) {
      this.tlbFlushAll();
      return;
    }
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const i = vpn & TLB_MASK;
    if (this.tlbVpn[i] === vpn) this.tlbVpn[i] = NaN;
  }

  /** Physical address of `lin` for an access by the current privilege (may fault). */
  physFor(lin: number, write: boolean, fetch = false): number {
    let acc = write ? ACC_WRITE : 0;
    if (this.cpl === 3) acc |= ACC_USER;
    if (fetch) acc |= ACC_FETCH;
    return translate(this, lin, acc);
  }

  // ---- linear memory access (fast path through the TLB) ----

  rd8(lin: number): number {
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const i = vpn & TLB_MASK;
    if (this.tlbVpn[i] === vpn && (this.tlbPerm[i]! & (T_RS << this.userShift)) !== 0) {
      const o = this.tlbOff[i]!;
      if (o >= 0) return this.ram[o + po]!;
      return this.bus.read8(this.tlbPhys[i]! + po);
    }
    return this.bus.read8(this.physFor(lin, false));
  }

  rd16(lin: number): number {
    const po = lin & 0xfff;
    if (po <= 0xffe) {
      const vpn = (lin - po) / 4096;
      const i = vpn & TLB_MASK;
      if (this.tlbVpn[i] === vpn && (this.tlbPerm[i]! & (T_RS << this.userShift)) !== 0) {
        const o = this.tlbOff[i]!;
        if (o >= 0) return this.dv.getUint16(o + po, true);
      }
    }
    return this.rd8(lin) | (this.rd8(lin + 1) << 8);
  }

  /** Returns the value as int32. */
  rd32(lin: number): number {
    const po = lin & 0xfff;
    if (po <= 0xffc) {
      const vpn = (lin - po) / 4096;
      const i = vpn & TLB_MASK;
      if (this.tlbVpn[i] === vpn && (this.tlbPerm[i]! & (T_RS << this.userShift)) !== 0) {
        const o = this.tlbOff[i]!;
        if (o >= 0) return this.dv.getInt32(o + po, true);
        return this.bus.read32(this.tlbPhys[i]! + po) | 0;
      }
      const phys = this.physFor(lin, false);
      return this.bus.read32(phys) | 0;
    }
    return this.rd8(lin) | (this.rd8(lin + 1) << 8) | (this.rd8(lin + 2) << 16) | (this.rd8(lin + 3) << 24);
  }

  /** Returns the low half; the high half goes to this.mhi. */
  rd64(lin: number): number {
    const po = lin & 0xfff;
    if (po <= 0xff8) {
      const vpn = (lin - po) / 4096;
      const i = vpn & TLB_MASK;
      if (this.tlbVpn[i] === vpn && (this.tlbPerm[i]! & (T_RS << this.userShift)) !== 0) {
        const o = this.tlbOff[i]!;
        if (o >= 0) {
          this.mhi = this.dv.getInt32(o + po + 4, true);
          return this.dv.getInt32(o + po, true);
        }
      }
    }
    const lo = this.rd32(lin);
    this.mhi = this.rd32(lin + 4);
    return lo;
  }

  /** Translate for writing; returns the RAM offset or -1 (then `wrPhys` holds the address). */
  private wrOff(lin: number, po: number): number {
    const vpn = (lin - po) / 4096;
    const i = vpn & TLB_MASK;
    if (this.tlbVpn[i] === vpn && (this.tlbPerm[i]! & (T_WS << this.userShift)) !== 0) {
      const o = this.tlbOff[i]!;
      if (o >= 0) return o + po;
      this.wrPhys = this.tlbPhys[i]! + po;
      return -1;
    }
    const phys = this.physFor(lin, true);
    const o = this.bus.ramOffset(phys);
    if (o >= 0) return o;
    this.wrPhys = phys;
    return -1;
  }
  private wrPhys = 0;

  wr8(lin: number, v: number): void {
    const o = this.wrOff(lin, lin & 0xfff);
    if (o >= 0) this.ram[o] = v;
    else {
      this.bus.write8(this.wrPhys, v & 0xff);
      this.afterMmioWrite();
    }
  }

  /** An MMIO write may have remapped memory (a PCI BAR, a ROM shadow): drop stale TLB entries. */
  private afterMmioWrite(): void {
    if (this.bus.mapVersion !== this.seenMapVersion) this.tlbFlushAll();
  }

  wr16(lin: number, v: number): void {
    const po = lin & 0xfff;
    if (po <= 0xffe) {
      const o = this.wrOff(lin, po);
      if (o >= 0) this.dv.setUint16(o, v & 0xffff, true);
      else {
        this.bus.write16(this.wrPhys, v & 0xffff);
        this.afterMmioWrite();
      }
      return;
    }
    this.checkWritable(lin + 1);
    this.wr8(lin, v);
    this.wr8(lin + 1, v >> 8);
  }

  wr32(lin: number, v: number): void {
    const po = lin & 0xfff;
    if (po <= 0xffc) {
      const o = this.wrOff(lin, po);
      if (o >= 0) this.dv.setInt32(o, v | 0, true);
      else {
        this.bus.write32(this.wrPhys, v >>> 0);
        this.afterMmioWrite();
      }
      return;
    }
    this.checkWritable(lin + 3);
    this.wr8(lin, v);
    this.wr8(lin + 1, v >> 8);
    this.wr8(lin + 2, v >> 16);
    this.wr8(lin + 3, v >> 24);
  }

  wr64(lin: number, lo: number, hi: number): void {
    const po = lin & 0xfff;
    if (po <= 0xff8) {
      const o = this.wrOff(lin, po);
      if (o >= 0) {
        this.dv.setInt32(o, lo | 0, true);
        this.dv.setInt32(o + 4, hi | 0, true);
      } else {
        const p = this.wrPhys;
        this.bus.write32(p, lo >>> 0);
        this.bus.write32(p + 4, hi >>> 0);
        this.afterMmioWrite();
      }
      return;
    }
    this.checkWritable(lin + 7);
    this.wr32(lin, lo);
    this.wr32(lin + 4, hi);
  }

  /** Make sure a later write to `lin` cannot fault (multi-page writes stay all-or-nothing). */
  checkWritable(lin: number): void {
    this.wrOff(lin, lin & 0xfff);
  }

  // ---- instruction fetch ----

  /** Fetch byte i of the instruction at this.fetchBase. */
  private readonly fetchByte = (i: number): number => {
    const lin = this.fetchBase + i;
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const t = vpn & TLB_MASK;
    let phys: number;
    if (this.tlbVpn[t] === vpn && (this.tlbPerm[t]! & (T_XS << this.userShift)) !== 0) phys = this.tlbPhys[t]! + po;
    else phys = translate(this, lin, ACC_FETCH | (this.cpl === 3 ? ACC_USER : 0));
    return this.bus.read8(phys);
  };

  /** Linear address of the next instruction. */
  codeLinear(): number {
    return this.codeMode === 64 ? this.rip : (this.sBase[CS]! + this.rip) % TWO32;
  }

  /** The cached block at RIP, (re)decoding it when missing or stale; null when not cacheable. */
  fetchBlock(): Block | null {
    const lin = this.codeMode === 64 ? this.rip : (this.sBase[CS]! + this.rip) % TWO32;
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const t = vpn & TLB_MASK;
    let off: number;
    let phys: number;
    if (this.tlbVpn[t] === vpn && (this.tlbPerm[t]! & (T_XS << this.userShift)) !== 0) {
      off = this.tlbOff[t]!;
      phys = this.tlbPhys[t]! + po;
    } else {
      phys = translate(this, lin, ACC_FETCH | (this.cpl === 3 ? ACC_USER : 0));
      off = this.tlbOff[t]!;
    }
    if (off < 0) return null;
    const slot = (phys ^ (phys >>> 14)) & (BCACHE_SIZE - 1);
    let b = this.bcache[slot];
    if (b !== undefined && b.phys === phys && b.mode === this.codeMode) {
      const w = b.words;
      const r = this.ram32;
      const w0 = b.word0;
      const nw = b.nwords;
      let k = 0;
      while (k < nw && r[w0 + k] === w[k]) k++;
      if (k === nw) return b;
    }
    if (b === undefined) {
      b = new Block();
      this.bcache[slot] = b;
    }
    return this.buildBlock(b, lin, phys, off + po, po) ? b : null;
  }

  private buildBlock(b: Block, lin: number, phys: number, at: number, po: number): boolean {
    const mode = this.codeMode;
    const ram = this.ram;
    let pos = 0;
    let n = 0;
    b.phys = -1;
    while (n < MAX_BLOCK) {
      let ins = b.instrs[n];
      if (ins === undefined) {
        ins = new Instr();
        b.instrs[n] = ins;
      }
      // Decode only from this page's bytes; an instruction running past the page end ends
      // the block before it (it will run through the uncached path).
      const base = at + pos;
      const room = 4096 - (po + pos);
      let overflow = false;
      decode(ins, (i: number): number => {
        if (i >= room) {
          overflow = true;
          return 0x90;
        }
        return ram[base + i]!;
      }, mode);
      if (overflow || ins.len > room) break;
      ins.phys = phys + pos;
      pos += ins.len;
      n++;
      // FF /0 and /1 (INC/DEC) do not transfer control, unlike the rest of group 5.
      if ((ENDS_BLOCK[ins.op] && !(ins.op === 0xff && ins.ext < 2)) || ins.invalid || pos >= room) break;
    }
    if (n === 0) return false;
    b.n = n;
    b.mode = mode;
    b.phys = phys;
    const w0 = at >> 2;
    const w1 = (at + pos - 1) >> 2;
    const nw = w1 - w0 + 1;
    if (b.words.length < nw) b.words = new Int32Array(Math.max(nw, 16));
    for (let k = 0; k < nw; k++) b.words[k] = this.ram32[w0 + k]!;
    b.word0 = w0;
    b.nwords = nw;
    void lin;
    return true;
  }

  fetchInstr(): Instr {
    const lin = this.codeMode === 64 ? this.rip : (this.sBase[CS]! + this.rip) % TWO32;
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const t = vpn & TLB_MASK;
    let off: number;
    let phys: number;
    if (this.tlbVpn[t] === vpn && (this.tlbPerm[t]! & (T_XS << this.userShift)) !== 0) {
      off = this.tlbOff[t]!;
      phys = this.tlbPhys[t]! + po;
    } else {
      phys = translate(this, lin, ACC_FETCH | (this.cpl === 3 ? ACC_USER : 0));
      off = this.tlbOff[t]!;
    }
    if (off >= 0) {
      const slot = phys & (ICACHE_SIZE - 1);
      const c = this.icache[slot];
      const ram = this.ram;
      const at = off + po;
      if (c !== undefined && c.phys === phys && c.mode === this.codeMode) {
        const b = c.bytes;
        const len = c.len;
        let k = 0;
        while (k < len && ram[at + k] === b[k]) k++;
        if (k === len) return c;
      }
      this.fetchBase = lin;
      // Decode; cache only instructions wholly inside this RAM page.
      const fresh = c !== undefined && c.phys !== phys ? c : (c ?? new Instr());
      decode(fresh, this.fetchByte, this.codeMode);
      if (po + fresh.len <= 4096) {
        fresh.bytes.set(ram.subarray(at, at + fresh.len));
        fresh.phys = phys;
        this.icache[slot] = fresh;
        return fresh;
      }
      fresh.phys = -1;
      this.icache[slot] = undefined;
      return fresh;
    }
    this.fetchBase = lin;
    const ins = decode(this.scratch, this.fetchByte, this.codeMode);
    ins.phys = -1;
    return ins;
  }

  // ---- segmented access helpers used by system code ----

  /** Linear address for segment `s` and offset `off` (no limit checks: see the report). */
  segLin(s: number, off: number): number {
    if (this.codeMode === 64) {
      if (s < 4) return off;
      const l = this.sBase[s]! + off;
      if (l < -140737488355328 || l >= 140737488355328) this.fault(s === 2 ? EX_SS : EX_GP, 0);
      return l;
    }
    return (this.sBase[s]! + off) % TWO32;
  }

  /** Stack pointer as a number per the current stack size. */
  getSp(): number {
    if (this.stackMode === 64) return this.rh[4]! * TWO32 + (this.rl[4]! >>> 0);
    if (this.stackMode === 32) return this.rl[4]! >>> 0;
    return this.rl[4]! & 0xffff;
  }

  setSp(v: number): void {
    if (this.stackMode === 64) {
      this.rl[4] = v % TWO32 | 0;
      this.rh[4] = Math.floor(v / TWO32);
    } else if (this.stackMode === 32) {
      this.rl[4] = v | 0;
      this.rh[4] = 0;
    } else this.rl[4] = (this.rl[4]! & ~0xffff) | (v & 0xffff);
  }

  isPaging(): boolean {
    return (this.cr0 & CR0_PG) !== 0;
  }

  interruptsEnabled(): boolean {
    return (this.flags & IF) !== 0;
  }
}

export { T_RS };
