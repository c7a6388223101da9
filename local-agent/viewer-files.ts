/**
 * Serves the viewer page: the plain HTML/CSS/JS files of the package's `viewer/` folder, as shipped, with
 * headers that keep the page to itself (no inline script, no framing, same-origin requests only).
 * Only files directly in that folder with a known type are served, so no path can reach outside it.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Headers every viewer response carries. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Where the `viewer/` folder is, from `lib/local-agent/` (tsx) or `dist/lib/local-agent/` (built). */
export function findViewerDir(): string | undefined {
  for (const candidate of [path.resolve(__dirname, '../viewer'), path.resolve(__dirname, '../../viewer')]) {
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

/** Serves files of one folder. */
export class ViewerFiles {
  /** The folder served, or undefined when the viewer is not installed. */
  readonly dir: string | undefined;

  constructor(dir: string | undefined = findViewerDir()) {
    this.dir = dir;
  }

  /** Answer `pathname` if it names a viewer file; returns false (nothing sent) when it does not. */
  serve(pathname: string, req: IncomingMessage, res: ServerResponse): boolean {
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/.test(name)) return false;
    const type = TYPES[path.extname(name)];
    if (type === undefined) return false;
    if (this.dir === undefined) {
      if (pathname !== '/') return false;
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the viewer files are missing from this installation of ddtrace-run (viewer/index.html)\n');
      return true;
    }
    const file = path.join(this.dir, name);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return false;
    }
    if (!stat.isFile()) return false;
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers = { ...PAGE_SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache', etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`cannot read ${name}\n`);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': data.length });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    return true;
  }
}
