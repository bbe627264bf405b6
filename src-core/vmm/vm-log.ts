// Per-VM log, Logs/hangar.log: start configuration, device events, errors. Rotated when a VM
// starts and when it grows past a size limit, keeping three older logs (hangar.log.1 newest
// .. hangar.log.3 oldest), as VirtualBox does with VBox.log. Writes are synchronous so the
// last lines before a crash are on disk when the manager reads them.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOG_KEEP = 3;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

export function rotateLog(path: string, keep = LOG_KEEP): void {
  if (!existsSync(path)) return;
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  }
  renameSync(path, `${path}.1`);
}

export class VmLog {
  private fd: number;
  private size = 0;
  /** Mirror of every line (the VM process forwards them as `log` events). */
  onLine: ((level: string, message: string) => void) | undefined;

  constructor(readonly path: string, private readonly maxBytes = DEFAULT_MAX_BYTES) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
    this.size = statSync(path).size;
  }

  /** Start a fresh log (VM start): the previous one becomes hangar.log.1. */
  static fresh(path: string, maxBytes?: number): VmLog {
    mkdirSync(dirname(path), { recursive: true });
    rotateLog(path);
    return new VmLog(path, maxBytes);
  }

  write(level: 'info' | 'warn' | 'error', message: string): void {
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/\n/g, '\n    ')}\n`;
    if (this.size + line.length > this.maxBytes) {
      closeSync(this.fd);
      rotateLog(this.path);
      this.fd = openSync(this.path, 'a');
      this.size = 0;
    }
    this.size += writeSync(this.fd, line);
    this.onLine?.(level, message);
  }

  info(m: string): void {
    this.write('info', m);
  }

  warn(m: string): void {
    this.write('warn', m);
  }

  error(m: string): void {
    this.write('error', m);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The last `n` lines of a log (for crash reports). Empty when there is no log. */
export function tailLog(path: string, n = 20): string[] {
  try {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } catch {
    return [];
  }
}
