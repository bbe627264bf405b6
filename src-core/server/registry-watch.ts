// Notices library changes made by other processes (the CLI, another manager): every library
// mutation rewrites registry.json (atomically, by rename), so watching HANGAR_HOME for that
// name is enough to tell clients to re-read the list.
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { registryPath } from '../library/paths.ts';

export function watchRegistry(home: string, onChange: () => void, debounceMs = 150): { close(): void } {
  mkdirSync(home, { recursive: true });
  const name = basename(registryPath(home));
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(home, { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', () => watcher?.close()); // the folder went away: stop watching, keep serving
  } catch {
    watcher = undefined; // no file watching on this system: clients still see their own changes
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
