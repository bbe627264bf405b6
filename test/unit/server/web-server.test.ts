import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { startWebServer, type WebServer } from '../../../src-core/server/web-server.ts';
import { createHangarService } from '../../../src-core/server/lifecycle-service.ts';
import { Library } from '../../../src-core/library/library.ts';
import { createClient } from '../../../src-core/api/client.ts';
import { wsTransport, type SocketLike } from '../../../src-core/api/ws-transport.ts';
import { HangarError } from '../../../src-core/api/errors.ts';
import type { HangarEvent } from '../../../src-core/api/service.ts';

let dir: string;
let server: WebServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-web-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>Hangar</title>');
  await writeFile(join(dir, 'dist', 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'not for the web');
  const library = new Library(join(dir, 'home'));
  server = await startWebServer({ root: join(dir, 'dist'), token: 'test-token-123', service: (emit) => createHangarService(library, { onEvent: emit, pollMs: 0 }).service });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(query: string, origin: string | undefined): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, origin ? { origin } : {});
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.on('error', () => {});
  });
}

/** Poll until `ok()` holds; the machine running tests is shared, so no fixed sleeps. */
async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

const ownOrigin = (): string => `http://127.0.0.1:${server.port}`;

describe('hangar serve: access control', () => {
  it('prints a URL on 127.0.0.1 that carries the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=test-token-123`);
  });

  it('refuses a WebSocket without the token', async () => {
    const r = await connect('', ownOrigin());
    expect(r.status).toBe(401);
  });

  it('refuses a WebSocket with a wrong token', async () => {
    const r = await connect('?token=test-token-124', ownOrigin());
    expect(r.status).toBe(401);
  });

  it('refuses a WebSocket from another origin even with the token', async () => {
    expect((await connect('?token=test-token-123', 'http://evil.example')).status).toBe(403);
    expect((await connect('?token=test-token-123', `http://127.0.0.1:${server.port + 1}`)).status).toBe(403);
    expect((await connect('?token=test-token-123', undefined)).status).toBe(403);
  });

  it('accepts a WebSocket from its own origin with the token', async () => {
    const r = await connect('?token=test-token-123', ownOrigin());
    expect(r.status).toBeUndefined();
    r.ws.close();
  });

  it('serves the renderer with a strict CSP and nothing outside its folder', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Hangar</title>');
    const csp = String(index.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    // Only <style> elements (xterm.js) may be inline; each directive once (browsers warn on repeats).
    expect(csp).toContain("style-src-elem 'self' 'unsafe-inline'");
    const names = csp.split(';').map((d) => d.trim().split(/\s+/)[0]);
    expect(new Set(names).size).toBe(names.length);
    expect((await get('/assets/app.js')).status).toBe(200);
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/', { host: 'evil.example' })).status).toBe(403);
  });
});

describe('hangar serve: service over the WebSocket', () => {
  it('runs library calls, pushes change events and returns errors as {code, message}', async () => {
    const { ws } = await connect('?token=test-token-123', ownOrigin());
    const client = createClient(wsTransport(ws as unknown as SocketLike));
    const events: HangarEvent[] = [];
    client.onEvent((e) => events.push(e));

    expect(await client.listMachines({})).toEqual([]);
    const made = await client.createMachine({ name: 'web1', osType: 'Debian_64', memoryMiB: 512 });
    expect(made.config.memoryMiB).toBe(512);
    const list = await client.listMachines({});
    expect(list.map((m) => (m.accessible ? m.config.name : '?'))).toEqual(['web1']);

    const err = await client.getMachine({ ref: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HangarError);
    expect((err as HangarError).code).toBe('not-found');
    expect((err as HangarError).message).toContain('no VM named or with UUID "nope"');

    const bad = await client.modifyMachine({ ref: 'web1', edits: [{ kind: 'set', field: 'memoryMiB', value: 2 }] }).catch((e: unknown) => e);
    expect((bad as HangarError).code).toBe('invalid-config');
    expect((bad as HangarError).message).toBe('memoryMiB: 2 is not valid; allowed: a whole number from 4 to 65536 MiB');

    await waitFor(() => events.length > 0);
    expect(events).toContainEqual({ type: 'machines-changed', uuid: made.config.uuid });
    client.close();
  });

  it('rejects malformed requests with a usage error instead of crashing', async () => {
    const { ws } = await connect('?token=test-token-123', ownOrigin());
    const replies: unknown[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(String(d))));
    ws.send('not json');
    ws.send(JSON.stringify({ id: 7, method: 'rm -rf', params: {} }));
    ws.send(JSON.stringify({ id: 8, method: 'getMachine', params: { ref: 42 } }));
    ws.send(JSON.stringify({ id: 9, method: 'modifyMachine', params: { ref: 'x', edits: [{ kind: 'set', field: 'uuid', value: 'y' }] } }));
    await waitFor(() => replies.length >= 4);
    expect(replies).toHaveLength(4);
    for (const r of replies) expect(r).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(replies[1]).toMatchObject({ id: 7, error: { message: 'unknown service method "rm -rf"' } });
    ws.close();
  });
});
