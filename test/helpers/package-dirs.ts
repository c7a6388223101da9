/**
 * Throw-away package directories holding only a `package.json`, for tests of the hooks' version ranges:
 * the real instrumenter reads a module's version from its package directory, so a test can claim any
 * version for the same code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Call inside a `describe`: returns a function that makes a directory whose `package.json` says `version`
 * (names start with `prefix`, in the OS temporary directory); all of them are removed in that describe's
 * `after`.
 */
export function fakePackageDirs(prefix: string): (version: string) => string {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return (version) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version }));
    dirs.push(dir);
    return dir;
  };
}
