// Group 15 (0F AE) memory forms with a 66, F3 or F2 prefix: the AMD host raises #UD for
// FXSAVE, FXRSTOR, LDMXCSR and STMXCSR with any of them (found by the differential coverage
// check), and Hangar does the same; 66 /7 is CLFLUSHOPT and runs. Without a prefix they run.
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

const HLT = [0xf4];
/** mov ebx, DATA (the operand address for [rbx] forms). */
const MOV_EBX = [0xbb, ...le(DATA, 4)];

function run(code: number[]): Machine64 {
  const m = new Machine64();
  m.bus.write32(DATA, 0x1f80); // a valid MXCSR for LDMXCSR / FXRSTOR
  m.bus.write32(DATA + 24, 0x1f80);
  m.load(KCODE, [...MOV_EBX, ...code, ...HLT]);
  m.runToHalt();
  return m;
}

describe('group 15 memory forms with mandatory-style prefixes', () => {
  const FORMS: [string, number][] = [['FXSAVE', 0x03], ['FXRSTOR', 0x0b], ['LDMXCSR', 0x13], ['STMXCSR', 0x1b]];

  it.each(FORMS)('%s [rbx] runs without a prefix', (_name, modrm) => {
    expect(run([0x0f, 0xae, modrm]).stoppedVector()).toBe(-1);
  });

  for (const p of [0x66, 0xf3, 0xf2]) {
    it.each(FORMS)(`%s [rbx] with ${p.toString(16)} is #UD and changes nothing`, (_name, modrm) => {
      const m = run([p, 0x0f, 0xae, modrm]);
      expect(m.stoppedVector()).toBe(6);
      expect(m.frame(0)).toBe(BigInt(KCODE + MOV_EBX.length)); // #UD: no error code, RIP first
      expect(m.bus.read32(DATA)).toBe(0x1f80); // nothing stored
      expect(m.bus.read32(DATA + 4)).toBe(0);
    });
  }

  it('66 /7 (CLFLUSHOPT) runs; F3 /7 is #UD', () => {
    expect(run([0x66, 0x0f, 0xae, 0x3b]).stoppedVector()).toBe(-1);
    expect(run([0xf3, 0x0f, 0xae, 0x3b]).stoppedVector()).toBe(6);
  });
});
