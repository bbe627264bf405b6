// The contract between a virtual network adapter (the NIC device in the engine) and what the
// adapter is attached to (user-mode NAT today). Frames are whole Ethernet frames: destination
// MAC first, no preamble and no FCS, 14 to 1514 bytes (no jumbo frames, no VLAN offload).
//
// Both directions are asynchronous and lossy, like a wire: a backend may drop a frame it cannot
// handle, and a NIC drops a received frame when the guest has no receive buffer for it (it
// counts the drop). Neither side ever blocks the other.

// Backends are created asynchronously when they hold host resources that can be refused:
// createUserNet (user-net.ts) resolves once every forwarded port is listening, and rejects with
// an error naming the rule (e.g. 'port forward "ssh": tcp 127.0.0.1:2222 is already in use on
// the host') having closed whatever it had opened.

export interface NetBackend {
  /** The guest transmitted a frame. The backend must not keep a reference to `frame`. */
  send(frame: Uint8Array): void;
  /**
   * Where frames for the guest go. Set once, by the NIC, before the first `send`. The backend
   * calls it from the event loop (never re-entrantly from inside `send`), with a frame the NIC
   * may keep.
   */
  setReceiver(receive: (frame: Uint8Array) => void): void;
  /** Closes host sockets and listeners. Idempotent. */
  close(): Promise<void>;
}

/** Ethernet limits the NIC and the backend agree on. */
export const ETH_MIN_FRAME = 14;
export const ETH_MAX_FRAME = 1514;
