// `hangar run` end to end on small programs: argument and file errors, and a guest whose
// console goes to a file or a 127.0.0.1 TCP socket and which powers itself off.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src-core/cli/main.ts';
import { parseSerialSpec, runCommand } from '../../../src-core/cli/commands/run.ts';
import { makeBzImage } from './bzimage-fixture.ts';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
/** Prints "OK\n" on COM1, then ACPI S5 (see machine.test.ts for the source). */
const PRINT_OK_POWEROFF = hex('66baf803b04feeb04beeb00aee66ba040666b8013466eff4ebfd');

function kernelFile(dir: string): string {
  const img = makeBzImage({ payload: 0x200 + PRINT_OK_POWEROFF.length + 16 });
  img.set(PRINT_OK_POWEROFF, 5 * 512 + 0x200);
  const p = join(dir, 'bzImage');
  writeFileSync(p, img);
  return p;
}

async function captureStderr(fn: () => Promise<number>): Promise<{ code: number; err: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string | Uint8Array) => {
    err += typeof s === 'string' ? s : Buffer.from(s).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await fn(), err };
  } finally {
    process.stderr.write = orig;
  }
}

describe('hangar run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-run-'));

  it('parses serial backends and rejects anything but 127.0.0.1', () => {
    expect(parseSerialSpec('stdio')).toEqual({ kind: 'stdio' });
    expect(parseSerialSpec('file:/tmp/x')).toEqual({ kind: 'file', path: '/tmp/x' });
    expect(parseSerialSpec('tcp:127.0.0.1:4555')).toEqual({ kind: 'tcp', port: 4555 });
    expect(() => parseSerialSpec('tcp:0.0.0.0:4555')).toThrow(/only 127\.0\.0\.1/);
    expect(() => parseSerialSpec('pty')).toThrow(/allowed: stdio, file:PATH, tcp:127\.0\.0\.1:PORT/);
  });

  it('exits 1 with a clear message for a missing kernel', async () => {
    const r = await captureStderr(() => main(['run', '--kernel', join(dir, 'nope'), '--serial', 'file:/dev/null']));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`kernel file not found: ${join(dir, 'nope')}`);
  });

  it('exits 2 for a file that is not a bzImage, naming the file', async () => {
    const p = join(dir, 'junk');
    writeFileSync(p, Buffer.alloc(4096, 0x41));
    const r = await captureStderr(() => main(['run', '--kernel', p, '--serial', 'file:/dev/null']));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`kernel ${p} is not a Linux bzImage`);
  });

  it('exits 1 for a boot protocol that is too old', async () => {
    const p = join(dir, 'old');
    writeFileSync(p, makeBzImage({ protocol: 0x0202 }));
    const r = await captureStderr(() => main(['run', '--kernel', p, '--serial', 'file:/dev/null']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/boot protocol 2\.02 is too old/);
  });

  it('rejects bad --memory values as usage errors', async () => {
    const r = await captureStderr(() => main(['run', '--kernel', kernelFile(dir), '--memory', 'lots']));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--memory');
  });

  it('runs a guest with the console in a file and exits 0 when it powers off', async () => {
    const log = join(dir, 'console.log');
    const code = await runCommand({
      kernel: kernelFile(dir), memory: '32', cpus: '1', serial: `file:${log}`, reboot: true,
    });
    expect(code).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('OK\n');
  });

  it('serves the console on 127.0.0.1 TCP, starting the guest once a client connects', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    let received = '';
    const client = (async () => {
      for (let i = 0; i < 200; i++) {
        try {
          await new Promise<void>((res, rej) => {
            const s = connect(port, '127.0.0.1', () => res());
            s.on('data', (d) => (received += d.toString()));
            s.on('error', rej);
          });
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    const code = await runCommand({ kernel: kernelFile(dir), memory: '32', cpus: '1', serial: `tcp:127.0.0.1:${port}`, reboot: true });
    await client;
    expect(code).toBe(0);
    expect(received).toBe('OK\n');
  });
});
