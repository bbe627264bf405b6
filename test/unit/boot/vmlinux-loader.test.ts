import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { ZERO_PAGE } from '../../../src-core/engine/boot/linux-loader.ts';
import { isElf, loadVmlinux, parseVmlinux } from '../../../src-core/engine/boot/vmlinux-loader.ts';

const MIB = 1024 * 1024;

/** A minimal ELF64 x86-64 executable with one PT_LOAD segment (code + bss) at 16 MiB. */
function makeElf(opts: { machine?: number; bits?: number } = {}): Uint8Array {
  const code = Uint8Array.from([0xf4, 0xeb, 0xfd, 0x90]);
  const img = new Uint8Array(0x1000 + code.length);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, opts.bits ?? 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, opts.machine ?? 62, true);
  dv.setBigUint64(24, 0x1000000n, true); // e_entry (physical startup_64)
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 1, true);
  const ph = 64;
  dv.setUint32(ph, 1, true); // PT_LOAD
  dv.setBigUint64(ph + 8, 0x1000n, true); // p_offset
  dv.setBigUint64(ph + 16, 0xffffffff81000000n, true); // p_vaddr
  dv.setBigUint64(ph + 24, 0x1000000n, true); // p_paddr
  dv.setBigUint64(ph + 32, BigInt(code.length), true); // p_filesz
  dv.setBigUint64(ph + 40, 0x2000n, true); // p_memsz (with bss)
  img.set(code, 0x1000);
  return img;
}

describe('ELF vmlinux direct boot', () => {
  it('recognises and parses an x86-64 vmlinux', () => {
    const elf = makeElf();
    expect(isElf(elf)).toBe(true);
    const p = parseVmlinux(elf);
    expect(p.entry).toBe(0x1000000);
    expect(p.segments).toEqual([{ offset: 0x1000, paddr: 0x1000000, filesz: 4, memsz: 0x2000 }]);
  });

  it('rejects ELF files that are not x86-64 kernels', () => {
    expect(() => parseVmlinux(makeElf({ machine: 3 }))).toThrow(/not x86-64/);
    expect(() => parseVmlinux(makeElf({ bits: 1 }))).toThrow(/not a 64-bit/);
    expect(() => parseVmlinux(makeElf().subarray(0, 0x800))).toThrow(/past the end/);
  });

  it('loads segments at their physical addresses, zeroes bss, enters startup_64 with boot_params', () => {
    const mem = new MemoryBus(64 * MIB);
    mem.writeBytes(0x1000004, new Uint8Array(16).fill(0xaa)); // stale bytes where bss goes
    const initrd = new Uint8Array(5000).fill(7);
    const r = loadVmlinux(mem, { kernel: makeElf(), initrd, cmdline: 'console=ttyS0', acpiRsdp: 0xe0000 });
    expect(Array.from(mem.readBytes(0x1000000, 6))).toEqual([0xf4, 0xeb, 0xfd, 0x90, 0, 0]);
    expect(r.cpu.mode).toBe('long64');
    expect(r.cpu.rip).toBe(0x1000000);
    expect(r.cpu.rsi).toBe(ZERO_PAGE);
    const zp = new DataView(mem.readBytes(ZERO_PAGE, 4096).buffer);
    expect(zp.getUint32(0x202, true)).toBe(0x53726448); // synthesised "HdrS"
    expect(zp.getUint16(0x206, true)).toBeGreaterThanOrEqual(0x020e);
    expect(zp.getBigUint64(0x070, true)).toBe(0xe0000n);
    expect(zp.getUint32(0x218, true)).toBe(r.initrdAddr);
    expect(r.initrdAddr).toBeGreaterThan(0x1002000);
    expect(mem.readBytes(r.initrdAddr, 5000)).toEqual(initrd);
  });
});
