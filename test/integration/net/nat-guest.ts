// The kit's Linux guest under QEMU (TCG) with an e1000 whose wire is either Hangar's NAT
// (QEMU's `-netdev stream` carries frames over a Unix socket, each behind a 4-byte big-endian
// length, relayed here to createUserNet) or QEMU's own user-mode network (slirp), for
// comparison in bench/net. A Unix socket rather than `-netdev dgram` on 127.0.0.1: the
// sandbox's UDP loopback cost about a millisecond per frame, which buried the NAT's own cost.
// Shared by the integration test and the benchmark.

import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuSession, READY_MARKER } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit, guestKitModules } from '../../../scripts/guest-kit.ts';
import type { PortForward } from '../../../src-core/api/machine.ts';
import { createUserNet, type UserNet } from '../../../src-core/net/user-net.ts';

export const GUEST_MAC = '52:54:00:12:34:56';

export interface NatGuest {
  qemu: QemuSession;
  /** Hangar's backend (absent with QEMU's slirp). */
  backend?: UserNet;
  /** Runs a shell command in the guest; resolves with what it printed. */
  sh(cmd: string, timeoutMs?: number): Promise<string>;
  /** Configures eth0 with udhcpc (lease printed as "LEASE ip mask router dns seconds"). */
  dhcp(): Promise<string>;
  close(): Promise<void>;
}

/** Splits QEMU's stream (4-byte big-endian length, then the frame) into frames. */
function frameReader(onFrame: (frame: Uint8Array) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (pending.length - off >= 4) {
      const len = pending.readUInt32BE(off);
      if (pending.length - off - 4 < len) break;
      onFrame(pending.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    pending = pending.subarray(off);
  };
}

export async function startNatGuest(opts: {
  wire: 'hangar' | 'slirp';
  portForwards?: PortForward[];
  log?: (line: string) => void;
  bootTimeoutMs?: number;
}): Promise<NatGuest> {
  const tmp = await mkdtemp(join(tmpdir(), 'hangar-net-'));
  let backend: UserNet | undefined;
  let relay: net.Server | undefined;
  let netdev: string;
  if (opts.wire === 'hangar') {
    backend = await createUserNet({ guestMac: GUEST_MAC, portForwards: opts.portForwards ?? [], log: opts.log });
    const b = backend;
    const path = join(tmp, 'wire.sock');
    let conn: net.Socket | undefined;
    relay = net.createServer((c) => {
      conn = c;
      c.on('data', frameReader((frame) => b.send(frame)));
      c.on('error', () => {});
    });
    await new Promise<void>((done) => relay!.listen(path, done));
    b.setReceiver((frame) => {
      if (!conn) return; // no wire yet: lost, as on an unplugged cable
      const len = Buffer.alloc(4);
      len.writeUInt32BE(frame.length);
      conn.write(Buffer.concat([len, frame]));
    });
    netdev = `stream,id=n0,server=off,addr.type=unix,addr.path=${path}`;
  } else {
    netdev = 'user,id=n0';
  }
  const kit = await ensureGuestKit();
  const initrd = join(tmp, 'initrd');
  await writeFile(initrd, Buffer.concat([await readFile(kit.initramfs), await readFile(guestKitModules(kit))]));
  const qemu = new QemuSession({
    kernel: kit.kernel,
    initrd,
    append: 'console=ttyS0 panic=-1',
    memoryMiB: 256,
    extraArgs: ['-netdev', netdev, '-device', `e1000,netdev=n0,mac=${GUEST_MAC}`],
  });
  const close = async () => {
    await qemu.kill();
    await backend?.close();
    relay?.close();
    relay?.unref();
    await rm(tmp, { recursive: true, force: true });
  };
  let step = 0;
  const sh = async (cmd: string, timeoutMs = 120_000): Promise<string> => {
    const n = ++step;
    const from = qemu.output.length;
    // The marker is computed by the guest, so the echoed command line never matches it.
    const sep = cmd.trimEnd().endsWith('&') ? ' ' : '; ';
    const marker = `STEP-${n * 1000 + 1}`;
    qemu.send(`${cmd}${sep}echo STEP-$((${n}*1000+1))\n`);
    // Not followed by a digit (rather than by a newline): a kernel message may follow at once.
    await qemu.waitFor(new RegExp(`${marker}(?!\\d)`), timeoutMs, from);
    const out = qemu.output.slice(from);
    return out.slice(0, out.indexOf(marker));
  };
  const dhcp = async () => {
    await sh(`printf '#!/bin/sh\\n[ "$1" = bound ] || exit 0\\nifconfig $interface $ip netmask $subnet up\\nroute add default gw $router\\necho "nameserver $dns" >/etc/resolv.conf\\necho "LEASE $ip $subnet $router $dns $lease"\\n' >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; ifconfig eth0 up`);
    return sh('udhcpc -i eth0 -q -n -t 5 -T 2 -s /tmp/dhcp.sh');
  };
  try {
    await qemu.waitFor(READY_MARKER, opts.bootTimeoutMs ?? 300_000);
    await qemu.waitFor('hangar-guest# ', 120_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { qemu, backend, sh, dhcp, close };
}
