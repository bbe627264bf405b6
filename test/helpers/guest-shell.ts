// The guest's COM1 over a VM's control socket, for tests that drive the kit's busybox shell:
// waits that only look at output after a given point, and commands whose end is marked by a
// number the shell computes (so the echoed command line never matches the marker).
import type { ControlClient } from '../../src-core/vmm/control-client.ts';
import type { VmEvent } from '../../src-core/vmm/protocol.ts';

const MIN = 60_000;

export interface GuestShell {
  text(): string;
  /** Resolves with the output from `from` up to and including the first match of `s`. */
  waitFor(s: string | RegExp, from: number, ms: number): Promise<string>;
  /** Types a shell command; resolves with its output once its end marker appears. */
  run(cmd: string, ms?: number): Promise<string>;
}

export function guestShell(c: ControlClient): GuestShell {
  let buf = '';
  c.onEvent((ev: VmEvent) => {
    if (ev.event === 'serial' && ev.port === 'COM1') buf += Buffer.from(ev.b64, 'base64').toString('latin1');
  });
  const waitFor = (s: string | RegExp, from: number, ms: number): Promise<string> => new Promise((res, rej) => {
    const t0 = Date.now();
    const check = (): void => {
      const rest = buf.slice(from);
      const m = typeof s === 'string' ? (rest.includes(s) ? [s] : null) : s.exec(rest);
      if (m) return res(rest.slice(0, rest.indexOf(m[0]) + m[0].length));
      if (Date.now() - t0 > ms) return rej(new Error(`timed out waiting for ${String(s)}; serial tail ${JSON.stringify(buf.slice(-800))}`));
      setTimeout(check, 50);
    };
    check();
  });
  let n = 0;
  return {
    text: () => buf,
    waitFor,
    async run(cmd: string, ms = 15 * MIN): Promise<string> {
      const id = 7000 + ++n;
      const from = buf.length;
      await c.request('serial-input', { text: `${cmd}; echo END-$((${id}+1))\n` });
      return waitFor(`END-${id + 1}`, from, ms);
    },
  };
}
