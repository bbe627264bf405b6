// Direct Linux boot (x86 boot protocol 2.06+): place the protected-mode kernel at 1 MiB, the
// initrd high in low RAM, build the zero page (boot_params) with e820, command line and ACPI
// RSDP, and hand the CPU a state at the 64-bit entry (identity-mapped page tables, flat GDT)
// or at the 32-bit entry. Layout follows the one public VMMs use:
//   GDT 0x500, zero page 0x7000, stack top 0x8ff0, PML4 0x9000, PDPT 0xa000, PDs 0xb000-0xefff
//   (four, 2 MiB pages, identity map of the first 4 GiB), command line 0x20000, kernel 0x100000.
import { readFile } from 'node:fs/promises';
import { HangarError } from '../../api/errors.ts';
import type { MemoryBus } from '../bus-memory.ts';
import type { BootCpuState, SegmentSetup } from '../cpu-api.ts';
import { LOADFLAG_CAN_USE_HEAP, XLF_KERNEL_64, parseBzImage, type SetupHeader } from './bzimage.ts';
import { buildE820, type E820Entry } from './e820.ts';

export const GDT_ADDR = 0x500;
export const ZERO_PAGE = 0x7000;
export const STACK_TOP = 0x8ff0;
export const PML4_ADDR = 0x9000;
export const PDPT_ADDR = 0xa000;
export const PD_ADDR = 0xb000;
export const CMDLINE_ADDR = 0x20000;
export const KERNEL_ADDR = 0x100000;
const CMDLINE_MAX_DEFAULT = 255;

// GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18).
const GDT_CODE64 = 0x00af_9b00_0000_ffffn;
const GDT_CODE32 = 0x00cf_9b00_0000_ffffn;
const GDT_DATA = 0x00cf_9300_0000_ffffn;

export interface LinuxBootOptions {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  /** 64-bit entry (default) or the 32-bit protected-mode entry. */
  entry?: 64 | 32;
  acpiRsdp?: number;
  /** e820 map; by default derived from the memory bus. */
  e820?: E820Entry[];
}

export interface LinuxBootResult {
  cpu: BootCpuState;
  header: SetupHeader;
  initrdAddr: number;
  initrdSize: number;
  e820: E820Entry[];
}

/** Read kernel and initrd files, turning file-system errors into messages that name the file. */
export async function readBootFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HangarError('not-found', `${what} file not found: ${path}`);
    if (code === 'EISDIR') throw new HangarError('invalid-config', `${what} is a directory, not a file: ${path}`);
    if (code === 'EACCES') throw new HangarError('io', `${what} file is not readable: ${path}`);
    throw new HangarError('io', `cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
}

function segment(selector: number, desc: bigint): SegmentSetup {
  return { selector, base: 0, limit: 0xffffffff, attributes: Number((desc >> 40n) & 0xf0ffn) };
}

/** Write the NUL-terminated command line at CMDLINE_ADDR, refusing one the kernel would cut. */
export function writeCmdline(mem: MemoryBus, cmdline: string, max: number): void {
  const bytes = new TextEncoder().encode(cmdline);
  if (bytes.length > max) {
    throw new HangarError('invalid-config', `kernel command line is ${bytes.length} bytes; this kernel accepts at most ${max}`);
  }
  const z = new Uint8Array(bytes.length + 1);
  z.set(bytes);
  mem.writeBytes(CMDLINE_ADDR, z);
}

/** Place the initrd as high as possible below `limit`, page aligned, above `floor`. */
export function placeInitrd(mem: MemoryBus, initrd: Uint8Array | undefined, limit: number, floor: number): number {
  if (!initrd || initrd.length === 0) return 0;
  const addr = Math.floor((limit - initrd.length) / 4096) * 4096;
  if (addr < floor) {
    throw new HangarError('invalid-config',
      `initrd (${initrd.length} bytes) does not fit between the kernel and ${limit.toString(16)}h; give the guest more memory`);
  }
  mem.writeBytes(addr, initrd);
  return addr;
}

export interface ZeroPageFields {
  /** Setup header bytes 0x1F1.. from the kernel file (bzImage), or undefined to synthesise one. */
  setupHeader?: Uint8Array;
  loadflags: number;
  protocol: number;
  initrdAddr: number;
  initrdSize: number;
  acpiRsdp?: number;
  e820: E820Entry[];
  lowRamEnd: number;
}

/** Build boot_params at ZERO_PAGE. */
export function writeZeroPage(mem: MemoryBus, f: ZeroPageFields): void {
  const zp = new Uint8Array(4096);
  const dv = new DataView(zp.buffer);
  if (f.setupHeader) {
    zp.set(f.setupHeader, 0x1f1);
  } else {
    // No setup code (ELF vmlinux): the fields the kernel itself looks at.
    dv.setUint16(0x1fe, 0xaa55, true);
    dv.setUint32(0x202, 0x53726448, true);
    dv.setUint16(0x206, f.protocol, true);
    dv.setUint32(0x230, 0x200000, true); // kernel_alignment
    dv.setUint32(0x238, 2047, true); // cmdline_size
  }
  dv.setUint16(0x1fa, 0xffff, true); // vid_mode: normal
  dv.setUint8(0x210, 0xff); // type_of_loader: undefined/other
  dv.setUint8(0x211, f.loadflags | LOADFLAG_CAN_USE_HEAP);
  dv.setUint16(0x224, 0xfe00 - 0x200, true); // heap_end_ptr
  dv.setUint32(0x228, CMDLINE_ADDR, true);
  dv.setUint32(0x218, f.initrdAddr, true);
  dv.setUint32(0x21c, f.initrdSize, true);
  if (f.acpiRsdp !== undefined && f.protocol >= 0x020e) dv.setBigUint64(0x070, BigInt(f.acpiRsdp), true);
  if (f.e820.length > 128) throw new RangeError('e820 map has more than 128 entries');
  dv.setUint8(0x1e8, f.e820.length);
  f.e820.forEach((e, i) => {
    const o = 0x2d0 + i * 20;
    dv.setBigUint64(o, BigInt(e.addr), true);
    dv.setBigUint64(o + 8, BigInt(e.size), true);
    dv.setUint32(o + 16, e.type, true);
  });
  // Memory sizes for very old code paths: ext_mem_k (KiB above 1 MiB, capped) and alt_mem_k.
  dv.setUint16(0x002, Math.min(0xfc00, (f.lowRamEnd - KERNEL_ADDR) / 1024), true);
  dv.setUint32(0x1e0, Math.floor((f.lowRamEnd - KERNEL_ADDR) / 1024), true);
  mem.writeBytes(ZERO_PAGE, zp);
}

/** GDT, and for the 64-bit entry identity-mapped page tables; returns the entry CPU state. */
export function entryState(mem: MemoryBus, entry: 64 | 32, rip: number): BootCpuState {
  const gdt = new Uint8Array(32);
  const gdv = new DataView(gdt.buffer);
  gdv.setBigUint64(16, entry === 64 ? GDT_CODE64 : GDT_CODE32, true);
  gdv.setBigUint64(24, GDT_DATA, true);
  mem.writeBytes(GDT_ADDR, gdt);
  const cs = segment(0x10, entry === 64 ? GDT_CODE64 : GDT_CODE32);
  const data = segment(0x18, GDT_DATA);
  const common = {
    rip, rsp: STACK_TOP, rsi: ZERO_PAGE, rbx: 0, rbp: 0, rdi: 0,
    gdt: { base: GDT_ADDR, limit: gdt.length - 1 }, idt: { base: 0, limit: 0 }, cs, data,
  };
  if (entry === 32) return { mode: 'protected32', cr0: 0x11, ...common };
  // Identity-map the first 4 GiB with 2 MiB pages.
  const pt = new Uint8Array(0x6000);
  const pv = new DataView(pt.buffer);
  pv.setBigUint64(0, BigInt(PDPT_ADDR | 0x3), true);
  for (let i = 0; i < 4; i++) pv.setBigUint64(0x1000 + i * 8, BigInt((PD_ADDR + i * 0x1000) | 0x3), true);
  for (let i = 0; i < 2048; i++) pv.setBigUint64(0x2000 + i * 8, BigInt(i) * 0x200000n | 0x83n, true);
  mem.writeBytes(PML4_ADDR, pt);
  return { mode: 'long64', cr0: 0x8000_0031, cr3: PML4_ADDR, cr4: 0x20, efer: 0x500, ...common };
}

export function loadLinux(mem: MemoryBus, opts: LinuxBootOptions): LinuxBootResult {
  const header = parseBzImage(opts.kernel);
  const entry = opts.entry ?? 64;
  if (entry === 64 && !(header.xloadflags & XLF_KERNEL_64)) {
    throw new HangarError('unsupported', 'kernel has no 64-bit entry point (XLF_KERNEL_64 unset); use the 32-bit entry');
  }
  const e820 = opts.e820 ?? buildE820(mem.lowRamEnd, mem.highRamEnd);
  const lowRamEnd = mem.lowRamEnd;

  // Protected-mode kernel at 1 MiB; it must fit, with room for its own decompression.
  const kernel = opts.kernel.subarray(header.kernelOffset);
  const needed = Math.max(kernel.length, header.initSize);
  if (KERNEL_ADDR + needed > lowRamEnd) {
    throw new HangarError('invalid-config',
      `kernel needs ${Math.ceil((KERNEL_ADDR + needed) / 1048576)} MiB of RAM to unpack; the guest has ${Math.floor(lowRamEnd / 1048576)} MiB below 4 GiB`);
  }
  mem.writeBytes(KERNEL_ADDR, kernel);
  writeCmdline(mem, opts.cmdline ?? '', header.cmdlineSize > 0 ? header.cmdlineSize : CMDLINE_MAX_DEFAULT);
  // A relocatable 64-bit kernel decompresses at pref_address (16 MiB on Debian) when loaded
  // lower, so the initrd must stay above pref_address + init_size as well.
  const floor = Math.max(KERNEL_ADDR + needed, Number(header.prefAddress) + header.initSize);
  const initrdAddr = placeInitrd(mem, opts.initrd, Math.min(header.initrdAddrMax + 1, lowRamEnd), floor);
  const initrdSize = initrdAddr ? opts.initrd!.length : 0;
  writeZeroPage(mem, {
    setupHeader: opts.kernel.subarray(0x1f1, header.headerEnd),
    loadflags: header.loadflags,
    protocol: header.protocol,
    initrdAddr, initrdSize, acpiRsdp: opts.acpiRsdp, e820, lowRamEnd,
  });
  const cpu = entryState(mem, entry, entry === 64 ? KERNEL_ADDR + 0x200 : KERNEL_ADDR);
  return { header, initrdAddr, initrdSize, e820, cpu };
}
