// x87 differential cases: every x87 form the interpreter implements (D8-DF, register and
// memory operands, FWAIT with a pending exception), from random x87 states: precision and
// rounding control, masks, TOP, tags (so stack overflow and underflow happen), register and
// memory values drawn from ordinary numbers and the special classes (zeros, denormals,
// pseudo-denormals, unnormals, infinities, quiet and signalling NaNs, integers, values
// exactly representable as doubles). Memory operands are at [rbx] = window + 0x800.
import type { DiffCase, X87State } from './types.ts';
import { WIN_ADDR, WIN_SIZE } from './types.ts';
import { Rng } from './gen.ts';

export const X87_MEM = 0x800;

/** Argument domain for the register values a form reads. */
type Domain = 'any' | 'trig' | 'f2xm1' | 'log' | 'logp1' | 'int' | 'rem' | 'scale';
type MemKind = 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'cw' | 'env' | 'fx' | 'out';

export interface X87Form {
  name: string;
  bytes: number[];
  /** Register form whose last byte gets a random ST(i) index added. */
  sti?: boolean;
  mem?: MemKind;
  domain?: Domain;
  /** Case starts with an unmasked exception pending (FSW.ES): the instruction faults #MF. */
  pending?: boolean;
  /** Transcendental: the x87 documents < 1 ulp error, so results may differ in the last bit. */
  approx?: boolean;
  /** FSW bits the form leaves undefined. */
  fswUndef?: number;
}

const C0 = 0x100, C2 = 0x400, C3 = 0x4000;

export const X87_FORMS: X87Form[] = (() => {
  const F: X87Form[] = [];
  const ar = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
  const memOf: [number, MemKind, string][] = [[0xd8, 'f32', 'm32'], [0xdc, 'f64', 'm64'], [0xda, 'i32', 'm32int'], [0xde, 'i16', 'm16int']];
  for (const [op, mem, suffix] of memOf) {
    for (let e = 0; e < 8; e++) F.push({ name: `${op === 0xda || op === 0xde ? 'fi' + ar[e]!.slice(1) : ar[e]} ${suffix}`, bytes: [op, (e << 3) | 3], mem });
  }
  const m = (name: string, op: number, e: number, mem: MemKind): void => { F.push({ name, bytes: [op, (e << 3) | 3], mem }); };
  m('fld m32', 0xd9, 0, 'f32'); m('fst m32', 0xd9, 2, 'out'); m('fstp m32', 0xd9, 3, 'out');
  m('fldcw', 0xd9, 5, 'cw'); m('fnstcw', 0xd9, 7, 'out');
  m('fild m32', 0xdb, 0, 'i32'); m('fisttp m32', 0xdb, 1, 'out'); m('fist m32', 0xdb, 2, 'out'); m('fistp m32', 0xdb, 3, 'out');
  m('fld m80', 0xdb, 5, 'f80'); m('fstp m80', 0xdb, 7, 'out');
  m('fld m64', 0xdd, 0, 'f64'); m('fisttp m64', 0xdd, 1, 'out'); m('fst m64', 0xdd, 2, 'out'); m('fstp m64', 0xdd, 3, 'out');
  m('fnstsw m16', 0xdd, 7, 'out');
  m('fnstenv', 0xd9, 6, 'out'); m('fldenv', 0xd9, 4, 'env'); m('fnsave', 0xdd, 6, 'out'); m('frstor', 0xdd, 4, 'env');
  m('fild m16', 0xdf, 0, 'i16'); m('fisttp m16', 0xdf, 1, 'out'); m('fist m16', 0xdf, 2, 'out'); m('fistp m16', 0xdf, 3, 'out');
  m('fbld', 0xdf, 4, 'bcd'); m('fild m64', 0xdf, 5, 'i64'); m('fbstp', 0xdf, 6, 'out'); m('fistp m64', 0xdf, 7, 'out');
  for (const f of F) if (/^fi?(st|stp|isttp|bstp)\b|^fist/.test(f.name)) f.domain = 'int';
  for (let e = 0; e < 8; e++) F.push({ name: `${ar[e]} st0,st(i)`, bytes: [0xd8, 0xc0 | (e << 3)], sti: true });
  const dc = [['fadd', 0], ['fmul', 1], ['fsubr', 4], ['fsub', 5], ['fdivr', 6], ['fdiv', 7]] as const;
  for (const [n, e] of dc) {
    F.push({ name: `${n} st(i),st0`, bytes: [0xdc, 0xc0 | (e << 3)], sti: true });
    F.push({ name: `${n}p st(i),st0`, bytes: [0xde, 0xc0 | (e << 3)], sti: true });
  }
  const r = (name: string, bytes: number[], extra: Partial<X87Form> = {}): void => { F.push({ name, bytes, ...extra }); };
  r('fcompp', [0xde, 0xd9]);
  r('fld st(i)', [0xd9, 0xc0], { sti: true });
  r('fxch', [0xd9, 0xc8], { sti: true });
  r('fnop', [0xd9, 0xd0]);
  r('fchs', [0xd9, 0xe0]); r('fabs', [0xd9, 0xe1]); r('ftst', [0xd9, 0xe4]); r('fxam', [0xd9, 0xe5]);
  const consts = ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'];
  consts.forEach((n, i) => r(n, [0xd9, 0xe8 + i]));
  r('f2xm1', [0xd9, 0xf0], { domain: 'f2xm1', approx: true });
  r('fyl2x', [0xd9, 0xf1], { domain: 'log', approx: true });
  r('fptan', [0xd9, 0xf2], { domain: 'trig', approx: true });
  r('fpatan', [0xd9, 0xf3], { approx: true });
  r('fxtract', [0xd9, 0xf4]);
  r('fprem1', [0xd9, 0xf5], { domain: 'rem' });
  r('fdecstp', [0xd9, 0xf6]); r('fincstp', [0xd9, 0xf7]);
  r('fprem', [0xd9, 0xf8], { domain: 'rem' });
  r('fyl2xp1', [0xd9, 0xf9], { domain: 'logp1', approx: true });
  r('fsqrt', [0xd9, 0xfa]);
  r('fsincos', [0xd9, 0xfb], { domain: 'trig', approx: true });
  r('frndint', [0xd9, 0xfc]);
  r('fscale', [0xd9, 0xfd], { domain: 'scale' });
  r('fsin', [0xd9, 0xfe], { domain: 'trig', approx: true });
  r('fcos', [0xd9, 0xff], { domain: 'trig', approx: true });
  ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu'].forEach((n, e) => r(n, [0xda, 0xc0 | (e << 3)], { sti: true }));
  ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'].forEach((n, e) => r(n, [0xdb, 0xc0 | (e << 3)], { sti: true }));
  r('fucompp', [0xda, 0xe9]);
  r('fnclex', [0xdb, 0xe2]); r('fninit', [0xdb, 0xe3]);
  r('fucomi', [0xdb, 0xe8], { sti: true }); r('fcomi', [0xdb, 0xf0], { sti: true });
  r('ffree', [0xdd, 0xc0], { sti: true });
  r('fst st(i)', [0xdd, 0xd0], { sti: true }); r('fstp st(i)', [0xdd, 0xd8], { sti: true });
  r('fucom', [0xdd, 0xe0], { sti: true }); r('fucomp', [0xdd, 0xe8], { sti: true });
  r('fnstsw ax', [0xdf, 0xe0]);
  // Encodings older manuals call reserved that Hangar implements (the coverage probe found
  // them): aliases of FCOM/FCOMP, FFREEP (condition codes undefined, as for FFREE), and the
  // 8087/287 controls later x87s run as no-ops, and the FXCH and FSTP aliases.
  r('fcom alias dc d0', [0xdc, 0xd0], { sti: true }); r('fcomp alias dc d8', [0xdc, 0xd8], { sti: true });
  r('fxch alias dd c8', [0xdd, 0xc8], { sti: true }); r('fxch alias df c8', [0xdf, 0xc8], { sti: true });
  r('fstp alias d9 d8', [0xd9, 0xd8], { sti: true });
  r('fstp alias df d0', [0xdf, 0xd0], { sti: true }); r('fstp alias df d8', [0xdf, 0xd8], { sti: true });
  r('fcomp alias de d0', [0xde, 0xd0], { sti: true });
  r('ffreep', [0xdf, 0xc0], { sti: true, fswUndef: 0x4700 });
  r('fneni', [0xdb, 0xe0]); r('fndisi', [0xdb, 0xe1]); r('fnsetpm', [0xdb, 0xe4]);
  r('fucomip', [0xdf, 0xe8], { sti: true }); r('fcomip', [0xdf, 0xf0], { sti: true });
  // MMX instructions share the x87 registers: TOP = 0, all tags valid, the written register's
  // sign/exponent all ones; EMMS empties every tag.
  r('mmx paddb mm,mm', [0x0f, 0xfc, 0xc0], { sti: true });
  r('mmx psllq mm,imm', [0x0f, 0x73, 0xf0, 0x05]);
  r('mmx movq mm,m64', [0x0f, 0x6f, 0x03], { mem: 'i64' });
  r('mmx movd mm,r32', [0x0f, 0x6e, 0xc8]);
  r('mmx movq m64,mm', [0x0f, 0x7f, 0x13]);
  r('emms', [0x0f, 0x77]);
  r('fxsave', [0x0f, 0xae, 0x03]);
  r('fxsave64', [0x48, 0x0f, 0xae, 0x03]);
  r('fxrstor', [0x0f, 0xae, 0x0b], { mem: 'fx' });
  r('fxrstor64', [0x48, 0x0f, 0xae, 0x0b], { mem: 'fx' });

  // Undefined register forms (#UD on the host, per the manuals' opcode maps), each with an
  // unmasked exception pending: #UD comes first, the pending exception stays pending.
  const ud = (bytes: number[], sti = false): void => r(`undefined ${bytes.map((b) => b.toString(16)).join(' ')}${sti ? '+i' : ''} pending`, bytes, { sti, pending: true });
  for (const b of [0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xe2, 0xe3, 0xe6, 0xe7, 0xef]) ud([0xd9, b]);
  for (const b of [0xe8, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef]) ud([0xda, b]);
  for (const b of [0xe5, 0xe6, 0xe7]) ud([0xdb, b]);
  for (const b of [0xd8, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]) ud([0xde, b]);
  for (const b of [0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7]) ud([0xdf, b]);
  for (const [op, b] of [[0xda, 0xe0], [0xda, 0xf0], [0xda, 0xf8], [0xdb, 0xf8], [0xdd, 0xf0], [0xdd, 0xf8], [0xdf, 0xf8]] as const) ud([op, b], true);

  r('fwait pending', [0x9b], { pending: true });
  r('fadd pending', [0xd8, 0xc1], { pending: true });
  r('fnstsw ax pending', [0xdf, 0xe0], { pending: true });
  return F;
})();

/** D8-DF forms also run with 66, REX.W, F2 and F3 prefixes. */
export function x87Prefixable(f: X87Form): boolean {
  return f.bytes[0]! >= 0xd8 && f.bytes[0]! <= 0xdf;
}

// ---- values ----

function bytes80(se: number, hi: number, lo: number): Uint8Array {
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, lo >>> 0, true);
  dv.setUint32(4, hi >>> 0, true);
  dv.setUint16(8, se & 0xffff, true);
  return b;
}

function fromDouble(v: number): Uint8Array {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  const hi = dv.getUint32(4, true), lo = dv.getUint32(0, true);
  const sign = hi >>> 31;
  const e = (hi >>> 20) & 0x7ff;
  if (v === 0) return bytes80(sign << 15, 0, 0);
  if (e === 0 || e === 0x7ff) return bytes80((sign << 15) | 0x7fff, 0x80000000, 0); // callers avoid these
  const mhi = (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0;
  const mlo = (lo << 11) >>> 0;
  return bytes80((sign << 15) | (e - 1023 + 16383), mhi, mlo);
}

/** A normal value with a random full significand and exponent near `center` (+-spread). */
function randomNormal(r: Rng, center: number, spread: number): Uint8Array {
  const e = 16383 + center + r.int(2 * spread + 1) - spread;
  return bytes80((r.bool() ? 0x8000 : 0) | Math.max(1, Math.min(0x7ffe, e)), (r.next() | 0x80000000) >>> 0, r.next());
}

function special(r: Rng): Uint8Array {
  const s = r.bool() ? 0x8000 : 0;
  switch (r.int(14)) {
    case 0: return bytes80(s, 0, 0); // zero
    case 1: return bytes80(s | 0x7fff, 0x80000000, 0); // infinity
    case 2: return bytes80(s | 0x7fff, 0xc0000000 | r.int(0x40000000), r.next()); // QNaN
    case 3: return bytes80(s | 0x7fff, 0x80000000 | (1 + r.int(0x3fffffff)), r.next()); // SNaN
    case 4: return bytes80(s, r.int(0x80000000), r.next()); // denormal
    case 5: return bytes80(s, 0x80000000 | r.next(), r.next()); // pseudo-denormal
    case 6: return bytes80(s | (1 + r.int(0x7ffd)), r.int(0x80000000), r.next()); // unnormal
    case 7: return bytes80(s | 0x7fff, 0xc0000000, 0); // indefinite-like QNaN
    case 8: return bytes80(s | 0x7ffe, 0xffffffff, 0xffffffff); // largest finite
    case 9: return bytes80(s | 1, 0x80000000, 0); // smallest normal
    case 10: return bytes80(s | (1 + r.int(70)), 0x80000000 | r.next(), r.next()); // just above the denormal range
    case 11: return bytes80(s | (0x7ffe - r.int(70)), 0x80000000 | r.next(), r.next()); // near overflow
    case 12: return bytes80(s | 0x7fff, r.int(0x80000000), r.next()); // pseudo-NaN / pseudo-infinity
    default: return bytes80(s | 0x3fff, 0x80000000, 0); // +-1
  }
}

function value(r: Rng, d: Domain): Uint8Array {
  if (r.bool(0.12)) {
    const v = special(r);
    // Out-of-domain arguments give undefined results: keep only the in-range special classes.
    if ((d === 'f2xm1' || d === 'logp1') && (v[9]! & 0x7f) >= 0x3f) return bytes80((v[9]! & 0x80) << 8, 0, 0);
    return v;
  }
  const k = r.int(6);
  switch (d) {
    case 'trig':
      if (k === 0) return randomNormal(r, -20, 20);
      if (k === 1) return randomNormal(r, 10, 50);
      return randomNormal(r, 0, 3);
    case 'f2xm1': // the documented domain is -1..+1
      if (k === 0) return randomNormal(r, -32, 30);
      return randomNormal(r, -3, 2);
    case 'log': return k === 0 ? randomNormal(r, 0, 2000) : randomNormal(r, 0, 8);
    case 'logp1': return k === 0 ? randomNormal(r, -40, 35) : randomNormal(r, -4, 2);
    case 'int':
      if (k === 0) return fromDouble((r.int(200001) - 100000) / 4);
      if (k === 1) return randomNormal(r, 40, 25);
      return randomNormal(r, 8, 10);
    case 'scale': return k === 0 ? fromDouble(r.int(200) - 100 + (r.bool() ? 0.5 : 0)) : randomNormal(r, 2, 14);
    default:
      if (k === 0) return fromDouble((r.int(2001) - 1000) / (1 << r.int(4)));
      if (k === 1) return randomNormal(r, 0, 16400);
      if (k === 2) return fromDouble((r.next() / 65536) * (r.bool() ? 1 : -1)); // 53-bit significands
      return randomNormal(r, 0, 40);
  }
}

function memValue(r: Rng, kind: MemKind, w: Uint8Array): void {
  const dv = new DataView(w.buffer, w.byteOffset);
  switch (kind) {
    case 'f32': {
      const sp = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00000, 0x00000001, 0x807fffff, 0x7f7fffff, 0x3f800000];
      dv.setUint32(0, r.bool(0.3) ? r.pick(sp) : r.bool() ? r.next() : (0x3c000000 + r.int(0x8000000)) | (r.bool() ? 0x80000000 : 0), true);
      return;
    }
    case 'f64': {
      const k = r.int(4);
      if (k === 0) { dv.setUint32(0, r.bool() ? 0 : r.next(), true); dv.setUint32(4, r.pick([0, 0x80000000, 0x7ff00000, 0xfff00000, 0x7ff80000, 0x7ff40000, 0x000fffff, 0x00000001, 0x7fefffff]), true); return; }
      if (k === 1) { dv.setFloat64(0, (r.int(20001) - 10000) / 8, true); return; }
      dv.setUint32(0, r.next(), true);
      dv.setUint32(4, k === 2 ? r.next() : (0x3f000000 + r.int(0x2000000)) | (r.bool() ? 0x80000000 : 0), true);
      return;
    }
    case 'f80': w.set(value(r, 'any')); return;
    case 'i16': dv.setUint16(0, r.bool(0.3) ? r.pick([0, 1, 0x7fff, 0x8000, 0xffff]) : r.next() & (r.bool() ? 0xffff : 0xff), true); return;
    case 'i32': dv.setUint32(0, r.bool(0.3) ? r.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) : r.next() >>> r.int(32), true); return;
    case 'i64': dv.setUint32(0, r.next(), true); dv.setUint32(4, r.bool(0.3) ? r.pick([0, 0x80000000, 0xffffffff, 0x7fffffff]) : r.next() >>> r.int(32), true); return;
    case 'bcd': {
      for (let i = 0; i < 9; i++) w[i] = (r.int(10) << 4) | r.int(10);
      if (r.bool(0.3)) for (let i = 4 + r.int(5); i < 9; i++) w[i] = 0;
      w[9] = r.bool() ? 0x80 : 0;
      return;
    }
    case 'cw': {
      const cw = 0x40 | (r.bool(0.8) ? 0x3f : r.int(64)) | (r.pick([0, 2, 3, 3]) << 8) | (r.int(4) << 10) | (r.bool(0.1) ? r.int(8) << 13 : 0) | (r.bool(0.1) ? 0x80 : 0);
      dv.setUint16(0, cw, true);
      return;
    }
    case 'env': {
      // 28-byte environment (32-bit format), then eight registers for FRSTOR.
      dv.setUint32(0, 0x40 | 0x3f | (r.pick([0, 2, 3]) << 8) | (r.int(4) << 10), true);
      dv.setUint32(4, (r.int(8) << 11) | (r.next() & 0x4700) | (r.bool(0.2) ? r.int(64) : 0), true);
      dv.setUint32(8, r.next() & 0xffff, true);
      for (let i = 12; i < 28; i++) w[i] = 0;
      for (let i = 0; i < 8; i++) w.set(value(r, 'any'), 28 + i * 10);
      return;
    }
    case 'fx': {
      // FXRSTOR image: FCW, FSW, abridged tags, zero pointers, a valid MXCSR, registers.
      w.fill(0, 0, 32);
      dv.setUint16(0, 0x40 | 0x3f | (r.pick([0, 2, 3]) << 8) | (r.int(4) << 10), true);
      dv.setUint16(2, (r.int(8) << 11) | (r.next() & 0x4700), true);
      w[4] = r.int(256);
      dv.setUint32(24, 0x1f80 | (r.int(4) << 13) | r.int(64), true);
      for (let i = 0; i < 8; i++) { w.fill(0, 32 + i * 16, 48 + i * 16); w.set(value(r, 'any'), 32 + i * 16); }
      return;
    }
    default: return;
  }
}

function x87State(r: Rng, form: X87Form): X87State {
  const pc = r.pick([0, 2, 3, 3, 3]);
  const masks = form.pending ? 0x3e : r.bool(0.85) ? 0x3f : r.int(64);
  const fcw = 0x40 | masks | (pc << 8) | (r.int(4) << 10);
  const top = r.int(8);
  let fsw = (top << 11) | (r.next() & (C0 | C2 | C3 | 0x200));
  if (form.pending) fsw |= 0x8081; // IE pending with IE unmasked: ES and B set
  else if (masks === 0x3f && r.bool(0.2)) fsw |= r.int(64); // sticky flags already set
  const st = new Uint8Array(80);
  let ftw = 0;
  const domain = form.domain ?? 'any';
  for (let i = 0; i < 8; i++) {
    const pEmpty = i === 7 ? 0.85 : i < 2 ? 0.06 : 0.3;
    const p = (top + i) & 7;
    const v = i === 1 && (domain === 'log' || domain === 'logp1' || domain === 'rem') ? value(r, 'any') : value(r, domain);
    if (domain === 'log' && i === 0 && r.bool(0.85)) v[9]! &= 0x7f; // log of a positive number
    if (domain === 'rem' && i === 1 && r.bool(0.5)) v.set(value(r, 'trig'));
    st.set(v, i * 10);
    if (!r.bool(pEmpty)) ftw |= 1 << p;
  }
  return { fcw, fsw, ftw, st };
}

/** One case for `form`. */
export function generateX87(r: Rng, form: X87Form): DiffCase {
  const bytes = form.bytes.slice();
  if (form.sti) bytes[bytes.length - 1]! += r.int(8);
  // 66 (16-bit environment and save images), REX.W and F2/F3 (ignored) on the D8-DF forms.
  if (x87Prefixable(form)) {
    const k = r.int(10);
    if (k === 0) bytes.unshift(0x66);
    else if (k === 1) bytes.unshift(0x48);
    else if (k === 2) bytes.unshift(0x66, 0x48);
    else if (k === 3) bytes.unshift(r.bool() ? 0xf3 : 0xf2);
  }
  const gpr: bigint[] = [];
  for (let i = 0; i < 16; i++) gpr.push(BigInt(r.next()));
  gpr[3] = BigInt(WIN_ADDR + X87_MEM); // rbx: the memory operand
  gpr[4] = BigInt(WIN_ADDR + 0x1400); // rsp
  const window = new Uint8Array(WIN_SIZE);
  for (let i = 0; i < WIN_SIZE; i++) window[i] = r.int(256);
  if (form.mem) memValue(r, form.mem, window.subarray(X87_MEM, X87_MEM + 512));
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return {
    name: `x87 ${form.name} [${hex}]`,
    gpr,
    rflags: BigInt(r.next() & 0x8d5),
    mxcsr: 0x1f80,
    xmm: new Uint8Array(256),
    x87: x87State(r, form),
    code: new Uint8Array(bytes),
    window,
    undefinedFlags: 0,
    fswUndefined: form.fswUndef,
    x87Approx: form.approx,
    // FXSAVE's MXCSR_MASK names the host's MXCSR bits (AMD hosts add MM, bit 17, which the
    // emulator neither implements nor advertises).
    windowIgnore: form.name.startsWith('fxsave') ? [[X87_MEM + 28, X87_MEM + 32]] : undefined,
  };
}
