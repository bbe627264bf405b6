// The app's pages come from a custom protocol (hangar://app/...) rather than file://, so they
// get a real origin, a strict CSP and no access to the rest of the file system.
import { RENDERER_DIST } from '../src-core/server/renderer-dist.ts';
import { staticFile } from '../src-core/server/static-files.ts';

export const APP_SCHEME = 'hangar';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // xterm.js sizes and colours its rows through <style> elements it writes at run time;
  // only elements are allowed inline, style attributes and scripts stay 'self'.
  "style-src-elem 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Is this URL one of the app's own pages? (URL.origin is "null" for custom schemes in Node.) */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** Privileges to register before the app is ready (standard + secure: a normal origin). */
export const SCHEME_PRIVILEGES = [{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } }];

/** Answer one request on the app protocol from the built renderer. */
export async function serveAppRequest(url: string, root = RENDERER_DIST): Promise<Response> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new Response('bad URL', { status: 400 });
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== 'app') return new Response('not found', { status: 404 });
  const file = await staticFile(root, u.pathname);
  if (!file) return new Response('not found', { status: 404 });
  const headers: Record<string, string> = { 'Content-Type': file.type, 'X-Content-Type-Options': 'nosniff' };
  if (file.type.startsWith('text/html')) headers['Content-Security-Policy'] = CSP;
  return new Response(new Uint8Array(file.body), { status: 200, headers });
}
