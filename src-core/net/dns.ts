// The DNS server at 10.0.2.3 (RFC 1035): A queries are answered from the host's resolver
// (Node's dns.lookup, i.e. getaddrinfo: /etc/hosts, then the host's DNS), so the guest sees the
// names the host sees. Loopback answers become 10.0.2.2, where the guest reaches the host's
// loopback. AAAA gets an empty answer (the guest network is IPv4 only) so resolvers go on to use
// the A record; other types and opcodes get NOTIMP.

import { promises as dnsPromises } from 'node:dns';
import { GATEWAY_IP, parseIp } from './addresses.ts';

export const DNS_PORT = 53;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const TTL = 60;
const MAX_ANSWERS = 16; // keeps a reply well under the 512-byte UDP limit
/** Distinct names looked up at once: getaddrinfo runs on libuv's small thread pool, shared with file I/O. */
const MAX_PENDING = 4;
const LOOKUP_TIMEOUT_MS = 5000;

/** Resolves a name to IPv4 addresses; rejects with an error whose `code` is ENOTFOUND/ENODATA for "no such name/data". */
export type Lookup = (name: string) => Promise<string[]>;

export const hostLookup: Lookup = async (name) =>
  (await dnsPromises.lookup(name, { family: 4, all: true })).map((a) => a.address);

interface Question {
  name: string;
  type: number;
  cls: number;
  /** The question's bytes, echoed in the reply. */
  raw: Uint8Array;
}

type Outcome = { addrs: number[] } | { rcode: number };

export class DnsServer {
  private pending = new Map<string, Promise<Outcome>>();

  constructor(private readonly lookup: Lookup = hostLookup, private readonly log: (line: string) => void = () => {}) {}

  /** The reply to a query, or undefined for something that is not a query at all. */
  async answer(q: Uint8Array): Promise<Uint8Array | undefined> {
    if (q.length < 12 || q[2] & 0x80) return undefined; // too short, or a response
    const opcode = (q[2] >> 3) & 0x0f;
    if (opcode !== 0) return reply(q, RCODE_NOTIMP);
    const qdcount = (q[4] << 8) | q[5];
    const question = qdcount === 1 ? parseQuestion(q) : undefined;
    if (!question) return reply(q, RCODE_FORMERR);
    if (question.cls !== CLASS_IN || (question.type !== TYPE_A && question.type !== TYPE_AAAA)) {
      return reply(q, RCODE_NOTIMP, question);
    }
    const outcome = await this.resolve(question.name);
    if ('rcode' in outcome) return reply(q, outcome.rcode, question);
    return reply(q, RCODE_NOERROR, question, question.type === TYPE_A ? outcome.addrs : []);
  }

  private resolve(name: string): Promise<Outcome> {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name)) return Promise.resolve({ rcode: RCODE_NXDOMAIN });
    const key = name.toLowerCase();
    const shared = this.pending.get(key);
    if (shared) return shared; // the guest retried while the host resolver is still working
    if (this.pending.size >= MAX_PENDING) return Promise.resolve({ rcode: RCODE_SERVFAIL });
    const work = this.lookup(name).then(
      (addrs): Outcome => ({ addrs: toGuestAddrs(addrs) }),
      (err: NodeJS.ErrnoException): Outcome => {
        if (err.code === 'ENOTFOUND') return { rcode: RCODE_NXDOMAIN };
        if (err.code === 'ENODATA') return { addrs: [] };
        this.log(`dns: lookup of ${name} failed: ${err.code ?? err.message}`);
        return { rcode: RCODE_SERVFAIL };
      },
    );
    const done = work.finally(() => this.pending.delete(key));
    this.pending.set(key, done);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ rcode: RCODE_SERVFAIL }), LOOKUP_TIMEOUT_MS);
      timer.unref();
    });
    return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  }
}

/** IPv4 strings to guest-visible addresses: loopback is 10.0.2.2 from inside; duplicates go. */
function toGuestAddrs(addrs: string[]): number[] {
  const out: number[] = [];
  for (const a of addrs) {
    const ip = parseIp(a);
    if (ip === undefined) continue;
    const seen = ip >>> 24 === 127 ? GATEWAY_IP : ip;
    if (!out.includes(seen)) out.push(seen);
    if (out.length === MAX_ANSWERS) break;
  }
  return out;
}

function parseQuestion(q: Uint8Array): Question | undefined {
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    if (i >= q.length) return undefined;
    const len = q[i];
    if (len === 0) break;
    if (len & 0xc0) return undefined; // compression has nothing to point at in a lone question
    if (i + 1 + len > q.length) return undefined;
    labels.push(String.fromCharCode(...q.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
    if (i - 12 > 255) return undefined;
  }
  i++;
  if (i + 4 > q.length) return undefined;
  return { name: labels.join('.'), type: (q[i] << 8) | q[i + 1], cls: (q[i + 2] << 8) | q[i + 3], raw: q.subarray(12, i + 4) };
}

function reply(q: Uint8Array, rcode: number, question?: Question, addrs: number[] = []): Uint8Array {
  const r = new Uint8Array(12 + (question?.raw.length ?? 0) + addrs.length * 16);
  r[0] = q[0];
  r[1] = q[1];
  r[2] = 0x80 | (q[2] & 0x79); // QR, the query's opcode and RD; AA and TC clear
  r[3] = 0x80 | rcode; // RA
  r[5] = question ? 1 : 0;
  r[7] = addrs.length;
  let o = 12;
  if (question) {
    r.set(question.raw, o);
    o += question.raw.length;
  }
  for (const a of addrs) {
    r.set([0xc0, 0x0c, 0, TYPE_A, 0, CLASS_IN, 0, 0, TTL >> 8, TTL & 0xff, 0, 4], o);
    r.set([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff], o + 12);
    o += 16;
  }
  return r;
}
