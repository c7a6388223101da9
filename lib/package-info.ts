/**
 * The application's own package.json (nearest to the entry script): it names the default service and
 * version, as dd-trace does, so `ddtrace-run node app.js` needs no DD_SERVICE to show a sensible name.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Name and version of the application package, if one is found. */
export interface AppPackage {
  name: string | undefined;
  version: string | undefined;
}

/** Find the nearest package.json above `entry` (default: the script node was started with). */
export function findAppPackage(entry: string | undefined = process.argv[1]): AppPackage {
  if (!entry) return { name: undefined, version: undefined };
  let file = resolve(entry);
  try {
    // Node runs the real file behind a symlinked entry (node_modules/.bin/x), so its package is the app's.
    file = realpathSync(file);
  } catch {
    // The entry may not exist (e.g. `node -e`): walk up from where it would be.
  }
  let dir = dirname(file);
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
