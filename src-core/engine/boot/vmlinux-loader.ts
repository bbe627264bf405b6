// Booting an uncompressed ELF vmlinux (as Firecracker does): copy its PT_LOAD segments to their
// physical addresses and enter startup_64 directly, with a synthesised boot_params. This skips
// the bzImage's XZ decompressor, which is most of a boot under an interpreter; the kernel is
// the same stock kernel (scripts/extract-vmlinux or `xz -d` on the payload produces it).
import { HangarError } from '../../api/errors.ts';
import type { MemoryBus } from '../bus-memory.ts';
import type { SetupHeader } from './bzimage.ts';
import { buildE820 } from './e820.ts';
import { entryState, placeInitrd, writeCmdline, writeZeroPage, type LinuxBootOptions, type LinuxBootResult } from './linux-loader.ts';

const PT_LOAD = 1;
/** Boot protocol version reported in the synthesised header (has acpi_rsdp_addr). */
const SYNTH_PROTOCOL = 0x020f;

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

interface Segment {
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

export function parseVmlinux(image: Uint8Array, what = 'kernel'): { entry: number; segments: Segment[] } {
  const bad = (why: string) => new HangarError('invalid-config', `${what} is not a usable x86-64 vmlinux: ${why}`);
  if (!isElf(image)) throw bad('no ELF magic');
  if (image.length < 64) throw bad('truncated ELF header');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image[4] !== 2) throw bad('not a 64-bit ELF file');
  if (image[5] !== 1) throw bad('not little-endian');
  if (dv.getUint16(18, true) !== 62) throw bad('machine is not x86-64');
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > image.length) throw bad('program headers run past the end of the file');
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const seg = {
      offset: Number(dv.getBigUint64(o + 8, true)),
      paddr: Number(dv.getBigUint64(o + 24, true)),
      filesz: Number(dv.getBigUint64(o + 32, true)),
      memsz: Number(dv.getBigUint64(o + 40, true)),
    };
    if (seg.offset + seg.filesz > image.length) throw bad(`segment ${i} runs past the end of the file`);
    segments.push(seg);
  }
  if (segments.length === 0) throw bad('no loadable segments');
  return { entry, segments };
}

export function loadVmlinux(mem: MemoryBus, opts: LinuxBootOptions): LinuxBootResult {
  const { entry, segments } = parseVmlinux(opts.kernel);
  const lowRamEnd = mem.lowRamEnd;
  let kernelEnd = 0;
  for (const s of segments) {
    if (s.paddr + s.memsz > lowRamEnd) {
      throw new HangarError('invalid-config',
        `kernel segment at ${s.paddr.toString(16)}h needs ${Math.ceil((s.paddr + s.memsz) / 1048576)} MiB of RAM; the guest has ${Math.floor(lowRamEnd / 1048576)} MiB`);
    }
    mem.writeBytes(s.paddr, opts.kernel.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) mem.writeBytes(s.paddr + s.filesz, new Uint8Array(s.memsz - s.filesz));
    kernelEnd = Math.max(kernelEnd, s.paddr + s.memsz);
  }
  // The entry is startup_64's physical address (vmlinux.lds: ENTRY(phys_startup_64)).
  if (entry >= lowRamEnd) throw new HangarError('invalid-config', `vmlinux entry ${entry.toString(16)}h is not a physical address in RAM`);
  const e820 = opts.e820 ?? buildE820(mem.lowRamEnd, mem.highRamEnd);
  writeCmdline(mem, opts.cmdline ?? '', 2047);
  // Leave room after the image for the kernel's early page tables and brk.
  const initrdAddr = placeInitrd(mem, opts.initrd, Math.min(0x8000_0000, lowRamEnd), kernelEnd + 0x100000);
  const initrdSize = initrdAddr ? opts.initrd!.length : 0;
  writeZeroPage(mem, {
    loadflags: 0x01, protocol: SYNTH_PROTOCOL, initrdAddr, initrdSize, acpiRsdp: opts.acpiRsdp, e820, lowRamEnd,
  });
  const header: SetupHeader = {
    setupSects: 0, kernelOffset: 0, kernelLength: opts.kernel.length, protocol: SYNTH_PROTOCOL, loadflags: 1,
    initrdAddrMax: 0x7fffffff, cmdlineSize: 2047, kernelAlignment: 0x200000, relocatable: false, xloadflags: 1,
    prefAddress: BigInt(segments[0]!.paddr), initSize: kernelEnd - segments[0]!.paddr, headerEnd: 0, versionString: '',
  };
  return { header, initrdAddr, initrdSize, e820, cpu: entryState(mem, 64, entry) };
}
