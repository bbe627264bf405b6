// System behaviour of the interpreter: mode switches, paging faults with CR2 and error
// codes, exception delivery and escalation, privilege checks, stack switches (TSS RSP0 and
// IST), SYSCALL/SYSRET, external interrupts, INVLPG, RDTSC and snapshots.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import {
  DATA, ISTACK, KCODE, KSTACK, Machine64, SEL_TSS, SEL_UCODE, SEL_UDATA, STUBS, UCODE, USTACK, le,
} from './helpers/machine64.ts';

const MOV_RAX = (v: number | bigint): number[] => [0x48, 0xb8, ...le(v, 8)];
const LTR = [0x66, 0xb8, ...le(SEL_TSS, 2), 0x0f, 0x00, 0xd8]; // mov ax, sel; ltr ax

/** Kernel code that drops to user mode at UCODE with RSP = USTACK via IRETQ. */
function toUser(rflags = 0x202): number[] {
  return [
    ...LTR,
    0x6a, SEL_UDATA, // push ss
    0x68, ...le(USTACK, 4), // push rsp
    0x68, ...le(rflags, 4), // push rflags
    0x6a, SEL_UCODE, // push cs
    0x68, ...le(UCODE, 4), // push rip
    0x48, 0xcf, // iretq
  ];
}

describe('mode switches', () => {
  it('goes from real mode through 32-bit protected mode to 64-bit long mode', () => {
    const bus = new MemoryBus(1 << 20);
    const cpu = new Cpu(bus, new IoBus());
    const put = (a: number, b: number[]): void => bus.writeBytes(a, new Uint8Array(b));
    put(0x7df0, [0x1f, 0x00, ...le(0x7e00, 4)]);
    put(0x7e00, [...le(0, 8), ...le(0x00cf9a000000ffffn, 8), ...le(0x00cf92000000ffffn, 8), ...le(0x00af9a000000ffffn, 8)]);
    put(0x7c00, [
      0xfa, 0x0f, 0x01, 0x16, ...le(0x7df0, 2), // cli; lgdt [0x7df0]
      0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0, // cr0 |= PE
      0x66, 0xea, ...le(0x8000, 4), 0x08, 0x00, // jmp dword 0x08:0x8000
    ]);
    put(0x8000, [
      0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, ...le(0xf000, 4), // ds = ss = 0x10; esp
      0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, // cr4 |= PAE
      0xb8, ...le(0x9000, 4), 0x0f, 0x22, 0xd8, // cr3 = 0x9000
      0xb9, ...le(0xc0000080, 4), 0x0f, 0x32, 0x0d, ...le(0x100, 4), 0x0f, 0x30, // EFER.LME
      0x0f, 0x20, 0xc0, 0x0d, ...le(0x80000000, 4), 0x0f, 0x22, 0xc0, // cr0 |= PG
      0xea, ...le(0x8100, 4), 0x18, 0x00, // jmp 0x18:0x8100
    ]);
    put(0x8100, [...MOV_RAX(0x1122334455667788n), 0xf4]);
    put(0x9000, le(0xa003, 8));
    put(0xa000, le(0xb003, 8));
    put(0xb000, le(0x83, 8));
    cpu.setBootState({ mode: 'real', rip: 0x7c00, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
    expect(cpu.codeMode).toBe(16);
    let n = 0;
    while (!cpu.halted && n < 1000) n += cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(cpu.codeMode).toBe(64);
    expect(cpu.efer & 0x400).toBe(0x400); // LMA
    expect(cpu.rl[0]! >>> 0).toBe(0x55667788);
    expect(cpu.rh[0]! >>> 0).toBe(0x11223344);
    expect(cpu.rl[4]! >>> 0).toBe(0xf000);
  });

  it('delivers a real-mode software interrupt through the IVT and returns with IRET', () => {
    const bus = new MemoryBus(1 << 20);
    const cpu = new Cpu(bus, new IoBus());
    bus.write32(0x21 * 4, 0x0000_0500); // vector 0x21 -> 0000:0500
    bus.writeBytes(0x500, new Uint8Array([0xb8, 0x34, 0x12, 0xcf])); // mov ax, 0x1234; iret
    bus.writeBytes(0x7c00, new Uint8Array([0xcd, 0x21, 0x89, 0xc3, 0xf4])); // int 21h; mov bx, ax; hlt
    cpu.setBootState({ mode: 'real', rip: 0x7c00, rsp: 0x7000, cs: { selector: 0, base: 0, limit: 0xffff, attributes: 0x9b } });
    while (!cpu.halted) cpu.run(100);
    expect(cpu.rl[3]! & 0xffff).toBe(0x1234);
    expect(cpu.rl[4]! & 0xffff).toBe(0x7000);
  });
});

describe('page faults', () => {
  it('reports CR2 and error code 0 for a supervisor read of an absent page', () => {
    const m = new Machine64();
    m.setPte(0x50000, 0x50000, { absent: true });
    m.load(KCODE, [...MOV_RAX(0x50008), 0x48, 0x8b, 0x18, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.cpu.cr2).toBe(0x50008);
    expect(m.frame(0)).toBe(0n); // error code
    expect(m.frame(1)).toBe(BigInt(KCODE + 10)); // RIP of the faulting MOV
  });

  it('reports P|W|U for a user write to a read-only page and switches to RSP0', () => {
    const m = new Machine64();
    m.setPte(USTACK - 0x1000, USTACK - 0x1000, { user: true, ro: true });
    m.load(KCODE, toUser());
    m.load(UCODE, [0xb8, ...le(USTACK - 0x1000 + 0x10, 4), 0xc7, 0x00, ...le(0x1234, 4), 0xf4]); // mov eax, addr; mov dword [rax], imm
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.cpu.cr2).toBe(USTACK - 0x1000 + 0x10);
    expect(m.frame(0)).toBe(7n);
    expect(m.frame(1)).toBe(BigInt(UCODE + 5));
    expect(m.frame(2)).toBe(BigInt(SEL_UCODE));
    expect(m.frame(4)).toBe(BigInt(USTACK));
    expect(m.frame(5)).toBe(BigInt(SEL_UDATA));
    expect(m.rsp()).toBe(KSTACK - 48);
  });

  it('honours CR0.WP for supervisor writes to read-only pages', () => {
    const code = [...MOV_RAX(0x51000), 0xc6, 0x00, 0x5a, 0xf4]; // mov byte [rax], 0x5a
    const m = new Machine64();
    m.setPte(0x51000, 0x51000, { ro: true });
    m.load(KCODE, code);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(3n);

    const m2 = new Machine64();
    m2.setPte(0x51000, 0x51000, { ro: true });
    m2.cpu.cr0 &= ~0x10000; // WP off
    m2.load(KCODE, code);
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(-1);
    expect(m2.bus.read8(0x51000)).toBe(0x5a);
    // The write set the accessed and dirty bits.
    expect(m2.pte(0x51000) & 0x60n).toBe(0x60n);
  });

  it('faults instruction fetches from NX pages with the I/D bit', () => {
    const m = new Machine64();
    m.setPte(0x52000, 0x52000, { nx: true });
    m.load(0x52000, [0xf4]);
    m.load(KCODE, [...MOV_RAX(0x52000), 0xff, 0xe0]); // jmp rax
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(0x11n);
    expect(m.cpu.cr2).toBe(0x52000);
  });

  it('keeps using a stale TLB entry until INVLPG, then sees the new mapping', () => {
    const m = new Machine64();
    m.bus.write32(0x53000, 0x11111111);
    m.bus.write32(0x54000, 0x22222222);
    m.load(KCODE, [
      ...MOV_RAX(0x53000), 0x8b, 0x18, // mov ebx, [rax]
      0xf4, // hlt: the test remaps the page here
      0x8b, 0x08, // mov ecx, [rax] (stale)
      0x0f, 0x01, 0x38, // invlpg [rax]
      0x8b, 0x10, // mov edx, [rax]
      0xf4,
    ]);
    m.runToHalt();
    expect(m.cpu.rl[3]! >>> 0).toBe(0x11111111);
    m.setPte(0x53000, 0x54000);
    m.cpu.halted = false;
    m.runToHalt();
    expect(m.cpu.rl[1]! >>> 0).toBe(0x11111111);
    expect(m.cpu.rl[2]! >>> 0).toBe(0x22222222);
  });
});

describe('exceptions', () => {
  it('escalates #GP during #GP delivery to a double fault', () => {
    const m = new Machine64();
    m.setGate(13, STUBS + 13 * 16, { present: false });
    m.load(KCODE, [...MOV_RAX(0x0000900000000000n), 0x48, 0x8b, 0x18, 0xf4]); // non-canonical load
    m.runToHalt();
    expect(m.stoppedVector()).toBe(8);
    expect(m.frame(0)).toBe(0n);
  });

  it('does not escalate a benign first exception: #UD then #NP is delivered as #NP', () => {
    const m = new Machine64();
    m.setGate(6, STUBS + 6 * 16, { present: false });
    m.load(KCODE, [0x0f, 0x0b]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(11);
    expect(m.frame(0)).toBe(BigInt(6 * 8 + 2 + 1)); // IDT, external
  });

  it('resets on a triple fault and tells the machine', () => {
    const m = new Machine64();
    m.setGate(13, 0, { present: false });
    m.setGate(8, 0, { present: false });
    let told = 0;
    m.cpu.onTripleFault = () => { told++; };
    m.load(KCODE, [...MOV_RAX(0x0000900000000000n), 0x48, 0x8b, 0x18, 0xf4]);
    m.cpu.run(100);
    expect(told).toBe(1);
    expect(m.cpu.codeMode).toBe(16);
    expect(m.cpu.rip).toBe(0xfff0);
  });

  it('switches to the IST stack for gates that name one', () => {
    const m = new Machine64();
    m.setGate(3, STUBS + 3 * 16, { ist: 1 });
    m.load(KCODE, [...LTR, 0xcc]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3);
    expect(m.rsp()).toBe(ISTACK - 40);
    expect(m.frame(0)).toBe(BigInt(KCODE + LTR.length + 1)); // INT3 pushes the next RIP
    expect(m.frame(3)).toBe(BigInt(KSTACK));
  });

  it('single-steps with TF: #DB after the instruction following POPF', () => {
    const m = new Machine64();
    // pushfq; or qword [rsp], 0x100; popfq; nop; nop
    m.load(KCODE, [0x9c, 0x48, 0x81, 0x0c, 0x24, ...le(0x100, 4), 0x9d, 0x90, 0x90, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(1);
    expect(m.frame(0)).toBe(BigInt(KCODE + 11)); // after the first NOP
    expect(m.frame(2) & 0x100n).toBe(0x100n); // TF in the saved RFLAGS
    expect(m.cpu.flags & 0x100).toBe(0); // cleared for the handler
  });

  it('raises #DE for division by zero with RIP at the DIV', () => {
    const m = new Machine64();
    m.load(KCODE, [0x31, 0xc9, 0xf7, 0xf1, 0xf4]); // xor ecx, ecx; div ecx
    m.runToHalt();
    expect(m.stoppedVector()).toBe(0);
    expect(m.frame(0)).toBe(BigInt(KCODE + 2));
  });
});

describe('privilege checks', () => {
  it('raises #GP(0) for HLT at CPL 3', () => {
    const m = new Machine64();
    m.load(KCODE, toUser());
    m.load(UCODE, [0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(UCODE));
  });

  it('raises #PF with U set for a user read of a supervisor page', () => {
    const m = new Machine64();
    m.load(KCODE, toUser());
    m.load(UCODE, [0xb8, ...le(DATA, 4), 0x8b, 0x00]); // mov eax, DATA; mov eax, [rax]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(14);
    expect(m.frame(0)).toBe(5n);
  });

  it('lets INT n through a DPL 3 gate and refuses a DPL 0 gate with #GP(vector*8+2)', () => {
    const m = new Machine64();
    m.setGate(0x80, STUBS + 0x80 * 16, { dpl: 3 });
    m.load(KCODE, toUser());
    m.load(UCODE, [0xcd, 0x80]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(0x80);
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE));

    const m2 = new Machine64();
    m2.load(KCODE, toUser());
    m2.load(UCODE, [0xcd, 0x81]);
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
    expect(m2.frame(0)).toBe(BigInt(0x81 * 8 + 2));
  });

  it('refuses CLI at CPL 3 with IOPL 0 and I/O without a TSS bitmap', () => {
    const m = new Machine64();
    m.load(KCODE, toUser());
    m.load(UCODE, [0xfa]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    const m2 = new Machine64();
    m2.bus.write16(0x7000 + 0x66, 0x68); // I/O bitmap base past the TSS limit: no bitmap
    m2.load(KCODE, toUser());
    m2.load(UCODE, [0xe4, 0x60]); // in al, 0x60
    m2.runToHalt();
    expect(m2.stoppedVector()).toBe(13);
  });
});

describe('fast system calls', () => {
  it('enters the kernel with SYSCALL and returns to user mode with SYSRET', () => {
    const m = new Machine64();
    const c = m.cpu;
    c.starHi = (0x18 << 16) | 0x08; // SYSRET base 0x18 (user CS 0x2b, SS 0x23), SYSCALL CS 0x08
    c.lstar = KCODE + 0x100;
    c.fmask = 0x200;
    m.setGate(3, STUBS + 3 * 16, { dpl: 3 });
    m.load(KCODE, toUser(0x202));
    m.load(UCODE, [0x0f, 0x05, 0xcc]); // syscall; int3
    m.load(KCODE + 0x100, [0xf4, 0x48, 0x0f, 0x07]); // hlt; sysretq
    m.runToHalt();
    expect(c.rip).toBe(KCODE + 0x101);
    expect(c.sSel[1]).toBe(0x08);
    expect(c.cpl).toBe(0);
    expect(Number(m.reg(1))).toBe(UCODE + 2); // RCX = return RIP
    expect(Number(m.reg(11)) & 0x200).toBe(0x200); // R11 = old RFLAGS (IF set)
    expect(c.flags & 0x200).toBe(0); // FMASK cleared IF
    c.halted = false;
    m.runToHalt();
    expect(m.stoppedVector()).toBe(3); // back in user mode: INT3 after the SYSCALL
    expect(m.frame(1)).toBe(BigInt(SEL_UCODE));
    expect(m.frame(2) & 0x200n).toBe(0x200n);
  });
});

describe('interrupts and time', () => {
  it('wakes from HLT for an external interrupt and delivers its vector', () => {
    const m = new Machine64();
    let pending = false;
    m.cpu.setInterruptSource({ hasInterrupt: () => pending, acknowledge: () => { pending = false; return 0x40; } });
    m.load(KCODE, [0xfb, 0xf4, 0x90, 0xf4]); // sti; hlt; nop; hlt
    m.runToHalt();
    expect(m.cpu.rip).toBe(KCODE + 2);
    m.cpu.run(10);
    expect(m.cpu.halted).toBe(true); // nothing pending: stays halted
    pending = true;
    m.cpu.notifyInterrupt();
    m.cpu.run(10);
    expect(m.stoppedVector()).toBe(0x40);
    expect(m.frame(0)).toBe(BigInt(KCODE + 2)); // returns after the HLT
  });

  it('does not take maskable interrupts with IF clear, but does take NMI', () => {
    const m = new Machine64();
    m.cpu.setInterruptSource({ hasInterrupt: () => true, acknowledge: () => 0x41 });
    m.load(KCODE, [0xfa, 0x90, 0x90, 0xeb, 0xfe]); // cli; nop; nop; jmp $
    m.cpu.run(50);
    expect(m.stoppedVector()).toBe(-1);
    m.cpu.raiseNmi();
    m.cpu.run(5);
    expect(m.stoppedVector()).toBe(2);
  });

  it('reads the TSC from the injected time source (RDTSC and RDTSCP)', () => {
    const m = new Machine64();
    m.cpu.tscSource = () => 0x12_3456_789a;
    m.cpu.tscAux = 7;
    m.load(KCODE, [0x0f, 0x31, 0x49, 0x89, 0xc0, 0x0f, 0x01, 0xf9, 0xf4]); // rdtsc; mov r8, rax; rdtscp
    m.runToHalt();
    expect(Number(m.reg(8))).toBe(0x3456789a);
    expect(Number(m.reg(2))).toBe(0x12);
    expect(Number(m.reg(1))).toBe(7);
  });
});

describe('CPUID and MSRs', () => {
  it('advertises long mode, NX, SSE2 and not SSE3', () => {
    const m = new Machine64();
    m.load(KCODE, [0xb8, ...le(1, 4), 0x0f, 0xa2, 0x41, 0x89, 0xd0, 0x41, 0x89, 0xc9, // leaf 1 -> r8d=edx r9d=ecx
      0xb8, ...le(0x80000001, 4), 0x0f, 0xa2, 0xf4]);
    m.runToHalt();
    const edx1 = Number(m.reg(8));
    const ecx1 = Number(m.reg(9));
    expect(edx1 & (1 << 26)).not.toBe(0); // SSE2
    expect(edx1 & (1 << 24)).not.toBe(0); // FXSR
    expect(ecx1 & 1).toBe(0); // no SSE3
    expect(ecx1 & (1 << 26)).toBe(0); // no XSAVE
    const edxX = Number(m.reg(2));
    expect(edxX & (1 << 29)).not.toBe(0); // LM
    expect(edxX & (1 << 20)).not.toBe(0); // NX
  });

  it('raises #GP for an unknown MSR and round-trips known ones', () => {
    const m = new Machine64();
    m.load(KCODE, [
      0xb9, ...le(0xc0000102, 4), 0xb8, ...le(0x5678, 4), 0xba, ...le(0xffff8000, 4), 0x0f, 0x30, // wrmsr KERNEL_GS_BASE
      0x0f, 0x01, 0xf8, // swapgs
      0xb9, ...le(0x12345, 4), 0x0f, 0x32, // rdmsr unknown
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.cpu.sBase[5]).toBe(-0x800000000000 + 0x5678);
  });
});

describe('state save and load', () => {
  it('resumes a snapshot on a fresh CPU with identical results', () => {
    const prog = [
      0xb9, ...le(1000, 4), 0x31, 0xc0, 0x31, 0xdb, // mov ecx, 1000; xor eax, eax; xor ebx, ebx
      0x48, 0x01, 0xc8, 0x48, 0x6b, 0xdb, 0x07, 0x48, 0x31, 0xc3, 0xe2, 0xf5, // loop: add rax,rcx; imul rbx,rbx,7; xor rbx,rax; loop
      0xf4,
    ];
    const a = new Machine64();
    a.load(KCODE, prog);
    a.cpu.run(1500);
    const snap = structuredClone(a.cpu.saveState());
    const ram = a.bus.ram.slice();
    a.runToHalt();
    const b = new Machine64();
    b.bus.ram.set(ram);
    b.cpu.loadState(snap);
    b.runToHalt();
    for (let i = 0; i < 16; i++) expect(b.reg(i)).toBe(a.reg(i));
    expect(b.cpu.rip).toBe(a.cpu.rip);
    expect(b.cpu.instructionCount).toBe(a.cpu.instructionCount);
    expect(() => b.cpu.loadState({ version: 99 })).toThrow(/unsupported version/);
  });
});
