// Allocation maps (OpenImage.mapRanges): lists of runs that say which bytes hold data. Formats
// build them piece by piece; neighbouring pieces of the same kind are merged as they come.

import type { MapRun } from '../format.ts';

export type Run = MapRun;

/** Append `r` to `out`, extending the last run instead when it is contiguous and of the same kind. */
export function appendRun(out: Run[], r: Run): void {
  const last = out[out.length - 1];
  if (last && last.allocated === r.allocated && !!last.zero === !!r.zero && last.offset + last.length === r.offset) last.length += r.length;
  else out.push(r);
}
