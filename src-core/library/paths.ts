// Where Hangar keeps things: HANGAR_HOME (or the platform's user data folder), holding the
// registry and, by default, one folder per VM under Machines/.
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';

export function hangarHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HANGAR_HOME) return resolve(env.HANGAR_HOME);
  const home = homedir();
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Hangar');
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Hangar');
    default:
      return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'hangar');
  }
}

export function defaultMachinesFolder(home: string): string {
  return join(home, 'Machines');
}

export function registryPath(home: string): string {
  return join(home, 'registry.json');
}

export function registryLockPath(home: string): string {
  return join(home, 'registry.lock');
}

export const CONFIG_EXTENSION = '.hangar';
