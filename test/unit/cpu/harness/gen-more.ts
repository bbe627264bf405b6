// Differential templates added when the coverage check (coverage.ts) found implemented
// encodings no template exercised: MMX forms of the integer SIMD opcodes and the MMX<->XMM
// conversions (their registers are the x87 registers, compared in full), MXCSR loads and
// stores, fences and cache hints, the moffs MOVs, ENTER, POPF and FWAIT.
import type { Rng, Template } from './gen.ts';
import type { X87State } from './types.ts';

type T = (name: string, op: number[], extra?: Partial<Template>) => Template;
type Sse = (name: string, op: number, mandatory: number | undefined, extra?: Partial<Template>) => void;

/** MMX register state: random 64-bit contents, exponent fields, TOP and tags. */
export function randomMmxState(r: Rng): X87State {
  const st = new Uint8Array(80);
  for (let i = 0; i < 80; i++) st[i] = r.int(256);
  return { fcw: 0x37f, fsw: r.int(8) << 11, ftw: r.int(256), st };
}

/** A valid MXCSR image (reserved bits clear) for LDMXCSR, now and then with one set (#GP). */
function fillMxcsr(r: Rng, w: Uint8Array, off: number): void {
  const v = r.bool(0.9) ? (r.next() & 0xffff) : r.next();
  const dv = new DataView(w.buffer, w.byteOffset);
  if (off + 4 <= w.length) dv.setUint32(off, v, true);
}

export function addMoreTemplates(T: Template[], t: T, sse: Sse): void {
  const mmx = (name: string, op: number, extra: Partial<Template> = {}): void => sse(`mmx ${name}`, op, undefined, { mmx: true, ...extra });
  // MMX forms of the integer SIMD opcodes (PUNPCKLQDQ/HQDQ 6C/6D exist only for XMM).
  const ints = [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
    0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe];
  for (const op of ints) mmx(`pint ${op.toString(16)}`, op);
  mmx('movd/q mm,r/m', 0x6e);
  mmx('movd/q r/m,mm', 0x7e);
  mmx('movq mm,mm/m64', 0x6f);
  mmx('movq mm/m64,mm', 0x7f);
  mmx('pshufw', 0x70, { imm: 1 });
  for (const [op, exts] of [[0x71, [2, 4, 6]], [0x72, [2, 4, 6]], [0x73, [2, 6]]] as const) {
    for (const e of exts) mmx(`pshift imm ${op.toString(16)}/${e}`, op, { modrm: 'reg', ext: e, imm: 1 });
  }
  mmx('pinsrw', 0xc4, { imm: 1 });
  mmx('pextrw', 0xc5, { imm: 1, modrm: 'reg' });
  mmx('pmovmskb', 0xd7, { modrm: 'reg' });
  mmx('movntq', 0xe7, { modrm: 'mem' });
  mmx('maskmovq', 0xf7, { modrm: 'reg' });
  sse('maskmovdqu', 0xf7, 0x66, { modrm: 'reg' });
  mmx('emms', 0x77, { modrm: undefined, p66: true, rep: true });
  // MMX <-> XMM conversions and moves.
  for (const m of [undefined, 0x66]) {
    sse('cvtpi2p', 0x2a, m, { mmx: true });
    sse('cvttp2pi', 0x2c, m, { mmx: true });
    sse('cvtp2pi', 0x2d, m, { mmx: true });
  }
  sse('movq2dq', 0xd6, 0xf3, { mmx: true, modrm: 'reg' });
  sse('movdq2q', 0xd6, 0xf2, { mmx: true, modrm: 'reg' });
  // Group 15: MXCSR load/store, CLFLUSH (CLFLUSHOPT with 66), the fences.
  // LDMXCSR/STMXCSR with 66, F3 or F2: #UD on the host and in Hangar; generated so it stays so.
  T.push(t('ldmxcsr', [0x0f, 0xae], { modrm: 'mem', ext: 2, sse: true, fillMem: fillMxcsr, key: '0fae/2', rep: true, reps: [0xf3, 0xf2] }));
  T.push(t('stmxcsr', [0x0f, 0xae], { modrm: 'mem', ext: 3, sse: true, key: '0fae/3', rep: true, reps: [0xf3, 0xf2] }));
  // FXSAVE/FXRSTOR with 66, F3 or F2: #UD on both sides (the plain forms are gen-x87.ts's).
  for (const p of [0x66, 0xf3, 0xf2]) {
    for (const e of [0, 1]) {
      T.push(t(`${e ? 'fxrstor' : 'fxsave'} ${p.toString(16)}`, [0x0f, 0xae], { modrm: 'mem', ext: e, mandatory: p, key: `${p.toString(16)}0fae/${e}`, p66: false, reps: [] }));
    }
  }
  // F3 and 66 select other instructions in group 15 (RDFSBASE..., INCSSP, TPAUSE): `reps: []`
  // keeps the generator from adding them.
  T.push(t('clflush', [0x0f, 0xae], { modrm: 'mem', ext: 7, key: '0fae/7', reps: [] }));
  T.push(t('clflushopt', [0x0f, 0xae], { modrm: 'mem', ext: 7, mandatory: 0x66, key: '660fae/7', reps: [] }));
  for (const e of [5, 6, 7]) T.push(t(`fence /${e}`, [0x0f, 0xae], { modrm: 'reg', ext: e, key: `0fae/${e}r`, p66: false, reps: [] }));
  // One-byte map: moffs MOVs (64-bit absolute addresses into the window), ENTER, POPF, FWAIT.
  T.push(t('mov al,moffs', [0xa0], { imm: 'moffs' }));
  T.push(t('mov eax,moffs', [0xa1], { imm: 'moffs' }));
  T.push(t('mov moffs,al', [0xa2], { imm: 'moffs' }));
  T.push(t('mov moffs,eax', [0xa3], { imm: 'moffs' }));
  T.push(t('enter', [0xc8], { imm: 3 }));
  T.push(t('popf', [0x9d]));
  T.push(t('fwait', [0x9b]));
}
