// `hangar serve`: web mode. Serves the GUI and its service API on 127.0.0.1 until stopped.
import type { Command } from 'commander';
import { Library } from '../../library/library.ts';
import { hangarHome } from '../../library/paths.ts';
import { createHangarService, type HangarServiceHandle } from '../../server/lifecycle-service.ts';
import { requireRendererDist } from '../../server/renderer-dist.ts';
import { startWebServer } from '../../server/web-server.ts';
import { watchRegistry } from '../../server/registry-watch.ts';
import type { HangarEvent } from '../../api/service.ts';
import { parseIntOption } from '../parse.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the Hangar GUI and its API on 127.0.0.1 (open the printed URL in a browser)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (default: a free one)')
    .action(async (o: { port?: string }) => {
      const port = o.port === undefined ? 0 : parseIntOption('--port', o.port, 1, 65535);
      const root = requireRendererDist();
      const library = new Library(hangarHome());
      let push: (e: HangarEvent) => void = () => {};
      let handle: HangarServiceHandle | undefined;
      const server = await startWebServer({
        root, port, service: (emit) => {
          push = emit;
          // Hosts a VM manager: VMs started here are this process's children; VMs the CLI
          // started show up through their control sockets.
          handle = createHangarService(library, { onEvent: emit });
          return handle.service;
        },
      });
      // Changes made by the CLI or another manager reach open pages too.
      const watcher = watchRegistry(library.home, () => push({ type: 'machines-changed' }));
      process.stdout.write(`Hangar is serving ${library.home}\nOpen: ${server.url}\n(the token in the URL is required; stop with Ctrl+C)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          watcher.close();
          void server.close().then(() => handle?.close()).then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
