// Architectural constants shared by the interpreter's files: EFLAGS bits, segment register
// numbers (in x86 encoding order so ModRM.reg indexes them directly), exception vectors,
// control-register bits.

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const VIF = 0x80000;
export const VIP = 0x100000;
export const ID = 0x200000;
/** The six arithmetic flags the lazy-flag machinery computes. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
/** Segment-cache slots for the system segments (not addressable by ModRM). */
export const LDTR = 6;
export const TR = 7;
/** "No segment" marker for an Instr's seg when the default applies. */
export const SEG_NONE = -1;

export const EX_DE = 0;
export const EX_DB = 1;
export const EX_NMI = 2;
export const EX_BP = 3;
export const EX_OF = 4;
export const EX_BR = 5;
export const EX_UD = 6;
export const EX_NM = 7;
export const EX_DF = 8;
export const EX_TS = 10;
export const EX_NP = 11;
export const EX_SS = 12;
export const EX_GP = 13;
export const EX_PF = 14;
export const EX_MF = 16;
export const EX_AC = 17;
export const EX_MC = 18;
export const EX_XM = 19;

export const CR0_PE = 0x1;
export const CR0_MP = 0x2;
export const CR0_EM = 0x4;
export const CR0_TS = 0x8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_NW = 0x20000000;
export const CR0_CD = 0x40000000;
export const CR0_PG = 0x80000000;

export const CR4_VME = 0x1;
export const CR4_PVI = 0x2;
export const CR4_TSD = 0x4;
export const CR4_DE = 0x8;
export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_MCE = 0x40;
export const CR4_PGE = 0x80;
export const CR4_PCE = 0x100;
export const CR4_OSFXSR = 0x200;
export const CR4_OSXMMEXCPT = 0x400;
export const CR4_FSGSBASE = 0x10000;

export const EFER_SCE = 0x1;
export const EFER_LME = 0x100;
export const EFER_LMA = 0x400;
export const EFER_NXE = 0x800;

/** Page-fault error-code bits. */
export const PF_P = 1;
export const PF_W = 2;
export const PF_U = 4;
export const PF_RSVD = 8;
export const PF_I = 16;

export const TWO32 = 4294967296;
