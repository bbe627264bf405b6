import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-core/api/errors.ts';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { parseBzImage } from '../../../src-core/engine/boot/bzimage.ts';
import { buildE820, E820_RAM, E820_RESERVED } from '../../../src-core/engine/boot/e820.ts';
import {
  CMDLINE_ADDR, GDT_ADDR, KERNEL_ADDR, PML4_ADDR, ZERO_PAGE, loadLinux, readBootFile,
} from '../../../src-core/engine/boot/linux-loader.ts';
import { makeBzImage } from './bzimage-fixture.ts';

const MIB = 1024 * 1024;

describe('bzImage header parsing', () => {
  it('reads protocol, setup size, limits and the version string', () => {
    const h = parseBzImage(makeBzImage({ setupSects: 27 }));
    expect(h.protocol).toBe(0x020f);
    expect(h.setupSects).toBe(27);
    expect(h.kernelOffset).toBe(28 * 512);
    expect(h.initrdAddrMax).toBe(0x7fffffff);
    expect(h.cmdlineSize).toBe(2047);
    expect(h.versionString).toBe('6.1.0-test (hangar@fixture) #1');
  });

  it('treats setup_sects 0 as 4', () => {
    expect(parseBzImage(makeBzImage({ setupSects: 0 })).kernelOffset).toBe(5 * 512);
  });

  it('rejects files that are not bzImages with a reason', () => {
    expect(() => parseBzImage(new Uint8Array(100), 'vmlinux')).toThrow(/vmlinux is not a Linux bzImage: only 100 bytes/);
    const noSig = makeBzImage();
    noSig[0x1fe] = 0;
    expect(() => parseBzImage(noSig)).toThrow(/0xAA55/);
    const noMagic = makeBzImage();
    noMagic[0x202] = 0x41;
    expect(() => parseBzImage(noMagic)).toThrow(/HdrS/);
    expect(() => parseBzImage(makeBzImage({ loadflags: 0 }))).toThrow(/zImage/);
    const truncated = makeBzImage().subarray(0, 5 * 512 + 100);
    expect(() => parseBzImage(truncated)).toThrow(/truncated/);
  });

  it('rejects too old and too new boot protocols', () => {
    expect(() => parseBzImage(makeBzImage({ protocol: 0x0204 }))).toThrow(/2\.04 is too old \(need 2\.06/);
    expect(() => parseBzImage(makeBzImage({ protocol: 0x0300 }))).toThrow(/3\.00 is newer than this loader/);
    try {
      parseBzImage(makeBzImage({ protocol: 0x0205 }));
    } catch (e) {
      expect(e).toBeInstanceOf(HangarError);
      expect((e as HangarError).code).toBe('unsupported');
    }
  });
});

describe('e820 map', () => {
  it('describes low RAM, the reserved holes and high RAM', () => {
    const m = buildE820(0xc000_0000, 0x1_4000_0000);
    expect(m).toEqual([
      { addr: 0, size: 0x9fc00, type: E820_RAM },
      { addr: 0x9fc00, size: 0x400, type: E820_RESERVED },
      { addr: 0xe0000, size: 0x20000, type: E820_RESERVED },
      { addr: 0x100000, size: 0xc000_0000 - 0x100000, type: E820_RAM },
      { addr: 0xfec0_0000, size: 0x140_0000, type: E820_RESERVED },
      { addr: 0x1_0000_0000, size: 0x4000_0000, type: E820_RAM },
    ]);
  });

  it('matches the memory bus for a guest with more than 3 GiB', () => {
    // Only layout math: the bus itself would allocate the RAM.
    const low = 0xc000_0000;
    const total = 4 * 1024 * MIB;
    const m = buildE820(low, 0x1_0000_0000 + (total - low));
    const ram = m.filter((e) => e.type === E820_RAM).reduce((s, e) => s + e.size, 0);
    expect(ram).toBe(total - (0x100000 - 0x9fc00));
  });
});

describe('Linux direct boot', () => {
  const kernel = makeBzImage({ payload: 64 * 1024 });
  const initrd = new Uint8Array(300_000).map((_, i) => i & 0xff);

  it('loads kernel, initrd, command line and a zero page a kernel can read', () => {
    const mem = new MemoryBus(128 * MIB);
    const r = loadLinux(mem, { kernel, initrd, cmdline: 'console=ttyS0 quiet', acpiRsdp: 0xe0000 });
    expect(mem.readBytes(KERNEL_ADDR, 64)).toEqual(kernel.subarray(5 * 512, 5 * 512 + 64));
    // initrd: page aligned, ends at or below the end of RAM, content intact
    expect(r.initrdAddr % 4096).toBe(0);
    expect(r.initrdAddr + initrd.length).toBeLessThanOrEqual(128 * MIB);
    expect(r.initrdAddr).toBeGreaterThan(0x1000000 + 0x100000);
    expect(mem.readBytes(r.initrdAddr, initrd.length)).toEqual(initrd);
    const zp = new DataView(mem.readBytes(ZERO_PAGE, 4096).buffer);
    expect(zp.getUint32(0x202, true)).toBe(0x53726448); // header copied
    expect(zp.getUint8(0x210)).toBe(0xff); // type_of_loader
    expect(zp.getUint8(0x211) & 0x81).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(zp.getUint32(0x218, true)).toBe(r.initrdAddr);
    expect(zp.getUint32(0x21c, true)).toBe(initrd.length);
    expect(zp.getUint32(0x228, true)).toBe(CMDLINE_ADDR);
    expect(zp.getBigUint64(0x070, true)).toBe(0xe0000n);
    expect(new TextDecoder().decode(mem.readBytes(CMDLINE_ADDR, 20))).toBe('console=ttyS0 quiet\0');
    // e820 in the zero page matches the bus layout
    const n = zp.getUint8(0x1e8);
    expect(n).toBe(r.e820.length);
    const last = 0x2d0 + (n - 2) * 20; // low RAM above 1 MiB is the second-last entry
    expect(Number(zp.getBigUint64(last, true)) + Number(zp.getBigUint64(last + 8, true))).toBe(mem.lowRamEnd);
  });

  it('puts the initrd below initrd_addr_max', () => {
    const mem = new MemoryBus(256 * MIB);
    const max = 64 * MIB - 1;
    const r = loadLinux(mem, { kernel: makeBzImage({ initrdAddrMax: max }), initrd });
    expect(r.initrdAddr + initrd.length).toBeLessThanOrEqual(max + 1);
    expect(r.initrdAddr).toBe(Math.floor((max + 1 - initrd.length) / 4096) * 4096); // as high as allowed
  });

  it('enters the 64-bit entry with identity-mapped 2 MiB pages and the boot GDT', () => {
    const mem = new MemoryBus(64 * MIB);
    const r = loadLinux(mem, { kernel, cmdline: '' });
    expect(r.cpu.mode).toBe('long64');
    expect(r.cpu.rip).toBe(KERNEL_ADDR + 0x200);
    expect(r.cpu.rsi).toBe(ZERO_PAGE);
    expect(r.cpu.cr3).toBe(PML4_ADDR);
    expect(r.cpu.efer! & 0x500).toBe(0x500);
    expect(r.cpu.cr0! & 0x80000001).toBe(0x80000001 | 0);
    expect(r.cpu.cr4! & 0x20).toBe(0x20);
    expect(r.cpu.cs!.selector).toBe(0x10);
    expect(r.cpu.cs!.attributes & 0x2000).toBe(0x2000); // L bit
    expect(r.cpu.data!.selector).toBe(0x18);
    // Walk the page tables for 0x40201234 (PD 1, entry 1)
    const pml4e = Number(new DataView(mem.readBytes(PML4_ADDR, 8).buffer).getBigUint64(0, true));
    const pdpt = pml4e & ~0xfff;
    const pdpte = Number(new DataView(mem.readBytes(pdpt + 8, 8).buffer).getBigUint64(0, true));
    const pde = Number(new DataView(mem.readBytes((pdpte & ~0xfff) + 1 * 8, 8).buffer).getBigUint64(0, true));
    expect(pde & 0x83).toBe(0x83);
    expect((pde & ~0x1fffff) + (0x40201234 & 0x1fffff)).toBe(0x40201234);
    const gdt = new DataView(mem.readBytes(GDT_ADDR + 16, 16).buffer);
    expect(gdt.getBigUint64(0, true)).toBe(0x00af9b000000ffffn);
    expect(gdt.getBigUint64(8, true)).toBe(0x00cf93000000ffffn);
  });

  it('can enter at the 32-bit entry instead', () => {
    const mem = new MemoryBus(64 * MIB);
    const r = loadLinux(mem, { kernel, entry: 32 });
    expect(r.cpu.mode).toBe('protected32');
    expect(r.cpu.rip).toBe(KERNEL_ADDR);
    expect(r.cpu.rsi).toBe(ZERO_PAGE);
    expect(r.cpu.cs!.attributes & 0x4000).toBe(0x4000); // D bit
  });

  it('refuses a command line longer than the kernel accepts, and a kernel without a 64-bit entry', () => {
    const mem = new MemoryBus(64 * MIB);
    expect(() => loadLinux(mem, { kernel: makeBzImage({ cmdlineSize: 10 }), cmdline: 'console=ttyS0 x' })).toThrow(/at most 10/);
    expect(() => loadLinux(mem, { kernel: makeBzImage({ xloadflags: 0 }) })).toThrow(/64-bit entry/);
  });

  it('refuses an initrd that does not fit', () => {
    const mem = new MemoryBus(24 * MIB);
    expect(() => loadLinux(mem, { kernel, initrd: new Uint8Array(8 * MIB) })).toThrow(/does not fit/);
  });

  it('reports missing and unreadable files by name', async () => {
    await expect(readBootFile('/nonexistent/vmlinuz', 'kernel')).rejects.toThrow('kernel file not found: /nonexistent/vmlinuz');
    const dir = mkdtempSync(join(tmpdir(), 'hangar-boot-'));
    await expect(readBootFile(dir, 'initrd')).rejects.toThrow(/initrd is a directory/);
    writeFileSync(join(dir, 'k'), kernel);
    expect((await readBootFile(join(dir, 'k'), 'kernel')).length).toBe(kernel.length);
  });
});
