// The NAT under a real guest TCP/IP stack: the kit's Linux guest runs in QEMU (TCG) with an
// e1000 whose frames QEMU carries over a Unix socket (`-netdev stream`, see nat-guest.ts); this
// test relays them to createUserNet and back. Busybox in the guest then does what a user would: udhcpc, ping
// the gateway, DNS through 10.0.2.3, HTTP both ways to a server on the host's 127.0.0.1
// (reached as 10.0.2.2), TFTP over UDP, and a host client reaching a guest server through a
// forwarded port. QEMU is the known-good VMM here; Hangar's own e1000 is tested by its owner.

import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserNet } from '../../../src-core/net/user-net.ts';
import { type NatGuest, startNatGuest } from './nat-guest.ts';

const BOOT_TIMEOUT = 300_000;
const STEP_TIMEOUT = 120_000;

let guest: NatGuest | undefined;
let backend: UserNet;
let httpServer: http.Server;
let tftp: dgram.Socket;
let httpPort: number;
let tftpPort: number;
const blob = Buffer.alloc(1 << 20);
const logLines: string[] = [];

const sh = (cmd: string) => guest!.sh(cmd, STEP_TIMEOUT);

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

  guest = await startNatGuest({
    wire: 'hangar',
    portForwards: [{ name: 'guest-nc', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 2222 }],
    log: (l) => logLines.push(l),
    bootTimeoutMs: BOOT_TIMEOUT,
  });
  backend = guest.backend!;
}, BOOT_TIMEOUT + STEP_TIMEOUT);

afterAll(async () => {
  await guest?.close();
  tftp?.close();
  httpServer?.close();
});

describe('a Linux guest (QEMU e1000) on the NAT', () => {
  it('gets 10.0.2.15, the router and DNS from udhcpc', async () => {
    const out = await guest!.dhcp();
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
