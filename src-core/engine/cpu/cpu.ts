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
import { Instr } from './decode.ts';
import type { Block } from './block.ts';
import { BCACHE_SIZE, ICACHE_SIZE, fetchBlock, fetchInstr } from './fetch.ts';
import { runLoop } from './run-loop.ts';
import { ACC_FETCH, ACC_USER, ACC_WRITE, T_GLOBAL, T_LARGE, T_RS, T_WS, T_XS, translate } from './paging.ts';
import { CR0_PG, EFER_LMA, EX_DB, EX_GP, EX_SS, IF } from './constants.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const TF = 0x100; // local copy: hot-path constant
const CS = 1; // local copy: hot-path constant
import { execute } from './exec.ts';
import { deliverPending, deliverInterrupt, checkInterrupts } from './system/interrupts.ts';
import { resetState, applyBootState } from './system/reset.ts';
import { saveCpuState, loadCpuState } from './system/snapshot.ts';
import { checkSeg, refreshSegChecks } from './system/seg-limits.ts';
import { Fpu } from './fpu.ts';
/** The first non-canonical address above the lower half (2^47). */
const CANON_END = 0x800000000000;

/**
 * V8 stores a number field as a small integer until a value outside that range (or a
 * fraction) arrives; the change gives the object a new hidden class and deoptimises every
 * compiled function that touched it, which made warm-up slow. Fields that hold addresses
 * (often beyond 2^30, or computed in floating point) start out as doubles instead.
 */
export function doubleFields<T extends object>(o: T, keys: readonly (keyof T)[]): void {
  const r = o as Record<keyof T, unknown>;
  for (const k of keys) {
    const v = r[k];
    r[k] = 0.5;
    r[k] = v;
  }
}

/** Thrown (by identity) to unwind an instruction that faulted; details are on the Cpu. */
export const FAULT = { cpuFault: true };

const TLB_SIZE = 4096;
const TLB_MASK = TLB_SIZE - 1;

export class Cpu implements CpuCore {
  /**
   * Initial jitThreshold of new CPUs (tests set 1 to compile every block on first use).
   * High because V8 optimises every compiled block separately (milliseconds of CPU each):
   * only blocks that run thousands of times repay that; kernel code is mostly short blocks.
   * Measured on a replayed Linux boot (same 1.25 G instructions): 20000 took 27-30 s of CPU
   * against 32-37 s at 8000; 1000 was far worse.
   */
  static defaultJitThreshold = 20000;
  /** Initial jitMinInlined (tests set 1). */
  static defaultJitMinInlined = 2;
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

  /** Segment registers whose accesses need limit/type checks (system/seg-limits.ts). */
  segChk = 0;
  /** Offset of the last checked memory operand (a read-modify-write re-checks it for writing). */
  segOff = 0;

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
  /** Executions of a decoded block before it is compiled (jit/); 0 turns the compiler off. */
  jitThreshold = Cpu.defaultJitThreshold;
  /** Blocks with fewer instructions the compiler can inline stay interpreted. */
  jitMinInlined = Cpu.defaultJitMinInlined;
  /** Instructions a compiled block completed before the one that faulted. */
  jitDone = 0;

  // Software TLB, direct-mapped by virtual page number.
  readonly tlbVpn = new Float64Array(TLB_SIZE).fill(NaN);
  readonly tlbOff = new Float64Array(TLB_SIZE);
  readonly tlbPhys = new Float64Array(TLB_SIZE);
  readonly tlbPerm = new Uint8Array(TLB_SIZE);
  tlbHasLarge = false;
  /** Largest large-page size seen since the last full flush, in 4 KiB pages. */
  tlbLargeSpan = 0;
  seenMapVersion = -1;

  // Decoded-instruction cache, keyed by physical address of the first byte.
  readonly icache: (Instr | undefined)[] = new Array(ICACHE_SIZE);
  readonly bcache: (Block | undefined)[] = new Array(BCACHE_SIZE);
  ram32: Int32Array;
  /** Decode target for instructions that are not cached. */
  readonly scratch = new Instr();
  /** High half of the last 64-bit memory or operand read. */
  mhi = 0;
  /** High half of the last 64-bit ALU result. */
  rhi = 0;
  /** Linear address of the current memory operand (read-modify-write reuses it). */
  eaLin = 0;
  /** High half of the address operands.ts lin64h returned (the low half is its result). */
  eaHi = 0;

  constructor(bus: MemoryBus, io: IoBus) {
    this.bus = bus;
    this.io = io;
    this.ram = bus.ram;
    this.dv = new DataView(bus.ram.buffer, bus.ram.byteOffset, bus.ram.byteLength);
    this.ram32 = new Int32Array(bus.ram.buffer, bus.ram.byteOffset, bus.ram.byteLength >> 2);
    doubleFields(this, ['rip', 'ip0', 'eaLin', 'cr2', 'cr3', 'gdtBase', 'idtBase', 'kernelGsBase', 'apicBase']);
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
    return runLoop(this, budget);
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
    refreshSegChecks(this);
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
    this.tlbLargeSpan = 0;
    this.seenMapVersion = this.bus.mapVersion;
  }

  /** CR3 reload: drop everything but global entries. */
  tlbFlushNonGlobal(): void {
    this.epoch++;
    const v = this.tlbVpn;
    const p = this.tlbPerm;
    for (let i = 0; i < TLB_SIZE; i++) if (!(p[i]! & T_GLOBAL)) v[i] = NaN;
  }

  /** INVLPG: drop the page's entry and every cached piece of a large page that may cover it. */
  tlbFlushPage(lin: number): void {
    this.epoch++;
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const i = vpn & TLB_MASK;
    const v = this.tlbVpn;
    if (v[i] === vpn) v[i] = NaN;
    if (!this.tlbHasLarge) return;
    // The page size of a stale translation is unknown: drop large-page entries in the same
    // largest-page-sized region (over-invalidating is harmless). The TLB is indexed by the
    // low VPN bits, so a region's entries sit in `span` consecutive slots (all when span >=
    // the TLB size).
    const span = this.tlbLargeSpan;
    const first = Math.floor(vpn / span) * span;
    const perm = this.tlbPerm;
    const cnt = span < TLB_SIZE ? span : TLB_SIZE;
    for (let k = 0; k < cnt; k++) {
      const j = (first + k) & TLB_MASK;
      const e = v[j]!;
      if ((perm[j]! & T_LARGE) !== 0 && e >= first && e < first + span) v[j] = NaN;
    }
  }

  /** Physical address of `lin` for an access by the current privilege (may fault). */
  physFor(lin: number, write: boolean, fetch = false): number {
    let acc = write ? ACC_WRITE : 0;
    if (this.cpl === 3) acc |= ACC_USER;
    if (fetch) acc |= ACC_FETCH;
    return translate(this, lin, acc);
  }

  // ---- linear memory access (fast path through the TLB) ----
  // A multi-byte access that runs from the top of the lower canonical half (2^47 - 1) into
  // non-canonical addresses is #GP(0) before any paging check, as on hardware: the effective-
  // address checks see only its first byte, so the page-crossing paths below check its last.
  // (Linear addresses outside 64-bit mode stay below 2^32 and never reach it.)

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
    if (lin + 1 >= CANON_END) this.fault(EX_GP, 0);
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
    if (lin + 3 >= CANON_END) this.fault(EX_GP, 0);
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
    if (lin + 7 >= CANON_END) this.fault(EX_GP, 0);
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
    if (lin + 1 >= CANON_END) this.fault(EX_GP, 0);
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
    if (lin + 3 >= CANON_END) this.fault(EX_GP, 0);
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
    if (lin + 7 >= CANON_END) this.fault(EX_GP, 0);
    this.checkWritable(lin + 7);
    this.wr32(lin, lo);
    this.wr32(lin + 4, hi);
  }

  /** Make sure a later write to `lin` cannot fault (multi-page writes stay all-or-nothing). */
  checkWritable(lin: number): void {
    this.wrOff(lin, lin & 0xfff);
  }

  // ---- instruction fetch ----

  /** Linear address of the next instruction. */
  codeLinear(): number {
    return this.codeMode === 64 ? this.rip : (this.sBase[CS]! + this.rip) >>> 0;
  }

  /** The cached block at RIP, (re)decoding it when missing or stale; null when not cacheable. */
  fetchBlock(): Block | null {
    return fetchBlock(this);
  }

  /** The decoded instruction at RIP (cached per physical address when inside one RAM page). */
  fetchInstr(): Instr {
    return fetchInstr(this);
  }

  // ---- segmented access helpers used by system code ----

  /** Linear address for segment `s` and offset `off` of a `size`-byte access (checked
   * against the segment's limit and type outside 64-bit mode). */
  segLin(s: number, off: number, size = 1, write = false): number {
    if (this.codeMode === 64) {
      if (s < 4) return off;
      const l = this.sBase[s]! + off;
      if (l < -140737488355328 || l >= 140737488355328) this.fault(s === 2 ? EX_SS : EX_GP, 0);
      return l;
    }
    if ((this.segChk & (1 << s)) !== 0) checkSeg(this, s, off, size, write);
    return (this.sBase[s]! + off) >>> 0;
  }

  /** Stack pointer as a number per the current stack size. */
  getSp(): number {
    if (this.stackMode === 64) return this.rh[4]! * TWO32 + (this.rl[4]! >>> 0);
    if (this.stackMode === 32) return this.rl[4]! >>> 0;
    return this.rl[4]! & 0xffff;
  }

  setSp(v: number): void {
    if (this.stackMode === 64) {
      this.rl[4] = v | 0;
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
