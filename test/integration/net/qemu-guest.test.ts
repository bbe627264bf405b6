// The NAT under a real guest TCP/IP stack: the kit's Linux guest runs in QEMU (TCG) with an
// e1000 whose frames QEMU sends over UDP on 127.0.0.1 (`-netdev dgram`); this test relays them
// to createUserNet and back. Busybox in the guest then does what a user would: udhcpc, ping
// the gateway, DNS through 10.0.2.3, HTTP both ways to a server on the host's 127.0.0.1
// (reached as 10.0.2.2), TFTP over UDP, and a host client reaching a guest server through a
// forwarded port. QEMU is the known-good VMM here; Hangar's own e1000 is tested by its owner.

import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuSession, READY_MARKER } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit, guestKitModules } from '../../../scripts/guest-kit.ts';
import { createUserNet, type UserNet } from '../../../src-core/net/user-net.ts';

const BOOT_TIMEOUT = 300_000;
const STEP_TIMEOUT = 120_000;
const MAC = '52:54:00:12:34:56';

let tmp: string;
let qemu: QemuSession | undefined;
let backend: UserNet;
let relay: dgram.Socket;
let httpServer: http.Server;
let tftp: dgram.Socket;
let httpPort: number;
let tftpPort: number;
const blob = Buffer.alloc(1 << 20);
const logLines: string[] = [];
let step = 0;

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs a shell command in the guest and returns what it printed (up to the step marker). */
async function sh(cmd: string, timeout = STEP_TIMEOUT): Promise<string> {
  const s = qemu!;
  const n = ++step;
  const from = s.output.length;
  // The marker is computed by the guest, so the echoed command line never matches it.
  const sep = cmd.trimEnd().endsWith('&') ? ' ' : '; ';
  s.send(`${cmd}${sep}echo STEP-$((${n}*1000+1))\n`);
  const marker = `STEP-${n * 1000 + 1}`;
  await s.waitFor(new RegExp(`${marker}\\r?\\n`), timeout, from);
  const out = s.output.slice(from);
  return out.slice(0, out.indexOf(marker));
}

/** A TFTP server (RFC 1350, read requests only) answering from its own port. */
function tftpServer(files: Map<string, Buffer>): dgram.Socket {
  const s = dgram.createSocket('udp4');
  const sessions = new Map<string, { data: Buffer; block: number }>();
  const sendBlock = (to: dgram.RemoteInfo, data: Buffer, block: number) => {
    const chunk = data.subarray((block - 1) * 512, block * 512);
    s.send(Buffer.concat([Buffer.from([0, 3, block >> 8, block & 0xff]), chunk]), to.port, to.address);
  };
  s.on('message', (m, rinfo) => {
    const op = m.readUInt16BE(0);
    const key = `${rinfo.address}:${rinfo.port}`;
    if (op === 1) {
      const name = m.subarray(2, m.indexOf(0, 2)).toString();
      const data = files.get(name);
      if (!data) return void s.send(Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('no such file\0')]), rinfo.port, rinfo.address);
      sessions.set(key, { data, block: 1 });
      sendBlock(rinfo, data, 1);
    } else if (op === 4) {
      const st = sessions.get(key);
      const acked = m.readUInt16BE(2);
      if (!st || acked !== st.block) return;
      if (st.block * 512 > st.data.length) return void sessions.delete(key); // the short block was acked
      st.block++;
      sendBlock(rinfo, st.data, st.block);
    }
  });
  return s;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hangar-net-'));
  let x = 12345;
  for (let i = 0; i < blob.length; i++) blob[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;

  httpServer = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('md5');
      let n = 0;
      req.on('data', (d: Buffer) => (h.update(d), (n += d.length)));
      req.on('end', () => res.end(`got ${n} bytes md5 ${h.digest('hex')}\n`));
    } else if (req.url === '/blob') res.end(blob);
    else res.end('hello from the host\n');
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  httpPort = (httpServer.address() as net.AddressInfo).port;
  tftp = tftpServer(new Map([['motd.txt', Buffer.from('tftp says hi\n'.repeat(100))]]));
  await new Promise<void>((r) => tftp.bind(0, '127.0.0.1', r));
  tftpPort = tftp.address().port;

  backend = await createUserNet({
    guestMac: MAC,
    portForwards: [{ name: 'guest-nc', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 2222 }],
    log: (l) => logLines.push(l),
  });
  relay = dgram.createSocket('udp4');
  await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
  const qemuPort = await freeUdpPort();
  relay.on('message', (frame) => backend.send(frame));
  backend.setReceiver((frame) => relay.send(frame, qemuPort, '127.0.0.1'));

  const kit = await ensureGuestKit();
  const initrd = join(tmp, 'initrd');
  await writeFile(initrd, Buffer.concat([await readFile(kit.initramfs), await readFile(guestKitModules(kit))]));
  qemu = new QemuSession({
    kernel: kit.kernel,
    initrd,
    append: 'console=ttyS0 panic=-1',
    memoryMiB: 256,
    extraArgs: [
      '-netdev', `dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=${qemuPort},remote.type=inet,remote.host=127.0.0.1,remote.port=${relay.address().port}`,
      '-device', `e1000,netdev=n0,mac=${MAC}`,
    ],
  });
  await qemu.waitFor(READY_MARKER, BOOT_TIMEOUT);
  await qemu.waitFor('hangar-guest# ', STEP_TIMEOUT);
}, BOOT_TIMEOUT + STEP_TIMEOUT);

afterAll(async () => {
  await qemu?.kill();
  await backend?.close();
  relay?.close();
  tftp?.close();
  httpServer?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('a Linux guest (QEMU e1000) on the NAT', () => {
  it('gets 10.0.2.15, the router and DNS from udhcpc', async () => {
    await sh(`printf '#!/bin/sh\\n[ "$1" = bound ] || exit 0\\nifconfig $interface $ip netmask $subnet up\\nroute add default gw $router\\necho "nameserver $dns" >/etc/resolv.conf\\necho "LEASE $ip $subnet $router $dns $lease"\\n' >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; ifconfig eth0 up`);
    const out = await sh('udhcpc -i eth0 -q -n -t 5 -T 2 -s /tmp/dhcp.sh');
    expect(out).toContain('LEASE 10.0.2.15 255.255.255.0 10.0.2.2 10.0.2.3 86400');
  });

  it('pings the gateway', async () => {
    const out = await sh('ping -c 2 -W 5 10.0.2.2');
    expect(out).toMatch(/2 packets transmitted, 2 packets received/);
  });

  it('resolves localhost through 10.0.2.3 to the gateway address', async () => {
    const out = await sh('nslookup -type=a localhost');
    expect(out).toMatch(/Name:\s+localhost\s+Address:\s+10\.0\.2\.2/);
  });

  it('fetches from and posts 1 MiB to an HTTP server on the host loopback', async () => {
    const hello = await sh(`wget -q -O - http://10.0.2.2:${httpPort}/hello`);
    expect(hello).toContain('\nhello from the host');
    const md5 = createHash('md5').update(blob).digest('hex');
    const got = await sh(`wget -q -O /tmp/blob http://10.0.2.2:${httpPort}/blob && md5sum /tmp/blob`);
    expect(got).toContain(`${md5}  /tmp/blob`);
    // busybox wget posts a file as a C string (it stops at a NUL), so post text: the blob in
    // base64, and compare the host's digest of what arrived with the guest's of what it sent.
    const local = await sh('base64 /tmp/blob >/tmp/blob.txt && wc -c </tmp/blob.txt && md5sum /tmp/blob.txt');
    const [, size, sum] = /\n(\d+)\r?\n([0-9a-f]{32})  \/tmp\/blob.txt/.exec(local)!;
    expect(Number(size)).toBeGreaterThan(1_400_000);
    const posted = await sh(`wget -q -O - --post-file /tmp/blob.txt http://10.0.2.2:${httpPort}/upload`);
    expect(posted).toContain(`got ${size} bytes md5 ${sum}`);
  });

  it('reads a file over TFTP (UDP) from the host', async () => {
    const out = await sh(`tftp -g -r motd.txt -l /tmp/motd.txt 10.0.2.2 ${tftpPort} && md5sum /tmp/motd.txt`);
    expect(out).toContain(`${createHash('md5').update('tftp says hi\n'.repeat(100)).digest('hex')}  /tmp/motd.txt`);
  });

  it('a host client reaches a guest server through a forwarded port', async () => {
    await sh('(echo from-guest; sleep 2) | nc -l -p 2222 >/tmp/got &');
    await new Promise((r) => setTimeout(r, 500));
    const port = backend.forwardedPorts.get('guest-nc')!;
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => c.write('from-host\n'));
      let text = '';
      c.on('data', (d: Buffer) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
      setTimeout(() => (c.destroy(), resolve(text)), 30_000);
    });
    expect(reply).toBe('from-guest\n');
    const got = await sh('cat /tmp/got');
    expect(got).toContain('\nfrom-host');
    expect(backend.drops['tcp-checksum'] + backend.drops['ip-checksum'] + backend.drops['udp-checksum']).toBe(0);
  });
});
