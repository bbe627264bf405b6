// Who may use the web-mode service: requests to this server's own host name (no DNS
// rebinding), WebSocket upgrades from this server's own pages (Origin) carrying the token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { TOKEN_PARAM } from '../api/wire.ts';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Host header values that name this server: 127.0.0.1 or localhost on our port. */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

export type UpgradeVerdict = { ok: true } | { ok: false; status: number; reason: string };

/** Decide whether a WebSocket upgrade request may connect. */
export function checkUpgrade(req: { url?: string; headers: { host?: string; origin?: string } }, port: number, token: string): UpgradeVerdict {
  if (!hostAllowed(req.headers.host, port)) return { ok: false, status: 403, reason: 'wrong Host header' };
  if (!originAllowed(req.headers.origin, port)) return { ok: false, status: 403, reason: 'connections are accepted only from pages this server serves (Origin mismatch)' };
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  if (!tokenMatches(token, url.searchParams.get(TOKEN_PARAM))) return { ok: false, status: 401, reason: 'missing or wrong access token; open the URL "hangar serve" printed' };
  return { ok: true };
}
