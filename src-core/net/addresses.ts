// The network the guest sees. QEMU's `-netdev user` conventions, which users already know:
// 10.0.2.0/24, the gateway (which is also the host) at .2, DNS at .3, the guest at .15.

export const NET_PREFIX = 0x0a000200; // 10.0.2.0
export const NET_MASK = 0xffffff00; // /24
export const GATEWAY_IP = 0x0a000202; // 10.0.2.2
export const DNS_IP = 0x0a000203; // 10.0.2.3
export const GUEST_IP = 0x0a00020f; // 10.0.2.15
export const BROADCAST_IP = 0x0a0002ff; // 10.0.2.255
export const LIMITED_BROADCAST = 0xffffffff; // 255.255.255.255
export const LOOPBACK_IP = 0x7f000001; // 127.0.0.1

/** The MAC the gateway and DNS addresses answer ARP with (QEMU's 52:55:0a:00:02:02). */
export const GATEWAY_MAC = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);
export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Parses a dotted IPv4 address; undefined when it is not one. */
export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let ip = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    ip = ip * 256 + n;
  }
  return ip >>> 0;
}

export function inGuestNet(ip: number): boolean {
  return ((ip & NET_MASK) >>> 0) === NET_PREFIX;
}

/** Parses "52:54:00:12:34:56" (or with dashes); throws naming the bad text. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`"${text}" is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macToString(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
