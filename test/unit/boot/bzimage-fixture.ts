// A synthetic bzImage: a real setup header (as the kernel's header.S lays it out) in front of
// a recognisable protected-mode payload, so loader tests run without a kernel build.
export interface FixtureOptions {
  protocol?: number;
  setupSects?: number;
  loadflags?: number;
  xloadflags?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  payload?: number;
  initSize?: number;
  prefAddress?: number;
}

export function makeBzImage(o: FixtureOptions = {}): Uint8Array {
  const setupSects = o.setupSects === 0 ? 4 : (o.setupSects ?? 4); // 0 means 4 in the protocol
  const payloadLen = o.payload ?? 8192;
  const img = new Uint8Array((setupSects + 1) * 512 + payloadLen);
  const dv = new DataView(img.buffer);
  dv.setUint8(0x1f1, o.setupSects === 0 ? 0 : setupSects);
  dv.setUint32(0x1f4, Math.ceil(payloadLen / 16), true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  dv.setUint8(0x200, 0xeb);
  dv.setUint8(0x201, 0x6a); // header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, o.protocol ?? 0x020f, true);
  dv.setUint16(0x20e, 0x0100, true); // kernel_version string at 0x300
  new TextEncoder().encodeInto('6.1.0-test (hangar@fixture) #1', img.subarray(0x300));
  dv.setUint8(0x211, o.loadflags ?? 0x01);
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, 0x200000, true);
  dv.setUint8(0x234, 1);
  dv.setUint16(0x236, o.xloadflags ?? 0x03, true);
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setBigUint64(0x258, BigInt(o.prefAddress ?? 0x1000000), true);
  dv.setUint32(0x260, o.initSize ?? 0x100000, true);
  const payload = img.subarray((setupSects + 1) * 512);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
  return img;
}
