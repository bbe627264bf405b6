// Development probe: boot the Debian kernel (bzImage, 64-bit boot protocol entry) on the
// interpreter with only a stub UART, and print the kernel's serial output. It exercises the
// decompressor and early kernel init on this CPU alone; the real machine (devices, timers,
// interrupt controllers) lives in engine/ and boots the full system.
// Run: npx tsx bench/cpu/linux-early-boot.ts <vmlinuz> [instructions-in-millions] [--vmlinux]
// With --vmlinux the XZ payload is unpacked with the host's xz and the kernel ELF is loaded
// directly (skipping the decompressor, as a PVH-style loader would). --jit N sets the block
// compiler's threshold (0 = interpreter only), --jit-min M the fewest inlined instructions a
// compiled block must have; --trace prints RIP after every million instructions.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MemoryBus } from '../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../src-core/engine/bus-io.ts';
import { Cpu } from '../../src-core/engine/cpu/cpu.ts';
import { jitStats } from '../../src-core/engine/cpu/jit/compile.ts';

const image = readFileSync(process.argv[2] ?? '');
const budget = Number(process.argv[3] ?? 300) * 1e6;
const RAM = 256 << 20;
const bus = new MemoryBus(RAM);
const io = new IoBus();
const cpu = new Cpu(bus, io);
const jitArg = process.argv.indexOf('--jit');
if (jitArg > 0) cpu.jitThreshold = Number(process.argv[jitArg + 1]);
const minArg = process.argv.indexOf('--jit-min');
if (minArg > 0) cpu.jitMinInlined = Number(process.argv[minArg + 1]);
let line = '';
io.register(0x3f8, 8, {
  read: (port) => (port === 0x3fd ? 0x60 : port === 0x3fe ? 0xb0 : 0),
  write: (port, _s, v) => {
    if (port !== 0x3f8) return;
    if (v === 10) { console.log(`[${(cpu.instructionCount / 1e6).toFixed(0)}M] ${line}`); line = ''; }
    else if (v !== 13) line += String.fromCharCode(v);
  },
}, 'uart-stub');

const setupSects = image[0x1f1] || 4;
const pmOff = (setupSects + 1) * 512;
const zp = 0x7000;
const hdrEnd = 0x202 + image[0x201]!;
bus.writeBytes(zp + 0x1f1, image.subarray(0x1f1, hdrEnd));
let entry = 0x100200;
if (process.argv.includes('--vmlinux')) {
  const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  const at = image.indexOf(magic);
  const xz = spawnSync('xz', ['-dc'], { input: image.subarray(at), maxBuffer: 1 << 30 });
  const elf = xz.stdout as Buffer;
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('no ELF kernel inside the XZ payload');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * 56;
    if (elf.readUInt32LE(ph) !== 1) continue; // PT_LOAD
    const off = Number(elf.readBigUInt64LE(ph + 8));
    const paddr = Number(elf.readBigUInt64LE(ph + 24));
    const filesz = Number(elf.readBigUInt64LE(ph + 32));
    bus.writeBytes(paddr, elf.subarray(off, off + filesz));
  }
  const e = elf.readBigUInt64LE(0x18);
  entry = Number(e >= 0xffffffff80000000n ? e - 0xffffffff80000000n : e);
  console.log(`vmlinux: ${elf.length} bytes, entry phys 0x${entry.toString(16)}`);
} else bus.writeBytes(0x100000, image.subarray(pmOff));
const cmdline = 'console=ttyS0 earlyprintk=serial,ttyS0,115200 lpj=1000000 nokaslr noapic nolapic tsc=reliable panic=-1\0';
bus.writeBytes(0x20000, new TextEncoder().encode(cmdline));
const dv = new DataView(bus.ram.buffer);
dv.setUint8(zp + 0x210, 0xff); // type_of_loader
dv.setUint8(zp + 0x211, dv.getUint8(zp + 0x211) | 0x80); // CAN_USE_HEAP
dv.setUint16(zp + 0x224, 0xfe00, true); // heap_end_ptr
dv.setUint32(zp + 0x228, 0x20000, true); // cmd_line_ptr
dv.setUint32(zp + 0x238, cmdline.length, true); // cmdline_size
const e820 = [[0, 0x9fc00, 1], [0x9fc00, 0x100000 - 0x9fc00, 2], [0x100000, RAM - 0x100000, 1]];
e820.forEach(([a, s, t], i) => {
  const o = zp + 0x2d0 + i * 20;
  dv.setBigUint64(o, BigInt(a!), true);
  dv.setBigUint64(o + 8, BigInt(s!), true);
  dv.setUint32(o + 16, t!, true);
});
dv.setUint8(zp + 0x1e8, e820.length);
// GDT at 0x500: null, null, code64 (0x10), data (0x18).
dv.setBigUint64(0x510, 0x00af9a000000ffffn, true);
dv.setBigUint64(0x518, 0x00cf92000000ffffn, true);
// Identity map 0-1 GiB with 2 MiB pages at 0x9000/0xa000/0xb000.
dv.setBigUint64(0x9000, 0xa003n, true);
dv.setBigUint64(0xa000, 0xb003n, true);
for (let i = 0; i < 512; i++) dv.setBigUint64(0xb000 + i * 8, BigInt(i * 0x200000 + 0x83), true);
cpu.setBootState({
  mode: 'long64', rip: entry, rsp: 0x8ff0, rsi: zp, cr3: 0x9000, cr4: 0x20, efer: 0x500,
  gdt: { base: 0x500, limit: 0x1f },
  cs: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xa09b },
  data: { selector: 0x18, base: 0, limit: 0xffffffff, attributes: 0xc093 },
});
cpu.onTripleFault = () => { console.log(`TRIPLE FAULT at ${cpu.instructionCount}`); process.exit(1); };
const t0 = performance.now();
const c0 = process.cpuUsage();
let lastRip = 0;
while (cpu.instructionCount < budget) {
  cpu.run(1_000_000);
  if (process.argv.includes('--trace')) console.log(`  ${cpu.instructionCount / 1e6}M rip=${cpu.rip.toString(16)}`);
  if (cpu.halted) {
    console.log(`halted at rip=${cpu.rip.toString(16)} IF=${(cpu.flags >> 9) & 1}`);
    break;
  }
  lastRip = cpu.rip;
}
if (line) console.log(line);
const s = (performance.now() - t0) / 1000;
// CPU time as well as wall time: the machine is shared, CPU time is the comparable figure.
const cu = process.cpuUsage(c0);
const cs = (cu.user + cu.system) / 1e6;
console.log(`${cpu.instructionCount} instructions in ${s.toFixed(1)} s wall, ${cs.toFixed(1)} s cpu: ` +
  `${(cpu.instructionCount / cs / 1e6).toFixed(1)} MIPS, rip=${lastRip.toString(16)} cpl=${cpu.cpl} mode=${cpu.codeMode}`);
console.log(`jit threshold ${cpu.jitThreshold}: ${jitStats.blocks} blocks (${jitStats.instrs} instructions) compiled`);
