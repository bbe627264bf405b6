// Drive a seeded differential run: generate cases, run natively and emulated, compare,
// and account instruction coverage (which templates ran and agreed).
import { EmuEnv } from './emulated.ts';
import { approxBitDiffs, compareResults } from './compare.ts';
import { isSpecial } from './approx.ts';
import { Rng, TEMPLATES, generate, templateKey } from './gen.ts';
import type { DiffCase } from './types.ts';
import { buildRunner, runNative } from './native.ts';
import { X87_FORMS, generateX87 } from './gen-x87.ts';

export interface DiffFailure {
  name: string;
  diffs: string[];
}

export interface DiffReport {
  cases: number;
  failures: DiffFailure[];
  /** Template key -> number of cases run. */
  coverage: Map<string, number>;
  templates: number;
  /** RCP/RSQRT lanes compared within the bound, and how many of them differ bit-wise. */
  approxLanes: number;
  /** ...of which ordinary numbers (not zeros, denormals, infinities, NaNs, negative RSQRT operands). */
  approxNormalLanes: number;
  approxDiffering: number;
}

/** Run `count` generated cases (round-robin over templates, so every one is exercised). */
export function runDiff(seed: number, count: number, batch = 500, filter?: (name: string) => boolean, jitThreshold?: number, compat = false): DiffReport {
  const bin = buildRunner();
  const rng = new Rng(seed);
  const env = new EmuEnv(jitThreshold);
  const templates = filter ? TEMPLATES.filter((t) => filter(t.name)) : TEMPLATES;
  const coverage = new Map<string, number>();
  const failures: DiffFailure[] = [];
  let done = 0;
  let approxLanes = 0, approxNormalLanes = 0, approxDiffering = 0;
  let ti = rng.int(templates.length);
  while (done < count) {
    const n = Math.min(batch, count - done);
    const cases: DiffCase[] = [];
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const tp = templates[ti % templates.length]!;
      ti++;
      cases.push(generate(rng, tp, compat));
      keys.push(templateKey(tp) + ' ' + tp.name);
    }
    const nat = runNative(bin, cases);
    for (let i = 0; i < n; i++) {
      const emu = env.run(cases[i]!);
      const diffs = compareResults(cases[i]!, nat[i]!, emu);
      coverage.set(keys[i]!, (coverage.get(keys[i]!) ?? 0) + 1);
      if (diffs.length) failures.push({ name: cases[i]!.name, diffs });
      const ap = cases[i]!.approx;
      if (ap?.src) {
        approxLanes += ap.lanes;
        for (let l = 0; l < ap.lanes; l++) if (!isSpecial(ap.kind, ap.src[l]!)) approxNormalLanes++;
        if (!diffs.length) approxDiffering += approxBitDiffs(cases[i]!, nat[i]!, emu);
      }
    }
    done += n;
  }
  return { cases: done, failures, coverage, templates: templates.length, approxLanes, approxNormalLanes, approxDiffering };
}

export interface X87Report {
  cases: number;
  forms: number;
  failures: DiffFailure[];
  /** Form name -> [cases, mismatching cases]. */
  perForm: Map<string, [number, number]>;
  /** Transcendental cases that agree only within the documented 1 ulp (or differ in C1). */
  approx: number;
}

/** `perForm` generated cases for every x87 form (optionally filtered by name). */
export function runX87Diff(seed: number, perForm: number, filter?: (name: string) => boolean, jitThreshold?: number): X87Report {
  const bin = buildRunner();
  const rng = new Rng(seed);
  const env = new EmuEnv(jitThreshold);
  const forms = filter ? X87_FORMS.filter((f) => filter(f.name)) : X87_FORMS;
  const cases: DiffCase[] = [];
  const names: string[] = [];
  for (let i = 0; i < perForm; i++) {
    for (const f of forms) {
      const k = generateX87(rng, f);
      k.name += ` #${cases.length}`; // unique: a failure can be regenerated from the seed
      cases.push(k);
      names.push(f.name);
    }
  }
  const perFormMap = new Map<string, [number, number]>();
  const failures: DiffFailure[] = [];
  let approx = 0;
  for (let o = 0; o < cases.length; o += 1000) {
    const batch = cases.slice(o, o + 1000);
    const nat = runNative(bin, batch);
    batch.forEach((k, i) => {
      const emu = env.run(k);
      const diffs = compareResults(k, nat[i]!, emu);
      if (!diffs.length && k.x87Approx && compareResults({ ...k, x87Approx: false }, nat[i]!, emu).length) approx++;
      const n = names[o + i]!;
      const e = perFormMap.get(n) ?? [0, 0];
      e[0]++;
      if (diffs.length) { e[1]++; failures.push({ name: k.name, diffs }); }
      perFormMap.set(n, e);
    });
  }
  return { cases: cases.length, forms: forms.length, failures, perForm: perFormMap, approx };
}
