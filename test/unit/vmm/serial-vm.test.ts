// Serial backends of library VMs in a real VM process (the real-mode test program on the real
// engine): COM1 on a 127.0.0.1 TCP socket that a client reaches with a plain connection (what
// `nc 127.0.0.1 PORT` does), COM1 in a file, a port already in use failing the start with the
// reason; and the VMM's running-VM listing that `hangar list --running` prints.
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PROGRAM_READY_MARKER } from '../../../src-core/vmm/engines/boot-program.ts';
import { effectiveState, vmFiles } from '../../../src-core/vmm/vm-files.ts';
import { VmManager } from '../../../src-core/vmm/vm-manager.ts';
import { PROGRAM_BOOT, createProgramVm, tempLibrary } from './helpers.ts';

const lib = tempLibrary();
const manager = new VmManager(lib);
afterAll(() => manager.shutdown(), 30_000);

async function listenFree(): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return srv;
}

async function freePort(): Promise<number> {
  const srv = await listenFree();
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function waitText(get: () => string, want: string, ms = 20_000): Promise<void> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const check = () => {
      if (get().includes(want)) return res();
      if (Date.now() - t0 > ms) return rej(new Error(`timed out waiting for ${JSON.stringify(want)} in ${JSON.stringify(get().slice(-200))}`));
      setTimeout(check, 20);
    };
    check();
  });
}

describe('serial backends of a library VM', () => {
  it('COM1 on tcp:127.0.0.1: a client sees the console (recent output replayed) and types into it', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const { path, config } = await createProgramVm(lib, 'Tcp Console', (c) => {
      c.serial = [{ port: 'COM1', mode: 'tcp', tcpPort: port }];
    });
    const { vm } = await manager.start('Tcp Console', { boot: PROGRAM_BOOT });
    let got = '';
    const sock = await new Promise<Socket>((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(s));
      s.on('error', rej);
    });
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    // The program printed its marker before we connected: the replay brings it.
    await waitText(() => got, PROGRAM_READY_MARKER);
    sock.write('typed over tcp');
    await waitText(() => got, `${PROGRAM_READY_MARKER}\r\ntyped over tcp`);
    const log = readFileSync(vmFiles(path, config.uuid).log, 'utf8');
    expect(log).toContain(`COM1: tcp 127.0.0.1:${port} (connect with: nc 127.0.0.1 ${port})`);

    // list --running asks the VMM, which asks the VM process.
    const rows = await manager.runningVms();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'Tcp Console', uuid: config.uuid, state: 'Running', pid: vm!.pid });
    expect(rows[0]!.uptimeMs).toBeGreaterThan(0);
    expect(rows[0]!.socket).toBe(vmFiles(path, config.uuid).socket);

    // Power-off closes the console: the client sees the end of the stream.
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    await manager.control('Tcp Console', 'poweroff');
    await vm!.exited;
    await closed;
    expect(await manager.runningVms()).toEqual([]);
  });

  it('COM1 in a file receives the output and the echo of typed input', { timeout: 90_000 }, async () => {
    const { path, config } = await createProgramVm(lib, 'File Console', (c) => {
      c.serial = [{ port: 'COM1', mode: 'file', path: 'Logs/console.txt' }];
    });
    const { vm } = await manager.start('File Console', { boot: PROGRAM_BOOT });
    const file = `${vmFiles(path, config.uuid).folder}/Logs/console.txt`;
    await waitText(() => { try { return readFileSync(file, 'latin1'); } catch { return ''; } }, PROGRAM_READY_MARKER);
    await manager.control('File Console', 'serial-input', { text: 'abc' });
    await waitText(() => readFileSync(file, 'latin1'), `${PROGRAM_READY_MARKER}\r\nabc`);
    await manager.control('File Console', 'poweroff');
    expect((await vm!.exited).state).toBe('PoweredOff');
  });

  it('a TCP port already in use fails the start, naming the port; the VM stays PoweredOff', { timeout: 90_000 }, async () => {
    const taken = await listenFree();
    const port = (taken.address() as { port: number }).port;
    try {
      const { path, config } = await createProgramVm(lib, 'Busy Port', (c) => {
        c.serial = [{ port: 'COM1', mode: 'tcp', tcpPort: port }];
      });
      await expect(manager.start('Busy Port', { boot: PROGRAM_BOOT })).rejects.toThrow(
        `failed to start: COM1: serial console tcp:127.0.0.1:${port}: cannot listen: the port is already in use`,
      );
      const s = await effectiveState(vmFiles(path, config.uuid));
      expect(s.state).toBe('PoweredOff');
      expect(s.reason).toContain('the port is already in use');
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });
});
