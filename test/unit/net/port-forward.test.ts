// Forwarded host ports: a host client on 127.0.0.1 reaches the guest (played by the test) over
// TCP and UDP; a port already taken is a clear error and leaves nothing open; close() closes
// the listeners.

import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortForward } from '../../../src-core/api/machine.ts';
import { createUserNet, type UserNet } from '../../../src-core/net/user-net.ts';
import { F, FakeGuest, GATEWAY, GUEST, udpDatagram } from './fake-guest.ts';
import { GuestTcp } from './guest-tcp.ts';

let backend: UserNet | undefined;
const cleanup: (() => void)[] = [];

afterEach(async () => {
  await backend?.close();
  backend = undefined;
  for (const c of cleanup.splice(0)) c();
});

function rule(name: string, protocol: 'tcp' | 'udp', guestPort: number, hostPort = 0, guestIp?: string): PortForward {
  return { name, protocol, hostIp: '127.0.0.1', hostPort, guestPort, ...(guestIp ? { guestIp } : {}) };
}

async function start(rules: PortForward[]): Promise<FakeGuest> {
  backend = await createUserNet({ guestMac: '52:54:00:12:34:56', portForwards: rules });
  return new FakeGuest(backend);
}

describe('port forwarding', () => {
  it('TCP: a host client talks to the guest server, both directions, and the closes pass through', async () => {
    const g = await start([rule('ssh', 'tcp', 22)]);
    const port = backend!.forwardedPorts.get('ssh')!;
    expect(port).toBeGreaterThan(0);
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    cleanup.push(() => client.destroy());
    let fromGuest = '';
    let ended = false;
    client.on('data', (d: Buffer) => (fromGuest += d.toString()));
    client.on('end', () => (ended = true));
    // The guest sees a connection from 10.0.2.2 to its port 22.
    const peek = await g.take((s) => s.tcp?.dport === 22 && s.tcp.flags === F.SYN);
    expect(peek.ip).toMatchObject({ src: GATEWAY, dst: GUEST, checksumOk: true });
    expect(peek.tcp).toMatchObject({ mss: 1460, checksumOk: true });
    g.inbox.unshift(peek);
    const srv = new GuestTcp(g, { localPort: 22, remoteIp: GATEWAY, remotePort: peek.tcp!.sport });
    await srv.accept();
    expect(backend!.tcpConnections).toBe(1);

    client.write('SSH-2.0-host\r\n');
    const r = await srv.read(14);
    expect(r.data.toString()).toBe('SSH-2.0-host\r\n');
    srv.write(Buffer.from('SSH-2.0-guest\r\n'));
    await new Promise<void>((ok, fail) => {
      const t = setInterval(() => fromGuest.length >= 15 && (clearInterval(t), ok()), 5);
      setTimeout(() => (clearInterval(t), fail(new Error('no data at the host client'))), 3000);
    });
    expect(fromGuest).toBe('SSH-2.0-guest\r\n');

    srv.fin(); // guest closes its side: the host client sees end
    await new Promise((r) => setTimeout(r, 100));
    expect(ended).toBe(true);
    client.end(); // host closes: the guest sees FIN
    const tail = await srv.read(1);
    expect(tail.fin).toBe(true);
  });

  it('TCP: the guest refusing (RST) resets the host client', async () => {
    const g = await start([rule('web', 'tcp', 80, 0, '10.0.2.15')]);
    const client = net.connect({ host: '127.0.0.1', port: backend!.forwardedPorts.get('web')! });
    const closed = new Promise<string>((resolve) => {
      client.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      client.on('close', () => resolve('close'));
    });
    const syn = await g.take((s) => s.tcp?.dport === 80);
    const srv = new GuestTcp(g, { localPort: 80, remoteIp: GATEWAY, remotePort: syn.tcp!.sport });
    srv.rcvNxt = (syn.tcp!.seq + 1) >>> 0;
    srv.out(F.RST | F.ACK, undefined, false, 0);
    expect(['ECONNRESET', 'close']).toContain(await closed);
  });

  it('UDP: a host datagram reaches the guest from 10.0.2.2 and the reply returns', async () => {
    const g = await start([rule('dns', 'udp', 5353)]);
    const port = backend!.forwardedPorts.get('dns')!;
    const client = dgram.createSocket('udp4');
    cleanup.push(() => client.close());
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    client.send('question', port, '127.0.0.1');
    const d = await g.take((s) => s.udp?.dport === 5353);
    expect(d.ip).toMatchObject({ src: GATEWAY, dst: GUEST, checksumOk: true });
    expect(d.udp).toMatchObject({ sport: client.address().port, checksumOk: true });
    expect(Buffer.from(d.udp!.data).toString()).toBe('question');
    g.sendIp(GATEWAY, 17, udpDatagram(GUEST, 5353, GATEWAY, d.udp!.sport, Buffer.from('answer')));
    const end = Date.now() + 3000;
    while (replies.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(replies).toEqual(['answer']);
  });

  it('a host port already in use fails creation with the rule named, and frees the other rules', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanup.push(() => busy.close());
    const busyPort = (busy.address() as net.AddressInfo).port;
    // A free port for the first rule, found by listening and letting go.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await expect(
      createUserNet({ guestMac: '52:54:00:12:34:56', portForwards: [rule('ok', 'tcp', 80, freePort), rule('web', 'tcp', 8080, busyPort)] }),
    ).rejects.toThrow(`port forward "web": tcp 127.0.0.1:${busyPort} is already in use on the host`);
    // The first rule's listener was closed again.
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(freePort, '127.0.0.1', resolve);
    });
    again.close();
  });

  it('bad rules are refused with the field named', async () => {
    await expect(createUserNet({ guestMac: '52:54:00:12:34:56', portForwards: [{ ...rule('x', 'tcp', 22), hostIp: '0.0.0.0' }] })).rejects.toThrow(
      'port forward "x": host address 0.0.0.0 is not allowed',
    );
    await expect(createUserNet({ guestMac: '52:54:00:12:34:56', portForwards: [rule('y', 'tcp', 22, 0, '192.168.1.5')] })).rejects.toThrow(
      'guest address 192.168.1.5 is not in the guest network',
    );
    await expect(createUserNet({ guestMac: 'nonsense' })).rejects.toThrow('"nonsense" is not a MAC address');
  });

  it('close() closes the forwarded listeners and is idempotent', async () => {
    await start([rule('a', 'tcp', 22), rule('b', 'udp', 53)]);
    const tcpPort = backend!.forwardedPorts.get('a')!;
    const udpPort = backend!.forwardedPorts.get('b')!;
    await backend!.close();
    await backend!.close();
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: tcpPort });
      s.on('connect', () => (s.destroy(), resolve('connected')));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    const u = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind(udpPort, '127.0.0.1', resolve);
    });
    u.close();
  });
});
