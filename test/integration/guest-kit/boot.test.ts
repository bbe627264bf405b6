// The kit's guests boot for real under QEMU TCG (the reference VMM): direct kernel+initramfs
// boot and the ISO both reach the marker on ttyS0; hangar.action=poweroff ends QEMU by itself;
// the interactive shell runs commands typed on the serial port, has job control, and powering
// off follows when it exits.
import { beforeAll, describe, expect, it } from 'vitest';
import { QemuSession, qemuArgs, READY_MARKER, timeQemuToMarker } from '../../../bench/lib/qemu.ts';
import { ensureGuestKit, type GuestKit } from '../../../scripts/guest-kit.ts';

// A boot takes 6-9 s of one core here; 30 s leaves room for a busy machine. Set
// HANGAR_GUEST_BOOT_TIMEOUT_MS to allow more on a heavily shared one.
const BOOT_TIMEOUT = Number(process.env.HANGAR_GUEST_BOOT_TIMEOUT_MS) || 30_000;
/** For one shell command or a power-off once the guest is up. */
const STEP_TIMEOUT = Math.round(BOOT_TIMEOUT / 2);
const APPEND = 'console=ttyS0 panic=-1';
const PROMPT = 'hangar-guest# ';

let kit: GuestKit;
beforeAll(async () => {
  kit = await ensureGuestKit({ log: () => {} });
});

/** Types a command whose output cannot be confused with its echo, and waits for the answer. */
async function expectShellAnswers(s: QemuSession): Promise<void> {
  const from = s.output.length;
  s.send('echo HANGAR-$((40+2)) $(cat /proc/cmdline | wc -w)\n');
  await s.waitFor(/\nHANGAR-42 \d+\r?\n/, STEP_TIMEOUT, from);
}

describe('guest kit under QEMU TCG', () => {
  it('builds the documented QEMU command line and rejects contradictory options', () => {
    const a = qemuArgs({ kernel: '/k', initrd: '/i', append: 'x', memoryMiB: 256 });
    expect(a.slice(0, 14)).toEqual(['-M', 'pc', '-accel', 'tcg', '-m', '256', '-nographic', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot']);
    expect(a.slice(14)).toEqual(['-kernel', '/k', '-initrd', '/i', '-append', 'x']);
    expect(qemuArgs({ iso: '/x.iso', memoryMiB: 128 }).slice(14)).toEqual(['-cdrom', '/x.iso', '-boot', 'd']);
    expect(() => qemuArgs({ kernel: '/k', iso: '/x', memoryMiB: 128 })).toThrow(/either kernel .* or iso/);
    expect(() => qemuArgs({ memoryMiB: 128 })).toThrow(/nothing to boot/);
    expect(() => qemuArgs({ iso: '/x', append: 'a', memoryMiB: 128 })).toThrow(/need kernel/);
    expect(() => qemuArgs({ kernel: '/k', memoryMiB: 1.5 })).toThrow(/memoryMiB must be an integer/);
  });

  it('direct boot reaches the marker; timeQemuToMarker times it and kills QEMU', async () => {
    const r = await timeQemuToMarker({ kernel: kit.kernel, initrd: kit.initramfs, append: APPEND, memoryMiB: 256, timeoutMs: BOOT_TIMEOUT });
    expect(r.output).toContain('Linux version ' + kit.kernelVersion.split('-')[0]);
    expect(r.output).toMatch(/\nHANGAR-GUEST-READY/);
    expect(r.ms).toBeGreaterThan(100);
    expect(r.ms).toBeLessThan(BOOT_TIMEOUT);
  });

  it('timeQemuToMarker rejects when the marker never comes, naming it', async () => {
    await expect(
      timeQemuToMarker({ kernel: kit.kernel, initrd: kit.initramfs, append: `${APPEND} hangar.action=poweroff`, memoryMiB: 256, marker: 'NO-SUCH-MARKER', timeoutMs: BOOT_TIMEOUT }),
    ).rejects.toThrow(/exited .* before NO-SUCH-MARKER appeared[\s\S]*HANGAR-GUEST-READY/);
  });

  it('hangar.action=poweroff prints the marker and ends QEMU by itself', async () => {
    const s = new QemuSession({ kernel: kit.kernel, initrd: kit.initramfs, append: `${APPEND} hangar.action=poweroff`, memoryMiB: 256 });
    try {
      await s.waitFor(READY_MARKER, BOOT_TIMEOUT);
      const exit = await s.waitExit(STEP_TIMEOUT);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(s.output).toMatch(/reboot: Power down/);
      expect(s.output).not.toContain(PROMPT);
    } finally {
      await s.kill();
    }
  });

  it('without the flag the shell on ttyS0 answers, has job control, and exit powers off', async () => {
    const s = new QemuSession({ kernel: kit.kernel, initrd: kit.initramfs, append: APPEND, memoryMiB: 256 });
    try {
      await s.waitFor(READY_MARKER, BOOT_TIMEOUT);
      await s.waitFor(PROMPT, STEP_TIMEOUT);
      await expectShellAnswers(s);
      // Job control needs ttyS0 as the shell's controlling terminal.
      let from = s.output.length;
      s.send('sleep 300 &\n');
      await s.waitFor(PROMPT, STEP_TIMEOUT, from);
      from = s.output.length;
      s.send('jobs; echo JOBS-$((1+1))\n');
      await s.waitFor(/JOBS-2/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toMatch(/\[1\]\+\s+Running\s+sleep 300/);
      // The mounts /init promises.
      from = s.output.length;
      s.send("grep -E '^(proc|sysfs|devtmpfs) ' /proc/mounts | cut -d' ' -f1-2 | tr '\\n' ' '; echo MOUNTS-$((2+2))\n");
      await s.waitFor(/MOUNTS-4/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toMatch(/proc \/proc sysfs \/sys devtmpfs \/dev MOUNTS-4/);
      s.send('exit\n');
      expect(await s.waitExit(STEP_TIMEOUT)).toEqual({ code: 0, signal: null });
    } finally {
      await s.kill();
    }
  });

  it('the ISO boots through isolinux to the marker and the serial shell', async () => {
    const s = new QemuSession({ iso: kit.iso, memoryMiB: 256 });
    try {
      await s.waitFor(READY_MARKER, BOOT_TIMEOUT);
      expect(s.output).toContain('ISOLINUX');
      await s.waitFor(PROMPT, STEP_TIMEOUT);
      await expectShellAnswers(s);
      // The kernel got the command line of the ISO's default isolinux entry.
      const from = s.output.length;
      s.send('cat /proc/cmdline; echo CMDLINE-$((3+3))\n');
      await s.waitFor(/CMDLINE-6\r?\n/, STEP_TIMEOUT, from);
      expect(s.output.slice(from)).toMatch(/\nBOOT_IMAGE=\/boot\/vmlinuz console=ttyS0,115200 panic=-1 initrd=\/boot\/initrd.gz\r?\n/);
    } finally {
      await s.kill();
    }
  });
});
