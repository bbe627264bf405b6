// The guest kit's power-button support: what the base initramfs carries (the button and evdev
// modules, a load order, /init starting acpid), and the whole path checked on QEMU (the
// reference VMM), so that a failure of the same test on Hangar's engine (demo-lifecycle.test.ts)
// points at the engine, not the kit: QEMU's `system_powerdown` (QMP) raises the PM1
// power-button event on `-M pc`; the modules and acpid turn it into HANGAR-POWER-BUTTON and an
// ACPI S5 power-off. Also the kit's unpacked vmlinux, which the demo VM boots.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuSession, READY_MARKER } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit } from '../../../scripts/guest-kit.ts';
import { baseLoadOrderPath, moduleDepends, POWER_BUTTON_MODULES } from '../../../scripts/guest-kit/modules.ts';
import { bzImagePayload } from '../../../scripts/guest-kit/vmlinux.ts';
import { isElf, parseVmlinux } from '../../../src-core/engine/boot/vmlinux-loader.ts';

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

/** Regular files of a newc archive by path. */
function newcFiles(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  for (;;) {
    const h = buf.toString('latin1', off, off + 110);
    if (!h.startsWith('070701')) throw new Error(`bad newc magic at ${off}`);
    const f = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const name = buf.toString('latin1', off + 110, off + 110 + f(11) - 1);
    if (name === 'TRAILER!!!') return out;
    const data = Math.ceil((off + 110 + f(11)) / 4) * 4;
    if ((f(1) & 0o170000) === 0o100000) out.set(name, buf.subarray(data, data + f(6)));
    off = Math.ceil((data + f(6)) / 4) * 4;
  }
}

describe('guest kit power button and vmlinux', () => {
  it('the base initramfs holds button.ko and evdev.ko, their load order, and an /init that starts acpid', async () => {
    const kit = await ensureGuestKit({ log: () => {} });
    const files = newcFiles(gunzipSync(readFileSync(kit.initramfs)));
    const base = `lib/modules/${kit.kernelVersion}`;
    const order = files.get(baseLoadOrderPath(kit.kernelVersion))!.toString().trim().split('\n');
    expect(order).toEqual(POWER_BUTTON_MODULES.map((m) => `/${base}/${m}.ko`));
    for (const m of POWER_BUTTON_MODULES) {
      const ko = files.get(`${base}/${m}.ko`)!;
      expect(ko.readUInt32BE(0)).toBe(0x7f454c46);
      expect(moduleDepends(ko, m)).toEqual([]);
      // The module is built for this kernel (vermagic names the release).
      expect(ko.includes(`vermagic=${kit.kernelVersion} `)).toBe(true);
    }
    const init = files.get('init')!.toString();
    expect(init).toContain('hangar-base-load-order');
    expect(init).toMatch(/\n\s*acpid -c \/etc\/acpi/);
    expect(init).toContain('/etc/acpi/PWRF/00000080');
  });

  it('ships the kernel unpacked to the ELF vmlinux inside its bzImage', async () => {
    const kit = await ensureGuestKit({ log: () => {} });
    expect(kit.vmlinux).toBe(join(kit.dir, 'vmlinux'));
    const elf = readFileSync(kit.vmlinux!);
    expect(isElf(elf)).toBe(true);
    expect(() => parseVmlinux(elf, 'kit vmlinux')).not.toThrow();
    // The bzImage's payload is the XZ stream the vmlinux came from, and it is smaller.
    const bz = readFileSync(kit.kernel);
    const { offset, length } = bzImagePayload(bz);
    expect([...bz.subarray(offset, offset + 6)]).toEqual([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
    expect(elf.length).toBeGreaterThan(length * 3);
    expect(elf.includes(`Linux version ${kit.kernelVersion}`)).toBe(true);
    expect(() => bzImagePayload(elf, 'vmlinux')).toThrow(/vmlinux is not a Linux bzImage/);
  });
});

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
