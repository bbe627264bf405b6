// Files the VMM keeps in a VM's folder:
//   vm-state.json            the last known lifecycle state (Saved and Aborted survive restarts;
//                            while running it names the VM process and its control socket)
//   control.sock             the control socket of the running VM (mode 0600)
//   Snapshots/saved-state.hgs  the saved execution state ("save state"/restore)
//   Logs/hangar.log          the VM process's log, rotated on every start
// A Unix socket path is limited to ~107 bytes; for deep folders the socket goes to the
// temporary folder and vm-state.json records where.
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HangarError } from '../api/errors.ts';
import { readTextIfExists } from '../library/atomic-file.ts';
import { isLive, isVmState, type VmState } from './states.ts';

export const STATE_FILE = 'vm-state.json';
export const SOCKET_FILE = 'control.sock';
export const SAVED_STATE_FILE = 'saved-state.hgs';
const MAX_SOCKET_PATH = 100;

export interface VmFiles {
  folder: string;
  stateFile: string;
  socket: string;
  savedState: string;
  logsDir: string;
  log: string;
}

export function vmFiles(configPath: string, uuid: string): VmFiles {
  const folder = dirname(configPath);
  let socket = join(folder, SOCKET_FILE);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    const h = createHash('sha256').update(folder).digest('hex').slice(0, 12);
    socket = join(tmpdir(), `hangar-${uuid.slice(0, 8)}-${h}.sock`);
  }
  return {
    folder,
    stateFile: join(folder, STATE_FILE),
    socket,
    savedState: join(folder, 'Snapshots', SAVED_STATE_FILE),
    logsDir: join(folder, 'Logs'),
    log: join(folder, 'Logs', 'hangar.log'),
  };
}

export interface PersistedState {
  state: VmState;
  /** ISO time of the change. */
  at: string;
  /** While live: the VM process and its control socket. */
  pid?: number;
  socket?: string;
  /** Saved: the saved-state file. */
  savedState?: string;
  /** Aborted: why. */
  reason?: string;
}

export async function readPersistedState(files: VmFiles): Promise<PersistedState> {
  const text = await readTextIfExists(files.stateFile);
  if (text === undefined) return { state: 'PoweredOff', at: new Date(0).toISOString() };
  let raw: PersistedState;
  try {
    raw = JSON.parse(text) as PersistedState;
  } catch (err) {
    throw new HangarError('corrupt', `${files.stateFile} is damaged: ${(err as Error).message}; delete it to reset the VM to PoweredOff`);
  }
  if (!isVmState(raw?.state)) throw new HangarError('corrupt', `${files.stateFile} is damaged: unknown state ${JSON.stringify(raw?.state)}`);
  return raw;
}

/**
 * Replaces vm-state.json by write-and-rename, synchronously: readers never see a torn file,
 * successive writes cannot reorder, and the run loop is not held up waiting for fsync (the
 * state is runtime bookkeeping; a host crash is detected by the dead pid anyway).
 */
export function writePersistedStateSync(files: VmFiles, s: Omit<PersistedState, 'at'>): void {
  const full: PersistedState = { ...s, at: new Date().toISOString() };
  const tmp = `${files.stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(full, null, 2) + '\n');
  renameSync(tmp, files.stateFile);
}

export async function writePersistedState(files: VmFiles, s: Omit<PersistedState, 'at'>): Promise<void> {
  writePersistedStateSync(files, s);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The state as seen from outside: a live state whose process is gone means the VM process
 * died without shutting down (killed, crashed): Aborted. Writes that conclusion back.
 */
export async function effectiveState(files: VmFiles): Promise<PersistedState> {
  const s = await readPersistedState(files);
  if (isLive(s.state) && (s.pid === undefined || !pidAlive(s.pid))) {
    const aborted: PersistedState = {
      state: 'Aborted', at: new Date().toISOString(),
      reason: `the VM process${s.pid ? ` (pid ${s.pid})` : ''} ended while the VM was ${s.state}`,
    };
    await writePersistedState(files, aborted);
    return aborted;
  }
  if (s.state === 'Saved' && s.savedState && !existsSync(s.savedState)) {
    return { state: 'Aborted', at: s.at, reason: `the saved state file ${s.savedState} is missing` };
  }
  return s;
}
