// Chooses each decoded instruction's handler (Instr.fn), once per decode. 64-bit code's most
// common forms (8/32/64-bit operands, registers or memory with 64-bit addresses, no LOCK) get a specialised handler from exec-fast-*.ts that skips the general
// switch's per-execution decisions; everything else runs the general opcode switch
// (executeAny in exec.ts). The choice depends only on the decoded fields, so a cached Instr
// keeps it for as long as its bytes are unchanged.
import type { Handler, Instr } from './decode.ts';
import { executeAny } from './exec.ts';
import {
  aluMI32, aluMI64, aluMR32, aluMR64, aluRI32, aluRI64, aluRM32, aluRM64, aluRR32, aluRR64,
} from './exec-fast-alu.ts';
import { alu8MI, alu8MR, alu8RI, alu8RM, alu8RR, mov8RI, mov8RR } from './exec-fast-byte.ts';
import {
  callInd, callRel, cmov, imulRI, imulRR, incDecR, jccRel, jccZ, jmpInd, jmpRel, lea32, lea64,
  movLoad32, movLoad64, movLoad8, movRI32, movRI64, movRI64sx, movRR32, movRR64, movStore32, movStore64, movStore8,
  movStoreImm32, movStoreImm64, movStoreImm8, movsx16M, movsx16R, movsx8M, movsx8R, movsxdM, movsxdR,
  movzx16M, movzx16R, movzx8M, movzx8R, nop, popR, pushI, pushR, ret, setcc, shiftM, shiftR,
} from './exec-fast-mov.ts';

const OP_TEST = 8;

export function pickHandler(ins: Instr): Handler {
  if (ins.invalid || ins.lock || ins.mode !== 64) return executeAny;
  return pick64(ins) ?? executeAny;
}

function pick64(ins: Instr): Handler | null {
  const op = ins.op;
  const os = ins.osize;
  const wide = os === 64;
  const sized = os === 64 || os === 32; // 16-bit operands stay on the general path
  const reg = ins.mod === 3;
  // A memory operand the specialised handlers can address (lin64): a 64-bit address size.
  const mem = !reg && ins.asize === 64;
  if (op < 0x40) {
    const aop = op >> 3;
    const form = op & 7;
    if (aop === 2 || aop === 3) return null; // ADC/SBB: general path
    ins.aop = aop;
    if (form === 0) { // op r/m8, r8
      ins.r2 = ins.reg;
      if (reg) { ins.r1 = ins.rm; return alu8RR; }
      return mem ? alu8MR : null;
    }
    if (form === 2) { // op r8, r/m8
      ins.r1 = ins.reg;
      if (reg) { ins.r2 = ins.rm; return alu8RR; }
      return mem ? alu8RM : null;
    }
    if (form === 4) { ins.r1 = 0; return alu8RI; } // op AL, imm8
    if (!sized) return null;
    if (form === 1) { // op r/m, r
      ins.r2 = ins.reg;
      if (reg) { ins.r1 = ins.rm; return wide ? aluRR64 : aluRR32; }
      return mem ? (wide ? aluMR64 : aluMR32) : null;
    }
    if (form === 3) { // op r, r/m
      ins.r1 = ins.reg;
      if (reg) { ins.r2 = ins.rm; return wide ? aluRR64 : aluRR32; }
      return mem ? (wide ? aluRM64 : aluRM32) : null;
    }
    if (form === 5) { ins.r1 = 0; return wide ? aluRI64 : aluRI32; } // op rAX, imm
    return null;
  }
  switch (op) {
    case 0x80:
      if (ins.ext === 2 || ins.ext === 3) return null;
      ins.aop = ins.ext;
      if (reg) { ins.r1 = ins.rm; return alu8RI; }
      return mem ? alu8MI : null;
    case 0x84: // TEST r/m8, r8
      ins.aop = OP_TEST;
      ins.r2 = ins.reg;
      if (reg) { ins.r1 = ins.rm; return alu8RR; }
      return mem ? alu8MR : null;
    case 0xa8: ins.aop = OP_TEST; ins.r1 = 0; return alu8RI; // TEST AL, imm8
    case 0xf6: // TEST r/m8, imm8 (the rest of group 3 stays general)
      if (ins.ext > 1) return null;
      ins.aop = OP_TEST;
      if (reg) { ins.r1 = ins.rm; return alu8RI; }
      return mem ? alu8MI : null;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      ins.r1 = (op & 7) | ((ins.rex & 1) << 3);
      return mov8RI;
    case 0x81: case 0x83:
      if (!sized || ins.ext === 2 || ins.ext === 3) return null;
      ins.aop = ins.ext;
      if (reg) { ins.r1 = ins.rm; return wide ? aluRI64 : aluRI32; }
      return mem ? (wide ? aluMI64 : aluMI32) : null;
    case 0x85: // TEST r/m, r
      if (!sized) return null;
      ins.aop = OP_TEST;
      ins.r2 = ins.reg;
      if (reg) { ins.r1 = ins.rm; return wide ? aluRR64 : aluRR32; }
      return mem ? (wide ? aluMR64 : aluMR32) : null;
    case 0xa9: // TEST rAX, imm
      if (!sized) return null;
      ins.aop = OP_TEST;
      ins.r1 = 0;
      return wide ? aluRI64 : aluRI32;
    case 0x89: // MOV r/m, r
      if (!sized) return null;
      ins.r2 = ins.reg;
      if (reg) { ins.r1 = ins.rm; return wide ? movRR64 : movRR32; }
      return mem ? (wide ? movStore64 : movStore32) : null;
    case 0x8b: // MOV r, r/m
      if (!sized) return null;
      ins.r1 = ins.reg;
      if (reg) { ins.r2 = ins.rm; return wide ? movRR64 : movRR32; }
      return mem ? (wide ? movLoad64 : movLoad32) : null;
    case 0x88: // MOV r/m8, r8
      if (reg) { ins.r1 = ins.rm; ins.r2 = ins.reg; return mov8RR; }
      return mem ? movStore8 : null;
    case 0x8a: // MOV r8, r/m8
      if (reg) { ins.r1 = ins.reg; ins.r2 = ins.rm; return mov8RR; }
      return mem ? movLoad8 : null;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      if (!sized) return null;
      ins.r1 = (op & 7) | ((ins.rex & 1) << 3);
      return wide ? movRI64 : movRI32;
    case 0xc6: return ins.ext === 0 && mem ? movStoreImm8 : null;
    case 0xc7:
      if (!sized || ins.ext !== 0) return null;
      if (reg) { ins.r1 = ins.rm; return wide ? movRI64sx : movRI32; }
      return mem ? (wide ? movStoreImm64 : movStoreImm32) : null;
    case 0x8d: // LEA: no memory access, so any segment; 64-bit addresses only
      if (!sized || reg || ins.asize !== 64) return null;
      ins.r1 = ins.reg;
      return wide ? lea64 : lea32;
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: { // MOVZX / MOVSX
      if (!sized) return null;
      ins.r1 = ins.reg;
      ins.r2 = ins.rm;
      if (!reg && !mem) return null;
      if (op === 0x1b6) return reg ? movzx8R : movzx8M;
      if (op === 0x1b7) return reg ? movzx16R : movzx16M;
      if (op === 0x1be) return reg ? movsx8R : movsx8M;
      return reg ? movsx16R : movsx16M;
    }
    case 0x63: // MOVSXD
      if (!wide) return null;
      ins.r1 = ins.reg;
      ins.r2 = ins.rm;
      return reg ? movsxdR : mem ? movsxdM : null;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (os === 16) return null;
      ins.r1 = (op & 7) | ((ins.rex & 1) << 3);
      return pushR;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      if (os === 16) return null;
      ins.r1 = (op & 7) | ((ins.rex & 1) << 3);
      return popR;
    case 0x68: case 0x6a: return os === 16 ? null : pushI;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f:
      return (op & 15) >> 1 === 2 ? jccZ : jccRel;
    case 0xe9: case 0xeb: return jmpRel;
    case 0xe8: return callRel;
    case 0xc3: return ret;
    case 0xff:
      ins.r1 = ins.r2 = ins.rm;
      if (ins.ext < 2) return reg && sized ? incDecR : null;
      if (ins.ext === 2) return reg || mem ? callInd : null;
      if (ins.ext === 4) return reg || mem ? jmpInd : null;
      return null;
    case 0x69: case 0x6b:
      if (!sized || (!reg && !mem)) return null;
      ins.r2 = ins.rm;
      return imulRI;
    case 0x1af:
      if (!sized || (!reg && !mem)) return null;
      ins.r1 = ins.reg;
      ins.r2 = ins.rm;
      return imulRR;
    case 0xc1: case 0xd1: case 0xd3:
      if (!sized || (!reg && !mem)) return null;
      ins.r1 = ins.rm;
      ins.r2 = op === 0xc1 ? ins.imm & 0xff : op === 0xd1 ? 1 : -1;
      return reg ? shiftR : shiftM;
    case 0x90: return (ins.rex & 1) === 0 ? nop : null;
    case 0x118: case 0x119: case 0x11a: case 0x11b: case 0x11c: case 0x11d: case 0x11e: case 0x11f:
      return nop; // hint NOPs (and ENDBR64): no memory access
  }
  if (op >= 0x140 && op <= 0x14f) { // CMOVcc
    if (!sized || (!reg && !mem)) return null;
    ins.r1 = ins.reg;
    ins.r2 = ins.rm;
    return cmov;
  }
  if (op >= 0x190 && op <= 0x19f) return reg || mem ? setcc : null; // SETcc
  return null;
}
