// Single-step (TF) traps in the run loop: a fault while delivering the #DB trap is delivered
// after the stepped instruction (which completed) rather than re-running it, and a load of SS
// holds the trap back over the next instruction (the SS-load shadow), while STI does not.
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, STUBS, le } from './helpers/machine64.ts';
import { Machine32 } from './helpers/machine32.ts';

// pushfq; or qword [rsp], 0x100; popfq: sets TF (POPF itself does not trap, TF was clear).
const setTF = [0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d];

/** A #DB handler that appends the frame's RIP to memory at r14 and returns. */
function recordDB(m: Machine64): void {
  m.load(STUBS + 16, [
    0x4c, 0x8b, 0x2c, 0x24, // mov r13, [rsp]
    0x4d, 0x89, 0x2e, // mov [r14], r13
    0x49, 0x83, 0xc6, 0x08, // add r14, 8
    0x48, 0xcf, // iretq
  ]);
}
const movR14Data = [0x49, 0xbe, ...le(DATA, 8)]; // mov r14, DATA (where the handler records)

function trapSites(m: Machine64): number[] {
  const out: number[] = [];
  const end = m.reg(14);
  for (let a = DATA; a < Number(end); a += 8) out.push(Number(m.r64(a)) - KCODE);
  return out;
}

describe('single-step traps', () => {
  it('a fault delivering the #DB trap reports RIP after the stepped instruction (not re-run)', () => {
    const m = new Machine64();
    m.cpu.jitThreshold = 0;
    m.setGate(1, STUBS + 16, { present: false });
    m.load(KCODE, [...setTF, 0xff, 0xc3, 0xff, 0xc3, 0xf4]); // inc ebx; inc ebx; hlt
    m.runToHalt(1000);
    expect(m.stoppedVector()).toBe(11); // #NP for the not-present gate
    expect(m.frame(0)).toBe(BigInt(1 * 8 + 2 + 1)); // IDT entry 1, IDT bit, external event
    expect(m.frame(1)).toBe(BigInt(KCODE + setTF.length + 2)); // after the first INC
    expect(m.reg(3)).toBe(1n);
  });

  it('MOV SS holds the trap back over the next instruction', () => {
    const m = new Machine64();
    recordDB(m);
    const pre = [...movR14Data, ...setTF];
    const at = pre.length;
    // mov eax, 0x10; mov ss, ax; nop; ud2 (the #UD stub halts)
    m.load(KCODE, [...pre, 0xb8, 0x10, 0, 0, 0, 0x8e, 0xd0, 0x90, 0x0f, 0x0b]);
    m.runToHalt(1000);
    expect(m.stoppedVector()).toBe(6);
    expect(trapSites(m)).toEqual([at + 5, at + 8]);
  });

  it('STI does not hold the trap back', () => {
    const m = new Machine64();
    recordDB(m);
    const pre = [...movR14Data, 0xfa, ...setTF]; // cli first, so STI sets IF (and its shadow)
    const at = pre.length;
    m.load(KCODE, [...pre, 0xfb, 0x90, 0x0f, 0x0b]); // sti; nop; ud2
    m.runToHalt(1000);
    expect(m.stoppedVector()).toBe(6);
    expect(trapSites(m)).toEqual([at + 1, at + 2]);
  });

  it('POP SS (32-bit protected mode) holds the trap back over the next instruction', () => {
    const m = new Machine32();
    // #DB handler: mov ebp, [esp]; mov [edi], ebp; add edi, 4; iretd
    m.load(STUBS + 16, [0x8b, 0x2c, 0x24, 0x89, 0x2f, 0x83, 0xc7, 0x04, 0xcf]);
    // mov edi, DATA; pushfd; or dword [esp], 0x100; popfd
    const pre = [0xbf, ...le(DATA, 4), 0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d];
    const at = pre.length;
    m.load(KCODE, [...pre, 0x6a, 0x10, 0x17, 0x90, 0x0f, 0x0b]); // push 0x10; pop ss; nop; ud2
    m.runToHalt(1000);
    expect(m.stoppedVector()).toBe(6);
    const sites: number[] = [];
    for (let a = DATA; a < m.reg(7); a += 4) sites.push(m.bus.read32(a) - KCODE);
    expect(sites).toEqual([at + 2, at + 4]);
  });
});
