// Receive checksum offload of the 82540EM (RXCSUM, SDM 13.4.45): the device checks the IPv4
// header checksum (IPOFL) and the TCP/UDP checksum of unfragmented IPv4 packets (TUOFL) and
// reports the outcome in the descriptor's status (IPCS, TCPCS) and errors (IPE, TCPE); it also
// stores the raw ones'-complement sum of the packet from PCSS on. Linux's e1000 turns TUOFL on
// and marks packets with TCPCS and no TCPE as already verified, so the guest does not sum every
// received byte again (which on an interpreted CPU is a real cost).
//
// Anything the part does not check (IPv6, fragments, other protocols, UDP without a checksum)
// gets IXSM, "checksum not computed": the driver then verifies in software, as without offload.
import { fold, sumWords, verifies } from '../../net/checksum.ts';

export const RXCSUM_IPOFL = 1 << 8;
export const RXCSUM_TUOFL = 1 << 9;

const STAT_IXSM = 0x04;
const STAT_TCPCS = 0x20;
const STAT_IPCS = 0x40;
const ERR_TCPE = 0x20;
const ERR_IPE = 0x40;

export interface RxChecksum {
  status: number;
  errors: number;
  /** Ones'-complement sum of the frame from PCSS to its end (the descriptor's checksum field). */
  csum: number;
}

/** Status and error bits for a received frame (Ethernet header first, no FCS, tag stripped). */
export function rxChecksum(frame: Uint8Array, rxcsum: number): RxChecksum {
  const pcss = rxcsum & 0xff;
  const csum = pcss < frame.length ? fold(sumWords(frame, pcss, frame.length)) : 0;
  const none = { status: STAT_IXSM, errors: 0, csum };
  if (!(rxcsum & (RXCSUM_IPOFL | RXCSUM_TUOFL))) return none;
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return none;
  const ip = 14;
  const ihl = (frame[ip]! & 0x0f) * 4;
  if (frame[ip]! >> 4 !== 4 || ihl < 20 || ip + ihl > frame.length) return none;
  const total = (frame[ip + 2]! << 8) | frame[ip + 3]!;
  if (total < ihl || ip + total > frame.length) return none;
  let status = 0;
  let errors = 0;
  if (rxcsum & RXCSUM_IPOFL) {
    status |= STAT_IPCS;
    if (!verifies(frame, ip, ip + ihl)) errors |= ERR_IPE;
  }
  const proto = frame[ip + 9]!;
  const fragmented = (((frame[ip + 6]! << 8) | frame[ip + 7]!) & 0x3fff) !== 0; // MF or an offset
  const l4 = ip + ihl;
  const l4len = total - ihl;
  const udpNoSum = proto === 17 && l4len >= 8 && frame[l4 + 6] === 0 && frame[l4 + 7] === 0;
  const checkable = (proto === 6 && l4len >= 20) || (proto === 17 && l4len >= 8 && !udpNoSum);
  if (rxcsum & RXCSUM_TUOFL && checkable && !fragmented && !(errors & ERR_IPE)) {
    status |= STAT_TCPCS;
    const pseudo = sumWords(frame, ip + 12, ip + 20) + proto + l4len;
    if (!verifies(frame, l4, l4 + l4len, pseudo)) errors |= ERR_TCPE;
  }
  return { status: status === 0 ? STAT_IXSM : status, errors, csum };
}
