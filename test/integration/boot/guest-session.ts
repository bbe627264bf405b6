// Drives a Machine running a guest-kit kernel: collects COM1 output, waits for patterns,
// types into the shell. Shared by the boot integration tests.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { Machine, type StopReason } from '../../../src-core/engine/machine.ts';

export const MARKER = 'HANGAR-GUEST-READY';

export class GuestSession {
  output = '';
  resets = 0;
  readonly machine: Machine;
  readonly done: Promise<StopReason>;
  private waiters = new Set<() => void>();

  constructor(opts: { kernel: Uint8Array; initrd: Uint8Array; cmdline: string; memoryMiB?: number }) {
    this.machine = new Machine({
      memoryMiB: opts.memoryMiB ?? 256,
      kernel: opts.kernel,
      initrd: opts.initrd,
      cmdline: opts.cmdline,
      createCpu: ({ memory, io }) => new Cpu(memory, io),
    });
    this.machine.onSerialOutput((port, data) => {
      if (port !== 0) return;
      this.output += Buffer.from(data).toString('latin1');
      if (process.env.HANGAR_TEST_CONSOLE) process.stderr.write(data);
      for (const w of [...this.waiters]) w();
    });
    this.machine.onReset(() => {
      this.resets++;
      for (const w of [...this.waiters]) w();
    });
    this.done = this.machine.run();
    void this.done.then(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  /** Wait until `pattern` shows up in output after index `from`; returns the index after it. */
  waitFor(pattern: string | RegExp, timeoutMs: number, from = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      let finished = false;
      const check = () => {
        if (finished) return;
        const hay = this.output.slice(from);
        const m = typeof pattern === 'string' ? (hay.includes(pattern) ? { index: hay.indexOf(pattern), len: pattern.length } : null)
          : (() => { const r = pattern.exec(hay); return r ? { index: r.index, len: r[0].length } : null; })();
        if (m) {
          finish();
          resolve(from + m.index + m.len);
        } else if (this.machine.poweredOff) {
          finish();
          reject(new Error(`guest powered off before ${String(pattern)}\n--- console tail ---\n${this.output.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${String(pattern)} did not appear within ${timeoutMs} ms\n--- console tail ---\n${this.output.slice(-2000)}`));
      }, timeoutMs);
      const finish = () => {
        finished = true;
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  type(text: string): void {
    this.machine.sendSerial(0, text);
  }

  /** Run a shell command; resolves with the output index after `expect`. */
  async command(cmd: string, expect: string | RegExp, timeoutMs: number): Promise<number> {
    const from = this.output.length;
    this.type(cmd + '\n');
    return this.waitFor(expect, timeoutMs, from);
  }

  async stop(): Promise<void> {
    this.machine.stop();
    await this.done;
  }
}

/**
 * The uncompressed vmlinux inside a bzImage (the XZ payload), cached next to the kit. The
 * same stock kernel, minus the decompressor run that dominates an interpreted boot.
 */
export function extractVmlinux(bzImagePath: string, cacheDir: string): string {
  const out = join(cacheDir, 'vmlinux');
  if (existsSync(out)) return out;
  const img = readFileSync(bzImagePath);
  const at = img.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new Error(`${bzImagePath}: no XZ payload found`);
  const xzPath = `${out}.xz.tmp`;
  writeFileSync(xzPath, img.subarray(at));
  // xz reports trailing garbage after the stream (the bzImage's footer) with status 1 on some
  // versions; the output is complete either way, so check the ELF magic instead of the status.
  let data: Buffer;
  try {
    data = execFileSync('xz', ['-dc', '--single-stream', xzPath], { maxBuffer: 512 * 1024 * 1024 });
  } catch (e) {
    data = (e as { stdout?: Buffer }).stdout ?? Buffer.alloc(0);
  }
  if (data.length < 4 || data.readUInt32BE(0) !== 0x7f454c46) throw new Error('extracted kernel is not an ELF vmlinux');
  writeFileSync(out, data);
  return out;
}
