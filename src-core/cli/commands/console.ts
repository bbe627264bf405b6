// `hangar console NAME`: attach the terminal to COM1 of a running VM through its control
// socket. Ctrl-] detaches (the VM keeps running), as with virsh and telnet.
import { usageError } from '../../api/errors.ts';
import type { ControlClient } from '../../vmm/control-client.ts';
import { isLive } from '../../vmm/states.ts';

export const DETACH_BYTE = 0x1d; // Ctrl-]
export const DETACH_KEY_NAME = 'Ctrl-]';

/** Runs until the user detaches or the VM stops. Resolves with why it ended. */
export async function attachConsole(client: ControlClient, name: string, io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process): Promise<'detached' | 'stopped'> {
  const { stdin, stdout, stderr } = io;
  stderr.write(`Connected to the serial console (COM1) of "${name}". Press ${DETACH_KEY_NAME} to detach.\n`);
  return new Promise((resolve) => {
    let done = false;
    const raw = stdin.isTTY === true;
    const finish = (why: 'detached' | 'stopped', msg: string): void => {
      if (done) return;
      done = true;
      stdin.off('data', onData);
      if (raw) stdin.setRawMode(false);
      // Paused is not enough: an open stdin pipe keeps the process alive after detaching.
      stdin.pause();
      stdin.destroy();
      stderr.write(`\n${msg}\n`);
      client.close();
      resolve(why);
    };
    const onData = (d: Buffer): void => {
      const at = d.indexOf(DETACH_BYTE);
      const payload = at >= 0 ? d.subarray(0, at) : d;
      if (payload.length) void client.request('serial-input', { b64: payload.toString('base64') }).catch((err: Error) => stderr.write(`\nhangar: ${err.message}\n`));
      if (at >= 0) finish('detached', `Detached from "${name}"; it keeps running.`);
    };
    client.onEvent((ev) => {
      if (ev.event === 'serial' && ev.port === 'COM1') stdout.write(Buffer.from(ev.b64, 'base64'));
      else if (ev.event === 'panic') stderr.write(`\n[hangar: guest panic: ${ev.message}]\n`);
      else if (ev.event === 'state' && !isLive(ev.state)) finish('stopped', `The VM is ${ev.state}${ev.reason ? ` (${ev.reason})` : ''}.`);
    });
    void client.closed.then(() => finish('stopped', 'The VM closed its control socket.'));
    client.subscribe(['serial', 'state', 'panic'], { backlog: true }).then(() => {
      if (raw) stdin.setRawMode(true);
      stdin.on('data', onData);
      stdin.resume();
    }, (err: Error) => finish('stopped', `hangar: ${err.message}`));
  });
}

export function checkNoExtra(args: string[]): void {
  if (args.length) throw usageError(`unexpected arguments: ${args.join(' ')}`);
}
