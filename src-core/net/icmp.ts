// ICMP (RFC 792): the gateway answers echo requests itself, so `ping 10.0.2.2` works. Other
// destinations would need raw sockets (root), so echo requests to them are dropped.

import { GATEWAY_IP } from './addresses.ts';
import { checksum, verifies } from './checksum.ts';
import type { NetContext } from './context.ts';
import { PROTO_ICMP } from './ipv4.ts';

const ECHO_REPLY = 0;
const ECHO_REQUEST = 8;

export function handleIcmp(ctx: NetContext, src: number, dst: number, p: Uint8Array): void {
  if (p.length < 8) return ctx.drop('malformed');
  if (!verifies(p)) return ctx.drop('icmp-checksum');
  if (p[0] !== ECHO_REQUEST || p[1] !== 0 || dst !== GATEWAY_IP) return ctx.drop('unsupported');
  const reply = p.slice();
  reply[0] = ECHO_REPLY;
  reply[2] = 0;
  reply[3] = 0;
  const sum = checksum(reply);
  reply[2] = sum >>> 8;
  reply[3] = sum & 0xff;
  ctx.sendIp(GATEWAY_IP, src, PROTO_ICMP, reply);
}
