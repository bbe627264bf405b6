// Shared setup for VMM tests: a throw-away library with a small VM that boots the
// hand-assembled real-mode program on the real engine (no OS needed).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../../src-core/library/library.ts';
import type { MachineConfig } from '../../../src-core/library/config.ts';
import { bootProgram } from '../../../src-core/vmm/engines/boot-program.ts';
import type { BootSource } from '../../../src-core/vmm/engines/vm-engine.ts';
import type { ControlClient } from '../../../src-core/vmm/control-client.ts';
import type { VmEvent } from '../../../src-core/vmm/protocol.ts';

export const PROGRAM_BOOT: BootSource = { kind: 'program', imageB64: Buffer.from(bootProgram()).toString('base64') };

export function tempLibrary(): Library {
  return new Library(mkdtempSync(join(tmpdir(), 'hvmm-')));
}

export async function createProgramVm(lib: Library, name: string, customize?: (c: MachineConfig) => void) {
  return lib.create({
    name, osType: 'Other_64', memoryMiB: 16,
    customize: (c) => {
      c.network = [];
      c.storage = [];
      c.display.controller = 'none';
      customize?.(c);
    },
  });
}

/** Collects serial output of COM1 from a subscribed client. */
export function serialCollector(client: ControlClient): { text: () => string; waitFor: (s: string, ms?: number) => Promise<void> } {
  let buf = '';
  client.onEvent((ev: VmEvent) => {
    if (ev.event === 'serial' && ev.port === 'COM1') buf += Buffer.from(ev.b64, 'base64').toString('latin1');
  });
  return {
    text: () => buf,
    waitFor: (s, ms = 20_000) => new Promise((res, rej) => {
      const t0 = Date.now();
      const check = () => {
        if (buf.includes(s)) return res();
        if (Date.now() - t0 > ms) return rej(new Error(`timed out waiting for ${JSON.stringify(s)} in serial output ${JSON.stringify(buf.slice(-200))}`));
        setTimeout(check, 20);
      };
      check();
    }),
  };
}

export function waitForEvent(client: ControlClient, pred: (ev: VmEvent) => boolean, ms = 20_000): Promise<VmEvent> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      off();
      rej(new Error('timed out waiting for an event'));
    }, ms);
    const off = client.onEvent((ev) => {
      if (pred(ev)) {
        clearTimeout(t);
        off();
        res(ev);
      }
    });
  });
}
