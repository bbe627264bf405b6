// `disk check`: metadata consistency. Exit status contract: 0 clean, 2 corrupt, 3 leaks only.
import type { CheckResult, FormatName } from '../format.ts';
import { probeFormat, requireFormat } from '../open.ts';

export interface CheckReport extends CheckResult {
  format: FormatName;
  /** False when the format has no metadata to check (raw). */
  supported: boolean;
}

export async function checkImage(file: string, opts: { format?: FormatName; repair?: boolean } = {}): Promise<CheckReport> {
  const fmt = requireFormat(opts.format ?? (await probeFormat(file)));
  if (!fmt.check) return { format: fmt.name, supported: false, corruptions: 0, leaks: 0, messages: [`${fmt.name} images have no metadata to check`] };
  const r = await fmt.check(file, { repair: opts.repair });
  return { ...r, format: fmt.name, supported: true };
}

export function checkExitCode(r: CheckResult): number {
  if (r.corruptions > 0) return 2;
  if (r.leaks > 0) return 3;
  return 0;
}
