#!/bin/sh
# /init of the Hangar test guest (busybox-static in an initramfs). Integration tests, benchmarks
# and the demo VM wait for the marker line below on the first serial port, so it is printed as
# early as possible after the three mounts. Kernel command line:
#   hangar.action=poweroff   print the marker, then power off at once (boot-time benchmarks)
#   (nothing)                print the marker, then an interactive shell on the serial port;
#                            when that shell exits, power off. The ACPI power button powers
#                            off too: busybox acpid runs /etc/acpi/PWRF/00000080, which
#                            prints HANGAR-POWER-BUTTON on the port and powers off.
#
# When the kit's modules.cpio.gz was appended to the initramfs, the interactive guest loads
# those drivers (after the marker, so boot timing is unaffected) before starting the shell.
# The flag is read from /proc/cmdline: the kernel keeps parameters with a dot for modules and
# does not pass them to init as arguments or environment.

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
export TERM=vt100

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp

# The marker goes to the first serial port itself: the kernel may have been given another
# console (or several), but tests always listen on ttyS0. Without a ttyS0 (no 8250 port, or
# 8250.nr_uarts=0) fall back to whatever /dev/console is.
tty=/dev/console
if [ -c /dev/ttyS0 ] && (: </dev/ttyS0) 2>/dev/null; then
  tty=/dev/ttyS0
fi
# In a subshell so that init itself never opens the port: if it were a session leader, the port
# would become init's controlling terminal and the shell below could not take it.
(echo "HANGAR-GUEST-READY" >"$tty")

action=
for word in $(cat /proc/cmdline); do
  case "$word" in
    hangar.action=*) action="${word#hangar.action=}" ;;
  esac
done

if [ "$action" != "poweroff" ]; then
  # The power button: the base initramfs carries button.ko (fixed ACPI button -> KEY_POWER)
  # and evdev.ko (-> /dev/input/event*). acpid maps KEY_POWER to the event "PWRF" and runs
  # the script <confdir>/PWRF/00000080. A plain `poweroff` would only signal init, which this
  # script does not handle, so the handler syncs and powers off itself, as init does below.
  for order in /lib/modules/*/hangar-base-load-order; do
    [ -f "$order" ] || continue
    for ko in $(cat "$order"); do
      insmod "$ko" || echo "hangar init: could not load $ko" >"$tty"
    done
  done
  mkdir -p /etc/acpi/PWRF /var/log /var/run
  printf '#!/bin/sh\necho HANGAR-POWER-BUTTON >%s\nsync\npoweroff -f\n' "$tty" >/etc/acpi/PWRF/00000080
  chmod 755 /etc/acpi/PWRF/00000080
  acpid -c /etc/acpi -l /var/log/acpid.log || echo "hangar init: acpid did not start" >"$tty"

  for order in /lib/modules/*/hangar-load-order; do
    [ -f "$order" ] || continue
    for ko in $(cat "$order"); do
      insmod "$ko" || echo "hangar init: could not load $ko" >"$tty"
    done
    echo "HANGAR-MODULES-LOADED" >"$tty"
  done
  # The subshell is a child that is not a process-group leader, so setsid turns it into a new
  # session without forking (init waits for it, and SIGINT stays usable, unlike with '&').
  # Opening the serial port as that session's leader makes it the controlling terminal, which
  # busybox sh needs for job control and Ctrl-C.
  (PS1='hangar-guest# ' exec setsid sh -c "exec sh -i <$tty >$tty 2>&1")
fi

# -f: no init process to signal, reboot(2) straight away. The kernel powers the machine off
# through ACPI; if that is missing it halts, and a VMM run with -no-reboot sees the halt.
sync
poweroff -f
# Never let init exit (that panics the kernel); wait for the power-off to take effect.
while :; do sleep 1; done
