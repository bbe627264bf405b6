// Port forwarding: each rule listens on 127.0.0.1:hostPort on the host. A TCP client there
// becomes a TCP connection from 10.0.2.2 to the guest's guestPort (tcp-nat.ts); a UDP datagram
// becomes a guest datagram from 10.0.2.2:<the client's port>, and the guest's replies to that
// address go back to the client through the listening socket.

import dgram from 'node:dgram';
import net from 'node:net';
import type { PortForward } from '../api/machine.ts';
import { GATEWAY_IP, inGuestNet, parseIp } from './addresses.ts';
import type { TcpNat } from './tcp-nat.ts';
import type { UdpNat } from './udp-nat.ts';

export interface ForwardDeps {
  tcp: TcpNat;
  udp: UdpNat;
  /** The guest's address when a rule names none (the DHCP lease, or what the guest uses). */
  guestIp(): number;
  log(line: string): void;
}

export interface PortForwards {
  /** The ports actually listened on, by rule name (a rule with hostPort 0 gets a free port). */
  readonly ports: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** Checks a rule; throws an error naming the rule and the bad field. */
function checkRule(r: PortForward, seen: Set<string>): number | undefined {
  const what = `port forward "${r.name}"`;
  if (r.protocol !== 'tcp' && r.protocol !== 'udp') throw new Error(`${what}: protocol "${String(r.protocol)}" is not tcp or udp`);
  if (r.hostIp !== '127.0.0.1') throw new Error(`${what}: host address ${r.hostIp} is not allowed (forwarded ports listen on 127.0.0.1 only)`);
  if (!Number.isInteger(r.hostPort) || r.hostPort < 0 || r.hostPort > 65535) throw new Error(`${what}: host port ${r.hostPort} is not 1-65535 (or 0 for any free port)`);
  if (!Number.isInteger(r.guestPort) || r.guestPort < 1 || r.guestPort > 65535) throw new Error(`${what}: guest port ${r.guestPort} is not 1-65535`);
  const id = `${r.protocol}/${r.hostPort}`;
  if (r.hostPort !== 0 && seen.has(id)) throw new Error(`${what}: host port ${r.protocol} ${r.hostPort} is forwarded twice`);
  seen.add(id);
  if (r.guestIp === undefined || r.guestIp === '') return undefined;
  const ip = parseIp(r.guestIp);
  if (ip === undefined || !inGuestNet(ip)) throw new Error(`${what}: guest address ${r.guestIp} is not in the guest network 10.0.2.0/24`);
  return ip;
}

/** Listens for every rule; rejects (having closed what it opened) if any port cannot be had. */
export async function openPortForwards(rules: readonly PortForward[], deps: ForwardDeps): Promise<PortForwards> {
  const seen = new Set<string>();
  const targets = rules.map((r) => checkRule(r, seen));
  const closers: (() => Promise<void>)[] = [];
  const ports = new Map<string, number>();
  const closeAll = async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  };
  try {
    for (const [i, r] of rules.entries()) {
      const guestIp = () => targets[i] ?? deps.guestIp();
      const port = r.protocol === 'tcp' ? await listenTcp(r, guestIp, deps, closers) : await listenUdp(r, guestIp, deps, closers);
      ports.set(r.name, port);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { ports, close: closeAll };
}

function listenError(r: PortForward, err: NodeJS.ErrnoException): Error {
  const where = `${r.protocol} ${r.hostIp}:${r.hostPort}`;
  if (err.code === 'EADDRINUSE') return new Error(`port forward "${r.name}": ${where} is already in use on the host`);
  if (err.code === 'EACCES') return new Error(`port forward "${r.name}": not allowed to listen on ${where} (ports below 1024 need privileges)`);
  return new Error(`port forward "${r.name}": cannot listen on ${where}: ${err.message}`);
}

function listenTcp(r: PortForward, guestIp: () => number, deps: ForwardDeps, closers: (() => Promise<void>)[]): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    deps.tcp.openToGuest(socket, guestIp(), r.guestPort);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(listenError(r, err)));
    server.listen({ host: r.hostIp, port: r.hostPort, exclusive: true }, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => deps.log(`port forward "${r.name}": ${err.message}`));
      closers.push(() => new Promise<void>((done) => server.close(() => done())));
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function listenUdp(r: PortForward, guestIp: () => number, deps: ForwardDeps, closers: (() => Promise<void>)[]): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const guest = guestIp();
    const keepAlive = deps.udp.addInbound(r.guestPort, rinfo.port, (payload) => {
      socket.send(Buffer.from(payload), rinfo.port, rinfo.address);
    });
    keepAlive();
    deps.udp.toGuest(GATEWAY_IP, rinfo.port, guest, r.guestPort, msg);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(listenError(r, err));
    });
    socket.bind({ address: r.hostIp, port: r.hostPort, exclusive: true }, () => {
      socket.removeAllListeners('error');
      socket.on('error', (err) => deps.log(`port forward "${r.name}": ${err.message}`));
      closers.push(() => new Promise<void>((done) => socket.close(() => done())));
      resolve(socket.address().port);
    });
  });
}
