// QEMU (TCG) as the reference machine for benchmarks and as the known-good VMM for the guest
// kit's own tests. Boots the kit's guests with the serial port on stdio, times the marker line,
// and lets a caller type into the guest shell. QEMU is always ended by its pid, never by name.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export const READY_MARKER = 'HANGAR-GUEST-READY';

export interface QemuBootOptions {
  /** bzImage for direct boot (-kernel); give this or `iso`. */
  kernel?: string;
  initrd?: string;
  /** Kernel command line for direct boot. */
  append?: string;
  /** Bootable ISO (-cdrom, boot from it); give this or `kernel`. */
  iso?: string;
  memoryMiB: number;
  /** Extra QEMU arguments, appended last (e.g. ['-smp', '2']). */
  extraArgs?: readonly string[];
  /** QEMU binary; defaults to qemu-system-x86_64 on PATH. */
  qemu?: string;
}

/** The QEMU command line for a boot: PC machine, TCG, serial on stdio, no monitor or display. */
export function qemuArgs(opts: QemuBootOptions): string[] {
  if (!Number.isInteger(opts.memoryMiB) || opts.memoryMiB < 16) {
    throw new Error(`qemu: memoryMiB must be an integer >= 16, got ${opts.memoryMiB}`);
  }
  if (opts.kernel && opts.iso) throw new Error('qemu: give either kernel (direct boot) or iso, not both');
  if (!opts.kernel && !opts.iso) throw new Error('qemu: nothing to boot: give kernel or iso');
  if (!opts.kernel && (opts.initrd || opts.append)) throw new Error('qemu: initrd and append need kernel (direct boot)');
  const args = [
    '-M', 'pc',
    '-accel', 'tcg',
    '-m', String(opts.memoryMiB),
    '-nographic',
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
  ];
  if (opts.kernel) {
    args.push('-kernel', opts.kernel);
    if (opts.initrd) args.push('-initrd', opts.initrd);
    if (opts.append !== undefined) args.push('-append', opts.append);
  } else {
    args.push('-cdrom', opts.iso!, '-boot', 'd');
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running QEMU with its serial console captured. */
export class QemuSession {
  /** Everything the guest wrote on its serial port so far. */
  output = '';
  /** QEMU's own stderr (errors about arguments, missing files, ...). */
  stderr = '';
  readonly startedAt: number;
  readonly exited: Promise<QemuExit>;
  private readonly child: ChildProcessWithoutNullStreams;
  private exitInfo: QemuExit | null = null;
  private spawnError: Error | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(opts: QemuBootOptions) {
    const args = qemuArgs(opts);
    this.startedAt = performance.now();
    this.child = spawn(opts.qemu ?? 'qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (b: Buffer) => {
      this.output += b.toString('latin1');
      this.notify();
    });
    this.child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString('utf8');
    });
    // Writes after QEMU died would throw EPIPE asynchronously; the exit is reported instead.
    this.child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.spawnError = new Error(`qemu: could not start ${opts.qemu ?? 'qemu-system-x86_64'}: ${e.message} (install qemu-system-x86)`);
        this.exitInfo = { code: null, signal: null };
        this.notify();
        resolve(this.exitInfo);
      });
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.notify();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private describe(): string {
    const tail = this.output.slice(-1500);
    const err = this.stderr.trim() ? `\nqemu stderr:\n${this.stderr.trim().slice(-1000)}` : '';
    return `\nlast serial output:\n${tail}${err}`;
  }

  /**
   * Resolves with the milliseconds from spawn until `pattern` first appears in the serial output
   * at or after `from` (an index into `output`); rejects on timeout or if QEMU exits first.
   */
  waitFor(pattern: string | RegExp, timeoutMs: number, from = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hay = this.output.slice(from);
        const hit = typeof pattern === 'string' ? hay.includes(pattern) : pattern.test(hay);
        if (hit) {
          done();
          resolve(performance.now() - this.startedAt);
          return true;
        }
        if (this.exitInfo) {
          done();
          reject(this.spawnError ?? new Error(`qemu exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal}) before ${String(pattern)} appeared${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`qemu: ${String(pattern)} did not appear within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
      const listener = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      check();
    });
  }

  /** Types `text` on the guest's serial port. */
  send(text: string): void {
    if (this.exitInfo) throw new Error('qemu: cannot send input, QEMU has exited');
    this.child.stdin.write(text);
  }

  /** Resolves when QEMU ends by itself; rejects (leaving it running) after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<QemuExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`qemu: still running after ${timeoutMs} ms${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends QEMU by its pid (SIGKILL: nothing in the guest needs a clean shutdown) and reaps it. */
  async kill(): Promise<QemuExit> {
    if (!this.exitInfo && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    return this.exited;
  }
}

/**
 * Boots a guest under QEMU TCG and measures the time from spawning QEMU to `marker` on the
 * serial console; QEMU is then killed by its pid. Rejects (after killing QEMU) on timeout or if
 * QEMU exits before the marker.
 */
export async function timeQemuToMarker(opts: {
  kernel?: string;
  initrd?: string;
  append?: string;
  memoryMiB: number;
  iso?: string;
  marker?: string;
  timeoutMs: number;
  extraArgs?: readonly string[];
}): Promise<{ ms: number; output: string }> {
  const session = new QemuSession(opts);
  try {
    const ms = await session.waitFor(opts.marker ?? READY_MARKER, opts.timeoutMs);
    return { ms, output: session.output };
  } finally {
    await session.kill();
  }
}
