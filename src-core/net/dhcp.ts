// A DHCP server (RFC 2131/2132) for a network of one guest: it always leases 10.0.2.15 and
// tells the guest its mask, router (10.0.2.2), DNS server (10.0.2.3) and lease time. Replies go
// to 255.255.255.255 at the client's hardware address (or broadcast when the client asks), which
// every client accepts before it has an address, busybox udhcpc included.

import { BROADCAST_IP, DNS_IP, GATEWAY_IP, GUEST_IP, NET_MASK } from './addresses.ts';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const LEASE_SECONDS = 86400;

const MAGIC = 0x63825363;
const FIXED = 236; // the BOOTP fields before the magic cookie
const MIN_REPLY = 300; // the BOOTP minimum some clients insist on

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

const OPT_MASK = 1;
const OPT_ROUTER = 3;
const OPT_DNS = 6;
const OPT_BROADCAST = 28;
const OPT_REQUESTED_IP = 50;
const OPT_LEASE = 51;
const OPT_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_END = 255;

export interface DhcpReply {
  /** The BOOTP/DHCP message (UDP payload, server port 67 to client port 68). */
  message: Uint8Array;
  /** The client's hardware address, where the reply goes unless `broadcast`. */
  clientMac: Uint8Array;
  broadcast: boolean;
  type: number;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}

/** The options of a DHCP message by code (first occurrence), or undefined if malformed. */
function parseOptions(m: Uint8Array): Map<number, Uint8Array> | undefined {
  const opts = new Map<number, Uint8Array>();
  let i = FIXED + 4;
  while (i < m.length) {
    const code = m[i];
    if (code === OPT_END) return opts;
    if (code === 0) { i++; continue; }
    if (i + 1 >= m.length) return undefined;
    const len = m[i + 1];
    if (i + 2 + len > m.length) return undefined;
    if (!opts.has(code)) opts.set(code, m.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return opts; // no END option: tolerate, as most servers do
}

/** The reply to a client message, or undefined when none is due (not DHCP, release, ...). */
export function handleDhcp(m: Uint8Array): DhcpReply | undefined {
  if (m.length < FIXED + 4 || m[0] !== 1 || m[1] !== 1 || m[2] !== 6 || u32(m, FIXED) !== MAGIC) return undefined;
  const opts = parseOptions(m);
  const type = opts?.get(OPT_TYPE);
  if (!opts || !type || type.length !== 1) return undefined;
  const ciaddr = u32(m, 12);
  let replyType: number;
  switch (type[0]) {
    case DHCPDISCOVER:
      replyType = DHCPOFFER;
      break;
    case DHCPREQUEST: {
      const server = opts.get(OPT_SERVER_ID);
      // The client chose another server's offer: stay silent.
      if (server && server.length === 4 && u32(server, 0) !== GATEWAY_IP) return undefined;
      const req = opts.get(OPT_REQUESTED_IP);
      const wanted = req && req.length === 4 ? u32(req, 0) : ciaddr;
      replyType = wanted === GUEST_IP ? DHCPACK : DHCPNAK;
      break;
    }
    case DHCPINFORM:
      replyType = DHCPACK;
      break;
    default:
      return undefined; // DECLINE, RELEASE and unknown types need no answer
  }
  const inform = type[0] === DHCPINFORM;
  const options: number[] = [OPT_TYPE, 1, replyType, OPT_SERVER_ID, 4, ...bytes(GATEWAY_IP)];
  if (replyType !== DHCPNAK) {
    if (!inform) options.push(OPT_LEASE, 4, ...bytes(LEASE_SECONDS));
    options.push(OPT_MASK, 4, ...bytes(NET_MASK), OPT_ROUTER, 4, ...bytes(GATEWAY_IP));
    options.push(OPT_DNS, 4, ...bytes(DNS_IP), OPT_BROADCAST, 4, ...bytes(BROADCAST_IP));
  }
  options.push(OPT_END);
  const r = new Uint8Array(Math.max(MIN_REPLY, FIXED + 4 + options.length));
  r[0] = 2; // BOOTREPLY
  r[1] = 1;
  r[2] = 6;
  r.set(m.subarray(4, 8), 4); // xid
  r.set(m.subarray(10, 12), 10); // flags
  if (inform) putU32(r, 12, ciaddr);
  if (replyType !== DHCPNAK && !inform) putU32(r, 16, GUEST_IP);
  if (replyType !== DHCPNAK) putU32(r, 20, GATEWAY_IP);
  r.set(m.subarray(24, 44), 24); // giaddr, chaddr
  putU32(r, FIXED, MAGIC);
  r.set(options, FIXED + 4);
  const broadcast = (m[10] & 0x80) !== 0 || replyType === DHCPNAK;
  return { message: r, clientMac: m.slice(28, 34), broadcast, type: replyType };
}

function bytes(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
