// `hangar run`: boot a Linux kernel in an ephemeral VM in the foreground. COM1 is attached to
// the terminal (raw mode, Ctrl-A X quits as in QEMU), to a file, or to a TCP socket on
// 127.0.0.1; the process exits when the guest powers off.
import type { Command } from 'commander';
import { readBootFile } from '../../engine/boot/linux-loader.ts';
import { parseBzImage } from '../../engine/boot/bzimage.ts';
import { isElf, parseVmlinux } from '../../engine/boot/vmlinux-loader.ts';
import { Machine } from '../../engine/machine.ts';
import { LOOPBACK, openSerialBackend, parseSerialSpec, type SerialBackendSpec } from '../../vmm/serial-backends.ts';
import { parseIntOption } from '../parse.ts';

// The backends are the VMM's (library VMs offer the same file and TCP consoles); re-exported
// for callers of this command.
export { parseSerialSpec, type SerialSpec } from '../../vmm/serial-backends.ts';

interface SerialAttachment {
  /** Resolves when the guest may start (TCP waits for its first client, as QEMU's server,wait). */
  ready?: Promise<void>;
  close(): Promise<void>;
}

/** COM1 on the terminal. Raw mode when stdin is a TTY; Ctrl-A X quits, Ctrl-A Ctrl-A sends ^A. */
function attachStdio(machine: Machine, quit: () => void): SerialAttachment {
  const sub = machine.onSerialOutput((port, data) => {
    if (port === 0) process.stdout.write(data);
  });
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  let escape = false;
  const onData = (chunk: Buffer) => {
    if (!tty) {
      machine.sendSerial(0, chunk);
      return;
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (escape) {
        escape = false;
        if (b === 0x78 || b === 0x58) { // x
          quit();
          return;
        }
        if (b === 0x01) out.push(0x01);
        continue;
      }
      if (b === 0x01) escape = true;
      else out.push(b);
    }
    if (out.length) machine.sendSerial(0, Uint8Array.from(out));
  };
  stdin.on('data', onData);
  stdin.resume();
  return {
    close: async () => {
      sub.dispose();
      stdin.off('data', onData);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** COM1 on a file or a 127.0.0.1 TCP socket (shared with library VMs: vmm/serial-backends.ts). */
async function attachBackend(machine: Machine, spec: SerialBackendSpec): Promise<SerialAttachment> {
  const backend = await openSerialBackend(spec, {
    onInput: (d) => machine.sendSerial(0, d),
    onError: (msg) => process.stderr.write(`hangar: serial ${msg}\n`),
  });
  const sub = machine.onSerialOutput((port, data) => {
    if (port === 0) backend.write(data);
  });
  if (spec.kind === 'tcp') process.stderr.write(`hangar: waiting for a connection to the serial console on ${LOOPBACK}:${spec.port}\n`);
  return {
    // TCP waits for its first client, as QEMU's server,wait, so no early output is lost.
    ready: backend.firstClient,
    close: async () => {
      sub.dispose();
      await backend.close();
    },
  };
}

export interface RunOptions {
  kernel: string;
  initrd?: string;
  append?: string;
  memory: string;
  cpus: string;
  serial: string;
  reboot: boolean;
}

export async function runCommand(o: RunOptions): Promise<number> {
  const memoryMiB = parseIntOption('--memory', o.memory, 16, 65536);
  const cpus = parseIntOption('--cpus', o.cpus, 1, 64);
  const serial = parseSerialSpec(o.serial);
  const kernel = await readBootFile(o.kernel, 'kernel');
  // Fail on a bad kernel before allocating guest RAM.
  if (isElf(kernel)) parseVmlinux(kernel, `kernel ${o.kernel}`);
  else parseBzImage(kernel, `kernel ${o.kernel}`);
  const initrd = o.initrd ? await readBootFile(o.initrd, 'initrd') : undefined;
  // Loaded on demand so the rest of the CLI does not pay for (or depend on) the interpreter.
  const { Cpu } = await import('../../engine/cpu/cpu.ts');
  const machine = new Machine({
    memoryMiB,
    cpus,
    kernel,
    initrd,
    cmdline: o.append ?? 'console=ttyS0',
    createCpu: ({ memory, io }) => new Cpu(memory, io),
  });
  let quitRequested = false;
  const quit = () => {
    quitRequested = true;
    machine.stop();
  };
  const attachment = serial.kind === 'stdio' ? attachStdio(machine, quit) : await attachBackend(machine, serial);
  if (!o.reboot) machine.onReset(() => machine.stop());
  const onSignal = () => quit();
  process.on('SIGTERM', onSignal);
  if (serial.kind !== 'stdio' || !process.stdin.isTTY) process.on('SIGINT', onSignal);
  try {
    await attachment.ready;
    const reason = await machine.run();
    // Power-off, Ctrl-A X, a signal, or a reboot with --no-reboot: all clean exits.
    if (reason === 'debug-exit') return machine.debugExitStatus & 0xff;
    void quitRequested;
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await attachment.close();
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('boot a Linux kernel in an ephemeral VM with the serial console in the foreground (Ctrl-A X quits)')
    .requiredOption('--kernel <file>', 'bzImage kernel (boot protocol 2.06 or later) or uncompressed ELF vmlinux')
    .option('--initrd <file>', 'initial ramdisk')
    .option('--append <cmdline>', 'kernel command line', 'console=ttyS0')
    .option('--memory <mib>', 'guest RAM in MiB', '256')
    .option('--cpus <n>', 'virtual CPUs', '1')
    .option('--serial <backend>', 'COM1 backend: stdio, file:PATH or tcp:127.0.0.1:PORT', 'stdio')
    .option('--no-reboot', 'exit when the guest reboots instead of resetting the VM')
    .action(async (o: RunOptions) => {
      process.exitCode = await runCommand(o);
    });
}
