// ARP (RFC 826) for IPv4 over Ethernet: the gateway (10.0.2.2) and DNS (10.0.2.3) addresses
// answer with the gateway MAC; every ARP packet from the guest teaches us its MAC and address.

import { DNS_IP, GATEWAY_IP, GATEWAY_MAC } from './addresses.ts';

const ARP_LEN = 28;
const OP_REQUEST = 1;
const OP_REPLY = 2;

export interface ArpResult {
  /** The guest's address as its packet says (0 for probes), and its MAC. */
  senderIp: number;
  senderMac: Uint8Array;
  /** The ARP reply payload to send back, if the request was for one of our addresses. */
  reply?: Uint8Array;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}

/** Undefined for anything but an Ethernet/IPv4 ARP request or reply. */
export function handleArp(p: Uint8Array): ArpResult | undefined {
  if (p.length < ARP_LEN) return undefined;
  const htype = (p[0] << 8) | p[1];
  const ptype = (p[2] << 8) | p[3];
  const op = (p[6] << 8) | p[7];
  if (htype !== 1 || ptype !== 0x0800 || p[4] !== 6 || p[5] !== 4) return undefined;
  if (op !== OP_REQUEST && op !== OP_REPLY) return undefined;
  const senderMac = p.slice(8, 14);
  const senderIp = u32(p, 14);
  const targetIp = u32(p, 24);
  const result: ArpResult = { senderIp, senderMac };
  if (op === OP_REQUEST && (targetIp === GATEWAY_IP || targetIp === DNS_IP)) {
    const r = new Uint8Array(ARP_LEN);
    r.set(p.subarray(0, 6), 0); // same hardware/protocol types and sizes
    r[7] = OP_REPLY;
    r.set(GATEWAY_MAC, 8);
    putU32(r, 14, targetIp);
    r.set(senderMac, 18);
    putU32(r, 24, senderIp);
    result.reply = r;
  }
  return result;
}
