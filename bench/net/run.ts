// NAT benchmark: the same Linux guest (the kit's kernel under QEMU TCG, e1000) on two wires in
// one run: Hangar's user-mode NAT (src-core/net, relayed over QEMU's `-netdev dgram`) and QEMU's
// own user-mode network (slirp). Measures, from inside the guest with busybox:
//   - download: wget of a file from an HTTP server on the host's 127.0.0.1 (as 10.0.2.2),
//   - upload: wget --post-file of a text file to the same server,
//   - ping: the average round trip to the gateway.
// Prints MB/s and the ratio Hangar/QEMU, with the host load average (figures from a busy host
// are not comparable). The guest CPU (TCG) is part of both paths, so the ratio shows what the
// NAT costs relative to slirp, not the NAT alone.
//
// Usage: npx tsx bench/net/run.ts [--mib N] [--runs N]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { startNatGuest } from '../../test/integration/net/nat-guest.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const MIB = arg('--mib', 16);
const RUNS = arg('--runs', 2);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Seconds from busybox `time` output ("real\t0m 1.23s"). */
function realSeconds(out: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(out);
  if (!m) throw new Error(`no timing in guest output:\n${out}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

interface Result {
  downMBs: number;
  upMBs: number;
  pingMs: number;
}

async function measure(wire: 'hangar' | 'slirp', port: number): Promise<Result> {
  const g = await startNatGuest({ wire });
  try {
    const lease = await g.dhcp();
    if (!/LEASE 10\.0\.2\.15/.test(lease)) throw new Error(`${wire}: no DHCP lease:\n${lease}`);
    // Text to upload (busybox wget posts files as C strings), made before timing starts.
    await g.sh(`head -c ${MIB * 768 * 1024} /dev/urandom | base64 >/tmp/up.txt`, 300_000);
    const upBytes = Number(/(\d+)\s*$/.exec((await g.sh('wc -c </tmp/up.txt')).trim())![1]);
    let down = Infinity;
    let up = Infinity;
    for (let i = 0; i < RUNS; i++) {
      down = Math.min(down, realSeconds(await g.sh(`time wget -q -O /dev/null http://10.0.2.2:${port}/blob`, 600_000)));
      up = Math.min(up, realSeconds(await g.sh(`time wget -q -O /dev/null --post-file /tmp/up.txt http://10.0.2.2:${port}/upload`, 600_000)));
    }
    const ping = /min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(await g.sh('ping -c 10 10.0.2.2', 120_000));
    return { downMBs: MIB / down, upMBs: upBytes / (1 << 20) / up, pingMs: ping ? Number(ping[1]) : NaN };
  } finally {
    await g.close();
  }
}

async function main(): Promise<void> {
  const blob = Buffer.alloc(MIB << 20, 0x5a);
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      req.resume();
      req.on('end', () => res.end('ok\n'));
    } else res.end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    console.log(`bench/net: ${MIB} MiB each way, best of ${RUNS}; load before: ${load()}`);
    const hangar = await measure('hangar', port);
    console.log(`  hangar NAT : down ${hangar.downMBs.toFixed(2)} MB/s, up ${hangar.upMBs.toFixed(2)} MB/s, ping ${hangar.pingMs.toFixed(2)} ms  (load ${load()})`);
    const slirp = await measure('slirp', port);
    console.log(`  qemu slirp : down ${slirp.downMBs.toFixed(2)} MB/s, up ${slirp.upMBs.toFixed(2)} MB/s, ping ${slirp.pingMs.toFixed(2)} ms  (load ${load()})`);
    console.log(`  ratio hangar/qemu: down ${(hangar.downMBs / slirp.downMBs).toFixed(2)}, up ${(hangar.upMBs / slirp.upMBs).toFixed(2)}`);
  } finally {
    server.close();
  }
}

await main();
