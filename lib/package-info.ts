/**
 * The application's own package.json (nearest to the entry script): it names the default service and
 * version, as dd-trace does, so `ddtrace-run node app.js` needs no DD_SERVICE to show a sensible name.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Name and version of the application package, if one is found. */
export interface AppPackage {
  name: string | undefined;
  version: string | undefined;
}

/** Find the nearest package.json above `entry` (default: the script node was started with). */
export function findAppPackage(entry: string | undefined = process.argv[1]): AppPackage {
  if (!entry) return { name: undefined, version: undefined };
  let dir = dirname(resolve(entry));
  for (let i = 0; i < 32; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      return {
        name: typeof pkg.name === 'string' && pkg.name ? pkg.name : undefined,
        version: typeof pkg.version === 'string' && pkg.version ? pkg.version : undefined,
      };
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { name: undefined, version: undefined };
}
