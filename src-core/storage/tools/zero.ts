// Fast all-zero test: memcmp against a shared zero page beats a byte loop by an order of magnitude.
const ZEROS = new Uint8Array(1 << 16);

export function isZero(buf: Uint8Array): boolean {
  for (let off = 0; off < buf.length; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - off);
    if (Buffer.compare(buf.subarray(off, off + n), ZEROS.subarray(0, n)) !== 0) return false;
  }
  return true;
}
