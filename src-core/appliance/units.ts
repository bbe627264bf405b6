// DMTF programmatic units ("byte * 2^20") and the older names tools still write (MegaBytes),
// for memory quantities and disk capacities. An unknown unit is an error, never a guess.

const NAMED: Record<string, number> = {
  byte: 1,
  bytes: 1,
  kilobytes: 2 ** 10,
  kb: 2 ** 10,
  megabytes: 2 ** 20,
  mb: 2 ** 20,
  gigabytes: 2 ** 30,
  gb: 2 ** 30,
  terabytes: 2 ** 40,
  tb: 2 ** 40,
};

/** Multiplier of a unit string in bytes, or undefined when it is not a byte unit. */
export function byteMultiplier(unit: string): number | undefined {
  const u = unit.trim().replace(/\s+/g, ' ');
  const named = NAMED[u.toLowerCase()];
  if (named !== undefined) return named;
  // "byte * 2^20", "byte*10^6", "byte * 1024" (factors multiply).
  const parts = u.split('*').map((p) => p.trim());
  if (parts[0]?.toLowerCase() !== 'byte' || parts.length < 2) return undefined;
  let m = 1;
  for (const p of parts.slice(1)) {
    const pow = /^(\d+)\s*\^\s*(\d+)$/.exec(p);
    if (pow) m *= Number(pow[1]) ** Number(pow[2]);
    else if (/^\d+$/.test(p)) m *= Number(p);
    else return undefined;
  }
  return Number.isSafeInteger(m) && m > 0 ? m : undefined;
}

/** A quantity in bytes from a number and unit; throws a message naming both when unusable. */
export function toBytes(quantity: string, unit: string | undefined, what: string): number {
  if (!/^\s*\d+\s*$/.test(quantity)) throw new Error(`${what}: ${JSON.stringify(quantity)} is not a whole number`);
  const m = unit === undefined || unit === '' ? 1 : byteMultiplier(unit);
  if (m === undefined) throw new Error(`${what}: unknown allocation unit ${JSON.stringify(unit)}`);
  const n = Number(quantity) * m;
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: ${quantity} ${unit ?? 'bytes'} is too large`);
  return n;
}
