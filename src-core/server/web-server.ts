// Web mode: one HTTP server on 127.0.0.1 serving the built renderer and, at WS_PATH, the
// service API as JSON messages over a WebSocket. Every service call goes through dispatch().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { HangarError } from '../api/errors.ts';
import type { HangarEvent, HangarService } from '../api/service.ts';
import { TOKEN_PARAM, WS_PATH, type WireEvent, type WireResponse } from '../api/wire.ts';
import { checkUpgrade, hostAllowed, newToken } from './access.ts';
import { dispatch, toWireError } from './dispatch.ts';
import { staticFile } from './static-files.ts';

export interface WebServerOptions {
  /** Folder with the built renderer (index.html and assets). */
  root: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); a random one otherwise. */
  token?: string;
  /** Builds the service; `emit` pushes an event to every connected client. */
  service: (emit: (e: HangarEvent) => void) => HangarService;
}

export interface WebServer {
  port: number;
  token: string;
  /** The URL to open, token included. */
  url: string;
  close(): Promise<void>;
}

/** Largest request the API accepts; settings edits are a few KiB at most. */
const MAX_MESSAGE = 1 << 20;

function csp(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // xterm.js sizes and colours its rows through <style> elements it writes at run time;
    // only elements are allowed inline, style attributes and scripts stay 'self'.
    "style-src-elem 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Forbidden';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`);
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? newToken();
  const clients = new Set<WebSocket>();
  const emit = (e: HangarEvent): void => {
    const msg: WireEvent = { event: e };
    const text = JSON.stringify(msg);
    for (const c of clients) if (c.readyState === c.OPEN) c.send(text);
  };
  const service = opts.service(emit);
  let port = 0;

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!hostAllowed(req.headers.host, port)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('wrong Host header\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const file = await staticFile(opts.root, url.pathname);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': file.type, 'Cache-Control': 'no-cache' };
    if (file.type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = csp(port);
      headers['X-Frame-Options'] = 'DENY';
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : file.body);
  };

  const http: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`${toWireError(err).message}\n`);
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });

  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'no WebSocket endpoint here');
    const v = checkUpgrade(req, port, token);
    if (!v.ok) return refuse(socket, v.status, v.reason);
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data) => {
        void onMessage(ws, String(data));
      });
    });
  });

  const onMessage = async (ws: WebSocket, text: string): Promise<void> => {
    let msg: { id?: unknown; method?: unknown; params?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      ws.send(JSON.stringify({ id: -1, ok: false, error: toWireError(new HangarError('usage', 'request is not valid JSON')) }));
      return;
    }
    const id = typeof msg.id === 'number' && Number.isSafeInteger(msg.id) ? msg.id : -1;
    const r = id < 0 ? { ok: false as const, error: toWireError(new HangarError('usage', 'request lacks a numeric id')) } : await dispatch(service, msg.method, msg.params);
    const out: WireResponse = { id, ...r };
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(out));
  };

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?${TOKEN_PARAM}=${token}`,
    close: async () => {
      for (const c of clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
