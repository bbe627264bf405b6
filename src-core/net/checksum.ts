// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
// big-endian words. Sums are kept unfolded (a JS number holds far more than 2^32 of them) and
// folded once at the end.

/** Adds the bytes [start, end) of `data` as 16-bit big-endian words to `sum`. */
export function sumWords(data: Uint8Array, start = 0, end = data.length, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8; // odd length: pad with a zero byte
  return sum;
}

export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum to store in a header (the complement of the folded sum). */
export function checksum(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
  return ~fold(sumWords(data, start, end, initial)) & 0xffff;
}

/** The TCP/UDP pseudo-header (source, destination, protocol, length) as a partial sum. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** True when data with its checksum field in place sums to all ones (i.e. verifies). */
export function verifies(data: Uint8Array, start = 0, end = data.length, initial = 0): boolean {
  return fold(sumWords(data, start, end, initial)) === 0xffff;
}
