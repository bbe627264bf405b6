// Ethernet II framing: 6-byte destination, 6-byte source, 2-byte EtherType, then the payload.
// No FCS (the NIC contract in backend.ts), no VLAN tags.

import { ETH_MAX_FRAME, ETH_MIN_FRAME } from './backend.ts';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETH_HEADER = 14;

export interface EthernetFrame {
  dst: Uint8Array;
  src: Uint8Array;
  type: number;
  payload: Uint8Array;
}

/** Views into `frame` (no copies); undefined for a frame outside the agreed sizes. */
export function parseEthernet(frame: Uint8Array): EthernetFrame | undefined {
  if (frame.length < ETH_MIN_FRAME || frame.length > ETH_MAX_FRAME) return undefined;
  return {
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    type: (frame[12] << 8) | frame[13],
    payload: frame.subarray(ETH_HEADER),
  };
}

/** A new frame; short frames are not padded (the NIC pads to 60 bytes if it wants to). */
export function buildEthernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETH_HEADER + payload.length);
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = type >>> 8;
  frame[13] = type & 0xff;
  frame.set(payload, ETH_HEADER);
  return frame;
}
