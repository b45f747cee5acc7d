import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder holding selfplay's package.json: the checkout when running from
 * source, the installed package when running its build from dist/ (one
 * level deeper), so files shipped beside the code are found either way.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'selfplay') return (root = dir);
    if (dirname(dir) === dir) throw new Error(`selfplay's package.json was not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** selfplay's own version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
