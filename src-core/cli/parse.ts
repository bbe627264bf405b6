// Strict parsing of command-line values. Errors name the option, the value and what is allowed.
import { usageError } from '../api/errors.ts';

export function parseIntOption(option: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw usageError(`${option}: "${value}" is not valid; allowed: a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw usageError(`${option}: ${n} is not valid; allowed: a whole number from ${min} to ${max}`);
  return n;
}

/** Parse "a=1,b=x,flag" into a map; bare words map to "true". */
export function parseKeyValues(option: string, spec: string, allowedKeys: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim();
    const v = eq < 0 ? 'true' : part.slice(eq + 1);
    if (!allowedKeys.includes(k)) throw usageError(`${option}: unknown key "${k}" in "${spec}"; allowed keys: ${allowedKeys.join(', ')}`);
    out.set(k, v);
  }
  return out;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseOnOff(option: string, value: string): boolean {
  if (/^(on|true|yes|1)$/i.test(value)) return true;
  if (/^(off|false|no|0)$/i.test(value)) return false;
  throw usageError(`${option}: "${value}" is not valid; allowed: on or off`);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Render rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
