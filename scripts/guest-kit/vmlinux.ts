// The uncompressed kernel (ELF vmlinux) inside the kit's bzImage. Hangar's engine boots an ELF
// vmlinux directly, which skips the XZ decompressor: on an interpreted CPU that decompression is
// most of a boot, so the demo VM, the VMM tests and benchmarks boot the vmlinux (same kernel).
// The bzImage header says where the compressed payload is (boot protocol 2.08+); `xz` unpacks it.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { runOk } from './run.ts';

/** Byte range of the compressed kernel inside a bzImage, from its setup header. */
export function bzImagePayload(img: Uint8Array, what = 'bzImage'): { offset: number; length: number } {
  const buf = Buffer.from(img.buffer, img.byteOffset, img.byteLength);
  if (buf.length < 0x250 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new Error(`guest-kit: ${what} is not a Linux bzImage (no HdrS header)`);
  const version = buf.readUInt16LE(0x206);
  if (version < 0x208) throw new Error(`guest-kit: ${what} uses boot protocol ${version >> 8}.${version & 0xff}; 2.08+ is needed to find the payload`);
  const setupSects = buf[0x1f1] || 4;
  const pm = (setupSects + 1) * 512;
  const offset = pm + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (length < 6 || offset + length > buf.length) throw new Error(`guest-kit: ${what} names a payload outside the file (${offset}+${length} of ${buf.length} bytes)`);
  return { offset, length };
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * Writes the vmlinux of the bzImage at `bzImagePath` to `outPath`. The payload ends with the
 * 4-byte uncompressed size the kernel build appends, hence --single-stream (ignore what follows
 * the stream). Throws naming the problem when the payload is not XZ or xz is missing.
 */
export async function extractVmlinux(bzImagePath: string, outPath: string): Promise<void> {
  const img = await readFile(bzImagePath);
  const { offset, length } = bzImagePayload(img, bzImagePath);
  const payload = img.subarray(offset, offset + length);
  if (!payload.subarray(0, 6).equals(XZ_MAGIC)) throw new Error(`guest-kit: the kernel payload in ${bzImagePath} is not XZ-compressed`);
  const xzPath = `${outPath}.xz`;
  await writeFile(xzPath, payload);
  try {
    await runOk('xz', ['-d', '-k', '-f', '--single-stream', xzPath], { hint: 'apt-get install xz-utils' });
  } finally {
    await rm(xzPath, { force: true });
  }
  const data = await readFile(outPath);
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2) {
    await rm(outPath, { force: true });
    throw new Error(`guest-kit: the kernel unpacked from ${bzImagePath} is not a 64-bit ELF vmlinux`);
  }
}
