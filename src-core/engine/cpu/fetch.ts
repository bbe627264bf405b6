// Instruction fetch: the decoded-block cache the run loop executes from, and the single
// instruction path for code that cannot be cached (crossing a page, not in RAM, single-step).
// Blocks are keyed by the physical address of their first byte and validated against RAM
// before use, so self-modifying code and DMA need no write tracking.
import type { Cpu } from './cpu.ts';
import { Instr, decode } from './decode.ts';
import type { ByteFetch } from './decode.ts';
import { Block, ENDS_BLOCK, MAX_BLOCK } from './block.ts';
import { ACC_FETCH, ACC_USER, T_XS, translate } from './paging.ts';
import { SEG_FETCH, checkFetch } from './system/seg-limits.ts';
const CS = 1; // local copy: hot-path constant
const TLB_MASK = 4095;
export const ICACHE_SIZE = 1 << 16;
export const BCACHE_SIZE = 1 << 14;

/** Byte fetcher for an instruction starting at linear address `base` (translates per byte). */
function fetchByteAt(c: Cpu, base: number): ByteFetch {
  return (i: number): number => {
    const lin = base + i;
    const po = lin & 0xfff;
    const vpn = (lin - po) / 4096;
    const t = vpn & TLB_MASK;
    let phys: number;
    if (c.tlbVpn[t] === vpn && (c.tlbPerm[t]! & (T_XS << c.userShift)) !== 0) phys = c.tlbPhys[t]! + po;
    else phys = translate(c, lin, ACC_FETCH | (c.cpl === 3 ? ACC_USER : 0));
    return c.bus.read8(phys);
  };
}

/** The cached block at RIP, (re)decoding it when missing or stale; null when not cacheable. */
export function fetchBlock(c: Cpu): Block | null {
  let lin: number;
  if (c.codeMode === 64) lin = c.rip;
  else {
    // CS has a limit: the single-instruction path checks each fetch against it.
    if ((c.segChk & SEG_FETCH) !== 0 && c.rip > c.sLimit[CS]!) return null;
    lin = (c.sBase[CS]! + c.rip) >>> 0;
  }
  const po = lin & 0xfff;
  const vpn = (lin - po) / 4096;
  const t = vpn & TLB_MASK;
  let off: number;
  let phys: number;
  if (c.tlbVpn[t] === vpn && (c.tlbPerm[t]! & (T_XS << c.userShift)) !== 0) {
    off = c.tlbOff[t]!;
    phys = c.tlbPhys[t]! + po;
  } else {
    phys = translate(c, lin, ACC_FETCH | (c.cpl === 3 ? ACC_USER : 0));
    off = c.tlbOff[t]!;
  }
  if (off < 0) return null;
  const slot = (phys ^ (phys >>> 14)) & (BCACHE_SIZE - 1);
  let b = c.bcache[slot];
  if (b !== undefined && b.phys === phys && b.mode === c.codeMode) {
    const w = b.words;
    const r = c.ram32;
    const w0 = b.word0;
    const nw = b.nwords;
    let k = 0;
    while (k < nw && r[w0 + k] === w[k]) k++;
    if (k === nw) return (c.segChk & SEG_FETCH) !== 0 && !insideCs(c, b) ? null : b;
  }
  if (b === undefined) {
    b = new Block();
    c.bcache[slot] = b;
  }
  if (!buildBlock(c, b, phys, off + po, po)) return null;
  return (c.segChk & SEG_FETCH) !== 0 && !insideCs(c, b) ? null : b;
}

/** The whole block lies inside the CS limit (else it runs one checked instruction at a time). */
function insideCs(c: Cpu, b: Block): boolean {
  const last = b.instrs[b.n - 1]!;
  return c.rip + (last.phys - b.phys) + last.len - 1 <= c.sLimit[CS]!;
}

function buildBlock(c: Cpu, b: Block, phys: number, at: number, po: number): boolean {
  const mode = c.codeMode;
  const ram = c.ram;
  let pos = 0;
  let n = 0;
  b.phys = -1;
  // New contents: compiled code for the old ones is stale.
  b.jit = null;
  b.hits = 0;
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
  for (let k = 0; k < nw; k++) b.words[k] = c.ram32[w0 + k]!;
  b.word0 = w0;
  b.nwords = nw;
  return true;
}

/** The decoded instruction at RIP (cached per physical address when inside one RAM page). */
export function fetchInstr(c: Cpu): Instr {
  if ((c.segChk & SEG_FETCH) !== 0) {
    // Outside 64-bit mode with a CS limit: nothing is fetched beyond it (#GP(0)).
    checkFetch(c, 1);
    const ins = fetchInstrAt(c);
    checkFetch(c, ins.len);
    return ins;
  }
  return fetchInstrAt(c);
}

function fetchInstrAt(c: Cpu): Instr {
  const lin = c.codeMode === 64 ? c.rip : (c.sBase[CS]! + c.rip) >>> 0;
  const po = lin & 0xfff;
  const vpn = (lin - po) / 4096;
  const t = vpn & TLB_MASK;
  let off: number;
  let phys: number;
  if (c.tlbVpn[t] === vpn && (c.tlbPerm[t]! & (T_XS << c.userShift)) !== 0) {
    off = c.tlbOff[t]!;
    phys = c.tlbPhys[t]! + po;
  } else {
    phys = translate(c, lin, ACC_FETCH | (c.cpl === 3 ? ACC_USER : 0));
    off = c.tlbOff[t]!;
  }
  if (off >= 0) {
    const slot = phys & (ICACHE_SIZE - 1);
    const hit = c.icache[slot];
    const ram = c.ram;
    const at = off + po;
    if (hit !== undefined && hit.phys === phys && hit.mode === c.codeMode) {
      const b = hit.bytes;
      const len = hit.len;
      let k = 0;
      while (k < len && ram[at + k] === b[k]) k++;
      if (k === len) return hit;
    }
    // Decode; cache only instructions wholly inside this RAM page. The record is untagged
    // first: a fetch fault part-way through decoding must not leave it half-rewritten under
    // its old tag (and old handler).
    const fresh = hit ?? new Instr();
    fresh.phys = -1;
    decode(fresh, fetchByteAt(c, lin), c.codeMode);
    if (po + fresh.len <= 4096) {
      fresh.bytes.set(ram.subarray(at, at + fresh.len));
      fresh.phys = phys;
      c.icache[slot] = fresh;
      return fresh;
    }
    fresh.phys = -1;
    c.icache[slot] = undefined;
    return fresh;
  }
  const ins = decode(c.scratch, fetchByteAt(c, lin), c.codeMode);
  ins.phys = -1;
  return ins;
}
