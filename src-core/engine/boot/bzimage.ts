// Parsing and validating a Linux bzImage's setup header (Documentation/arch/x86/boot.rst).
// The loader refuses anything it cannot boot with a message naming the problem: a file that
// is not a bzImage, a boot protocol older than 2.06, or a protocol major version it does not
// know (a hypothetical 3.x).
import { HangarError } from '../../api/errors.ts';

export const MIN_PROTOCOL = 0x0206;
/** Newest 2.x revision this loader has been written against; later 2.x are compatible. */
export const KNOWN_PROTOCOL = 0x020f;

export const LOADFLAG_LOADED_HIGH = 0x01;
export const LOADFLAG_CAN_USE_HEAP = 0x80;
export const XLF_KERNEL_64 = 0x01;
export const XLF_CAN_BE_LOADED_ABOVE_4G = 0x02;

export interface SetupHeader {
  setupSects: number;
  /** Offset of the protected-mode kernel inside the file. */
  kernelOffset: number;
  /** Length of the protected-mode kernel. */
  kernelLength: number;
  protocol: number;
  loadflags: number;
  initrdAddrMax: number;
  cmdlineSize: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  prefAddress: bigint;
  initSize: number;
  /** Bytes 0x1F1..end of header, to copy into boot_params. */
  headerEnd: number;
  versionString: string;
}

function notBzImage(what: string, detail: string): HangarError {
  return new HangarError('invalid-config', `${what} is not a Linux bzImage: ${detail}`);
}

export function protocolString(p: number): string {
  return `${p >> 8}.${(p & 0xff).toString().padStart(2, '0')}`;
}

/** Parse and check the setup header. `what` names the file in messages. */
export function parseBzImage(image: Uint8Array, what = 'kernel'): SetupHeader {
  if (image.length < 0x264) throw notBzImage(what, `only ${image.length} bytes long`);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint16(0x1fe, true) !== 0xaa55) throw notBzImage(what, 'no 0xAA55 boot signature at offset 0x1FE');
  if (dv.getUint32(0x202, true) !== 0x53726448) throw notBzImage(what, 'no "HdrS" setup header magic at offset 0x202');
  const protocol = dv.getUint16(0x206, true);
  if (protocol < MIN_PROTOCOL) {
    throw new HangarError('unsupported',
      `${what}: boot protocol ${protocolString(protocol)} is too old (need ${protocolString(MIN_PROTOCOL)} or later)`);
  }
  if (protocol >> 8 !== 2) {
    throw new HangarError('unsupported',
      `${what}: boot protocol ${protocolString(protocol)} is newer than this loader understands (2.x)`);
  }
  const loadflags = dv.getUint8(0x211);
  if (!(loadflags & LOADFLAG_LOADED_HIGH)) {
    throw notBzImage(what, 'it is a zImage (loads low); only bzImage kernels are supported');
  }
  let setupSects = dv.getUint8(0x1f1);
  if (setupSects === 0) setupSects = 4;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= image.length) throw notBzImage(what, `setup (${kernelOffset} bytes) runs past the end of the file`);
  const syssize = dv.getUint32(0x1f4, true) * 16;
  const kernelLength = image.length - kernelOffset;
  if (syssize > kernelLength + 16) {
    throw notBzImage(what, `truncated: header says ${syssize} bytes of kernel, file has ${kernelLength}`);
  }
  const headerEnd = Math.min(0x202 + dv.getUint8(0x201), 0x290);
  const kernelVersionPtr = dv.getUint16(0x20e, true);
  let versionString = '';
  if (kernelVersionPtr !== 0 && kernelVersionPtr + 0x200 < kernelOffset) {
    const start = kernelVersionPtr + 0x200;
    let end = start;
    while (end < kernelOffset && image[end] !== 0 && end - start < 256) end++;
    versionString = new TextDecoder().decode(image.subarray(start, end));
  }
  return {
    setupSects,
    kernelOffset,
    kernelLength,
    protocol,
    loadflags,
    initrdAddrMax: dv.getUint32(0x22c, true),
    cmdlineSize: dv.getUint32(0x238, true),
    kernelAlignment: dv.getUint32(0x230, true),
    relocatable: dv.getUint8(0x234) !== 0,
    xloadflags: protocol >= 0x020c ? dv.getUint16(0x236, true) : 0,
    prefAddress: protocol >= 0x020a ? dv.getBigUint64(0x258, true) : 0x100000n,
    initSize: protocol >= 0x020a ? dv.getUint32(0x260, true) : 0,
    headerEnd,
    versionString,
  };
}
