/**
 * The dashboard's static files, as the admin API serves them: the page
 * (`plugin/dashboard/`, built by `npm run build` into `dist/dashboard/`) is
 * read once at start and served from memory at `/dashboard/` without a token —
 * the files hold no data; every data call the page makes carries the token as
 * the API requires. Each answer carries a strict Content-Security-Policy (only
 * this origin's script and style, no inline code, no framing, fetch and
 * WebSocket only to this origin).
 *
 * @example
 * ```ts
 * const assets = loadDashboardAssets(); // undefined when dist/dashboard/ was not built
 * const page = assets?.get('/dashboard/'); // {body, type, etag}
 * dashboardSecurityHeaders('192.168.77.1:8780')['Content-Security-Policy'];
 * // "default-src 'none'; script-src 'self'; ... connect-src 'self' ws://192.168.77.1:8780; ..."
 * ```
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DashboardAsset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** URL path -> file of the built dashboard. */
const FILES: Readonly<Record<string, [file: string, type: string]>> = {
  '/dashboard/': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/dashboard/app.css': ['app.css', 'text/css; charset=utf-8'],
};

/** Where the built dashboard is, from this module's place: the bundle (`dist/`), tsc's output (`dist/plugin/gateway/admin/`), or the sources under ts-jest. */
export function dashboardDirCandidates(from = __dirname): string[] {
  return [join(from, 'dashboard'), resolve(from, '../../../dashboard'), resolve(from, '../../../dist/dashboard')];
}

/** Reads the built dashboard (`dir`, else the first candidate holding an `index.html`); undefined when it was not built. */
export function loadDashboardAssets(dir?: string): Map<string, DashboardAsset> | undefined {
  const found = dir ?? dashboardDirCandidates().find((d) => existsSync(join(d, 'index.html')));
  if (found === undefined || !existsSync(join(found, 'index.html'))) return undefined;
  const assets = new Map<string, DashboardAsset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    const body = readFileSync(join(found, file));
    assets.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/** True for the paths the dashboard answers (its files, and `/` / `/dashboard`, which redirect to `/dashboard/`). */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/dashboard' || path in FILES;
}

/**
 * The headers of every dashboard answer. `host` is the request's (already checked) Host header:
 * the WebSocket is allowed to that host only (`'self'` covers `ws:` in CSP 3, named for older browsers).
 */
export function dashboardSecurityHeaders(host: string | undefined): Record<string, string> {
  const ws = host !== undefined && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host}` : '';
  return {
    'Content-Security-Policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'${ws}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
