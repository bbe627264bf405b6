// Creating a VM process. Under plain Node it is a forked child running vm-process.ts through
// the tsx loader; under Electron the shell passes the same entry to utilityProcess.fork. A
// detached launch (hangar start --headless) outlives the command that started it.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { VmLaunchSpec } from './vm-runner.ts';

/** The module a VM process runs (for utilityProcess.fork too). */
export const VM_PROCESS_ENTRY = fileURLToPath(new URL('./vm-process.ts', import.meta.url));

/** `--import` argument that lets Node run TypeScript sources. */
export function tsxImport(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** A child with its stderr piped to the manager (which keeps its tail for crash reports). */
export function forkVmProcess(spec: VmLaunchSpec): ChildProcess {
  return fork(VM_PROCESS_ENTRY, [JSON.stringify(spec)], {
    execArgv: ['--import', tsxImport()],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
}

/** A VM process that survives its starter; its stdout/stderr go to `outFile`. */
export function spawnDetachedVmProcess(spec: VmLaunchSpec, outFile: string): ChildProcess {
  mkdirSync(dirname(outFile), { recursive: true });
  const fd = openSync(outFile, 'a');
  try {
    const child = spawn(process.execPath, ['--import', tsxImport(), VM_PROCESS_ENTRY, JSON.stringify(spec)], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
