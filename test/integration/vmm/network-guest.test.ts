// A library VM with one NAT network adapter (model e1000) on Hangar's own engine, booting the
// guest kit's stock Debian kernel with only the e1000 module appended to the initramfs (a
// smaller archive than the kit's full driver set, so the boot loads one driver). Through the
// serial shell it checks that the driver binds to the emulated 82540EM: eth0 exists with the
// configured MAC and the link comes up at 1000 Mb/s full duplex. Then the user-mode NAT:
// busybox udhcpc leases 10.0.2.15, and HTTP over TCP to a server on the host's 127.0.0.1
// (10.0.2.2 from the guest) moves data both ways: a 192 KiB upload (checksum offload and TSO
// on the guest's side) and a 256 KiB download, both compared by MD5. query-stats then shows
// the network bytes. Finally the VM is saved and restored, and the network still works.
//
// One interpreted Linux boot: minutes on a shared machine (passing runs: 1043 s wall at load
// ~12, 460 s at load ~8, 668 s at load ~9; the 192 KiB upload took 4.0 s and the 256 KiB
// download 4.9-7.8 s of wall time, typing the commands over the serial console included; the
// driver made 66 TSO sends for the upload).
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGuestKit, guestKitModules } from '../../../scripts/guest-kit.ts';
import { writeCpioNewc, type CpioEntry } from '../../../scripts/guest-kit/cpio-newc.ts';
import { loadOrderPath, moduleLoadOrder } from '../../../scripts/guest-kit/modules.ts';
import { ControlClient } from '../../../src-core/vmm/control-client.ts';
import { DEMO_CMDLINE, demoKernel } from '../../../src-core/vmm/demo-vm.ts';
import type { StatsSample } from '../../../src-core/vmm/stats.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { tempLibrary, waitForEvent } from '../../unit/vmm/helpers.ts';
import { guestShell } from '../../helpers/guest-shell.ts';

const MIN = 60_000;
const PROMPT = 'hangar-guest# ';
const MAC = '52:54:00:4E:49:43'; // the config's spelling (upper case); the guest prints lower case
const DOWNLOAD = 256 * 1024;

const lib = tempLibrary();
const manager = new VmManager(lib);
let server: Server | undefined;
afterAll(async () => {
  server?.close();
  await manager.shutdown();
}, 60_000);

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Files of a gzip'd cpio newc archive, by path. */
function readCpio(gz: Uint8Array): Map<string, Uint8Array> {
  const b = Buffer.from(gunzipSync(gz));
  const out = new Map<string, Uint8Array>();
  let at = 0;
  const hex = (o: number) => parseInt(b.toString('latin1', at + o, at + o + 8), 16);
  while (at + 110 <= b.length && b.toString('latin1', at, at + 6) === '070701') {
    const size = hex(54);
    const nameSize = hex(94);
    const name = b.toString('latin1', at + 110, at + 110 + nameSize - 1);
    if (name === 'TRAILER!!!') break;
    const data = (at + 110 + nameSize + 3) & ~3;
    out.set(name, new Uint8Array(b.subarray(data, data + size)));
    at = (data + size + 3) & ~3;
  }
  return out;
}

/** modules.cpio.gz holding e1000 and what it depends on, with the load order /init follows. */
function e1000Modules(kitModules: Uint8Array, kernelVersion: string): Uint8Array {
  const files = readCpio(kitModules);
  const base = `lib/modules/${kernelVersion}`;
  const available = new Map<string, Uint8Array>();
  for (const [p, data] of files) if (p.startsWith(`${base}/`) && p.endsWith('.ko')) available.set(p.slice(base.length + 1, -3), data);
  const order = moduleLoadOrder(['e1000'], available);
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'lib' },
    { type: 'dir', path: 'lib/modules' },
    { type: 'dir', path: base },
    ...order.map((n): CpioEntry => ({ type: 'file', path: `${base}/${n}.ko`, data: available.get(n)! })),
    { type: 'file', path: loadOrderPath(kernelVersion), data: new TextEncoder().encode(order.map((n) => `/${base}/${n}.ko\n`).join('')) },
  ];
  return gzipSync(writeCpioNewc(entries));
}

/** The host side: uploads are answered with their MD5 and length; /download sends known bytes. */
async function startServer(download: Uint8Array): Promise<number> {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download.length });
        res.end(download);
        return;
      }
      const body = Buffer.concat(parts);
      res.end(`UPLOAD-${md5(body)}-${body.length}-DONE\n`);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server!.address() as AddressInfo).port;
}

describe('e1000 network adapter in a Linux guest on the Hangar engine', () => {
  it('binds the e1000 driver, brings the link up, gets a DHCP lease from the NAT and moves TCP data both ways, across a save and restore', async () => {
    const kit = await ensureGuestKit();
    const dir = mkdtempSync(join(tmpdir(), 'hangar-net-guest-'));
    const initrd = join(dir, 'initrd.cpio.gz');
    writeFileSync(initrd, Buffer.concat([readFileSync(kit.initramfs), e1000Modules(readFileSync(guestKitModules(kit)), kit.kernelVersion)]));
    const download = new Uint8Array(DOWNLOAD);
    for (let i = 0; i < download.length; i++) download[i] = (i * 7 + (i >> 9)) & 0xff;
    const port = await startServer(download);

    const { path, config } = await lib.create({
      name: 'Net Guest', osType: 'Linux_64', memoryMiB: 256,
      customize: (c) => {
        c.firmware = { type: 'linux', kernel: demoKernel(kit), initrd, cmdline: DEMO_CMDLINE };
        c.bootOrder = [];
        c.storage = [];
        c.display.controller = 'none';
        c.serial = [];
        c.network = [{ slot: 1, enabled: true, attachment: 'nat', model: 'e1000', mac: MAC, portForwards: [] }];
      },
    });
    const files = vmFiles(path, config.uuid);
    const first = await manager.start(config.name);
    expect(first.state).toBe('Running');
    const c = await ControlClient.connect(files.socket);
    const con = guestShell(c);
    await c.subscribe(['serial', 'state', 'panic'], { backlog: true });
    await con.waitFor(PROMPT, 0, 60 * MIN);
    expect(con.text()).toContain('HANGAR-MODULES-LOADED');
    // The driver read the EEPROM (checksum, MAC) and found the PHY.
    expect(con.text()).toMatch(/e1000 0000:00:03\.0 eth0: \(PCI:33MHz:32-bit\) 52:54:00:4e:49:43/);
    expect(con.text()).toContain('Intel(R) PRO/1000 Network Connection');
    expect(con.text()).not.toMatch(/EEPROM Checksum Is Not Valid|Hardware Error|Invalid MAC/);

    expect(await con.run('cat /sys/class/net/eth0/address')).toContain(MAC.toLowerCase());
    const link = await con.run('ip link set eth0 up; for i in $(seq 1 30); do [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break; sleep 1; done; echo CARRIER-$(cat /sys/class/net/eth0/carrier) SPEED-$(cat /sys/class/net/eth0/speed)');
    expect(link).toContain('CARRIER-1 SPEED-1000');
    await con.waitFor(/NIC Link is Up 1000 Mbps Full Duplex/, 0, 5 * MIN);

    // DHCP from the NAT: the script configures what udhcpc was given.
    await con.run("printf '#!/bin/sh\\nif [ \"$1\" = bound ]; then ifconfig \"$interface\" \"$ip\" netmask \"$subnet\" up; route add default gw \"$router\"; echo LEASE-$ip-VIA-$router; fi\\n' > /tmp/dhcp.sh; chmod +x /tmp/dhcp.sh");
    const lease = await con.run('udhcpc -i eth0 -n -q -t 10 -s /tmp/dhcp.sh');
    expect(lease).toContain('LEASE-10.0.2.15-VIA-10.0.2.2');
    expect(await con.run('ip addr show eth0')).toContain('inet 10.0.2.15/24');

    // TCP through the NAT to the host's loopback: upload (guest transmit offloads) and download.
    // busybox wget sends --post-file contents as a C string: no NUL bytes in the upload.
    await con.run("dd if=/dev/urandom bs=1024 count=220 2>/dev/null | tr -d '\\000' | head -c 196608 > /tmp/up");
    const upMd5 = /([0-9a-f]{32})\s+\/tmp\/up/.exec(await con.run('md5sum /tmp/up'))![1]!;
    let t0 = performance.now();
    const up = await con.run(`wget -q -O - --post-file /tmp/up http://10.0.2.2:${port}/upload`);
    const upMs = performance.now() - t0;
    expect(up).toContain(`UPLOAD-${upMd5}-${192 * 1024}-DONE`);
    t0 = performance.now();
    const down = await con.run(`wget -q -O - http://10.0.2.2:${port}/download | md5sum`);
    const downMs = performance.now() - t0;
    expect(down).toContain(md5(download));
    // Wall time includes typing the command over the serial console; for the report only.
    console.log(`network-guest: upload 192 KiB in ${upMs.toFixed(0)} ms, download 256 KiB in ${downMs.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(1)})`);

    await new Promise((r) => setTimeout(r, 1500));
    const stats = await c.request<{ current: StatsSample }>('query-stats');
    expect(stats.current.net).not.toBeNull();
    expect(stats.current.net!.rxBytes).toBeGreaterThan(DOWNLOAD);
    expect(stats.current.net!.txBytes).toBeGreaterThan(192 * 1024);
    expect(stats.current.net!.rxPackets).toBeGreaterThan(DOWNLOAD / 1514);
    expect(stats.current.net!.txPackets).toBeGreaterThan(0);

    // Save and restore: the NIC's state comes back, the NAT is new, the guest carries on.
    const saved = await c.request<{ state: string }>('savestate');
    expect(saved.state).toBe('Saved');
    expect((await first.vm!.exited).state).toBe('Saved');
    // The VM process logs each adapter's traffic as it ends: the driver really used TSO.
    const summary = /network adapter 1: received (\d+) frames \((\d+) bytes\), sent (\d+) frames \((\d+) bytes\), (\d+) TSO sends/.exec(readFileSync(join(files.folder, 'Logs', 'hangar.log'), 'utf8'));
    expect(summary).not.toBeNull();
    expect(Number(summary![5])).toBeGreaterThan(0);
    const second = await manager.start(config.name);
    expect(second.state).toBe('Running');
    const c2 = await ControlClient.connect(files.socket);
    const con2 = guestShell(c2);
    await c2.subscribe(['serial', 'state']);
    const again = await con2.run(`wget -q -O - --post-file /tmp/up http://10.0.2.2:${port}/upload`);
    expect(again).toContain(`UPLOAD-${upMd5}-${192 * 1024}-DONE`);
    expect(con2.text()).not.toContain('Linux version');

    const off = waitForEvent(c2, (ev) => ev.event === 'state' && ev.state === 'PoweredOff', 5 * MIN);
    await c2.request('poweroff');
    await off;
    await second.vm!.exited;
  }, 150 * MIN);
});
