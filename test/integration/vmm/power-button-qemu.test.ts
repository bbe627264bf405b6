// The guest kit's power-button path checked on QEMU (the reference VMM), so that a failure of
// the same test on Hangar's engine (demo-lifecycle.test.ts) points at the engine, not the kit:
// QEMU's `system_powerdown` (QMP) raises the PM1 power-button event on `-M pc`; the kit's
// button/evdev modules and acpid turn it into HANGAR-POWER-BUTTON and an ACPI S5 power-off.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { QemuSession, READY_MARKER } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit } from '../../../scripts/guest-kit.ts';

const BOOT_TIMEOUT = Number(process.env.HANGAR_GUEST_BOOT_TIMEOUT_MS) || 60_000;
const tmp = mkdtempSync(join(tmpdir(), 'hangar-qmp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Sends QMP commands one at a time (after the capabilities handshake); resolves with all output. */
function qmp(socketPath: string, commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    const queue = ['qmp_capabilities', ...commands];
    let text = '';
    let pending = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      pending += d.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const msg = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>;
        pending = pending.slice(nl + 1);
        if ('error' in msg) reject(new Error(`QMP error: ${JSON.stringify(msg.error)}`));
        // The greeting or a reply to the last command: next command, or done.
        if ('QMP' in msg || 'return' in msg) {
          const next = queue.shift();
          if (next) s.write(JSON.stringify({ execute: next }) + '\n');
          else {
            s.end();
            resolve(text);
          }
        }
      }
    });
    s.on('error', reject);
  });
}

it('QEMU system_powerdown: the kit guest runs its acpid handler and powers off through ACPI', async () => {
  const kit = await ensureGuestKit({ log: () => {} });
  const sock = join(tmp, 'qmp.sock');
  const s = new QemuSession({
    kernel: kit.kernel, initrd: kit.initramfs, append: 'console=ttyS0 panic=-1', memoryMiB: 256,
    extraArgs: ['-qmp', `unix:${sock},server=on,wait=off`],
  });
  try {
    await s.waitFor(READY_MARKER, BOOT_TIMEOUT);
    // The prompt comes after /init loaded the modules and started acpid.
    await s.waitFor('hangar-guest# ', BOOT_TIMEOUT);
    expect(s.output).toMatch(/input: Power Button as \/devices\/LNXSYSTM:00\/LNXPWRBN:00/);
    expect(s.output).not.toContain('hangar init: could not load');
    expect(s.output).not.toContain('acpid did not start');
    const replies = await qmp(sock, ['system_powerdown']);
    expect(replies).toContain('"POWERDOWN"');
    await s.waitFor('HANGAR-POWER-BUTTON', BOOT_TIMEOUT);
    // -no-reboot would also end QEMU on a reboot or triple fault: check it was S5.
    expect(await s.waitExit(BOOT_TIMEOUT)).toEqual({ code: 0, signal: null });
    expect(s.output).toMatch(/reboot: Power down/);
  } finally {
    await s.kill();
  }
}, 3 * BOOT_TIMEOUT);
