// Boots the guest kit's stock Debian 12 kernel and busybox initramfs on the Hangar PC with the
// TypeScript interpreter.
//
// The first test boots the kernel until every platform device has been probed by its Linux
// driver. The full boots to the ready marker (shell, ACPI power-off, reboot) take longer than
// the interpreter manages on a shared 2-core machine (over 45 minutes there), so they only run
// with HANGAR_FULL_BOOT_TESTS=1.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureGuestKit } from '../../../scripts/guest-kit.ts';
import { GuestSession, MARKER, extractVmlinux } from './guest-session.ts';

const MIN = 60_000;

const FULL = process.env.HANGAR_FULL_BOOT_TESTS === '1';

describe('Linux on the Hangar PC', () => {
  it('the stock kernel finds and drives the platform: IOAPIC timer, ACPI, PCI, 16550A, i8042, RTC', async () => {
    const kit = await ensureGuestKit();
    const s = new GuestSession({
      kernel: readFileSync(extractVmlinux(kit.kernel, kit.dir)),
      initrd: readFileSync(kit.initramfs),
      cmdline: 'console=ttyS0 earlyprintk=serial,ttyS0,115200',
    });
    try {
      await s.waitFor(/rtc_cmos \S+: registered as rtc0/, 40 * MIN);
      const log = s.output;
      expect(log).toMatch(/APIC: Switch to symmetric I\/O mode setup/);
      expect(log).not.toMatch(/Kernel panic/);
      expect(log).not.toMatch(/IO-APIC \+ timer doesn't work/);
      expect(log).toMatch(/ACPI: PM: \(supports S0 S5\)/);
      expect(log).toMatch(/ACPI: PCI Root Bridge \[PCI0\]/);
      expect(log).toMatch(/pci 0000:00:00\.0: \[8086:1237\]/);
      expect(log).toMatch(/pci 0000:00:01\.0: \[8086:7000\]/);
      expect(log).toMatch(/ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);
      expect(log).toMatch(/ttyS3 at I\/O 0x2e8 \(irq = 3, base_baud = 115200\) is a 16550A/);
      expect(log).toMatch(/i8042: PNP: PS\/2 Controller \[PNP0303:KBD,PNP0f13:MOU\] at 0x60,0x64 irq 1,12/);
      expect(log).toMatch(/clocksource: acpi_pm: mask: 0xffffff/);
    } finally {
      await s.stop();
    }
  }, 45 * MIN);

  it.runIf(FULL)('boots the stock bzImage to the marker and powers off through ACPI', async () => {
    const kit = await ensureGuestKit();
    const s = new GuestSession({
      kernel: readFileSync(kit.kernel),
      initrd: readFileSync(kit.initramfs),
      // nmi_watchdog=0: see the shell test (RDPMC faults in perf_reboot on power-off too).
      cmdline: 'console=ttyS0 hangar.action=poweroff nmi_watchdog=0',
    });
    try {
      await s.waitFor(MARKER, 45 * MIN);
      expect(await s.done).toBe('poweroff'); // the kit's init runs `poweroff -f` after the marker
      expect(s.output).toMatch(/ACPI: PM: \(supports S0 S5\)/);
      expect(s.output).toMatch(/ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);
      expect(s.output).toMatch(/reboot: Power down/);
    } finally {
      await s.stop();
    }
  }, 50 * MIN);

  it.runIf(FULL)('drives the shell (echo, ls /proc, cat /proc/cpuinfo) and reboot resets the machine', async () => {
    const kit = await ensureGuestKit();
    const s = new GuestSession({
      kernel: readFileSync(extractVmlinux(kit.kernel, kit.dir)),
      initrd: readFileSync(kit.initramfs),
      // nmi_watchdog=0: the interpreter has no performance counters, yet the kernel's AMD PMU
      // driver arms one for the NMI watchdog and RDPMC faults when reboot stops it.
      cmdline: 'console=ttyS0 earlyprintk=serial,ttyS0,115200 nmi_watchdog=0',
    });
    try {
      await s.waitFor(MARKER, 40 * MIN);
      await s.waitFor('hangar-guest# ', 5 * MIN);
      await s.command('echo hangar-$((6*7))', 'hangar-42', 5 * MIN);
      const afterLs = await s.command('ls /proc', /cpuinfo[\s\S]*meminfo|meminfo[\s\S]*cpuinfo/, 5 * MIN);
      expect(s.output.slice(afterLs - 2000)).toMatch(/\buptime\b/);
      await s.command('cat /proc/cpuinfo', /model name\s*: Hangar Virtual CPU/, 5 * MIN);
      await s.waitFor('hangar-guest# ', 5 * MIN, s.output.length - 200);
      const beforeReboot = s.output.length;
      s.type('reboot -f\n');
      await s.waitFor(/reboot: Restarting system/, 10 * MIN, beforeReboot);
      // The machine reset itself and the kernel starts over from the loader.
      await s.waitFor(/Linux version 6\.1/, 20 * MIN, beforeReboot);
      expect(s.resets).toBe(1);
    } finally {
      await s.stop();
    }
  }, 80 * MIN);
});
