import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../core/package-files.ts';

const REGISTERED = Symbol.for('selfplay.moduleHooks');

/**
 * Lets `import()` load a user's TypeScript module from any folder, with
 * `selfplay` inside it resolving to the selfplay that runs (when the user's
 * project has none). bin/selfplay.js registers the hooks at start when it
 * runs the sources; the build registers them only when a command loads a module.
 */
export function ensureModuleHooks(): void {
  const scope = globalThis as Record<symbol, unknown>;
  if (scope[REGISTERED]) return;
  const root = packageRoot();
  register(pathToFileURL(join(root, 'bin', 'ts-hooks.mjs')), { data: { source: existsSync(join(root, 'src', 'cli', 'main.ts')) } });
  scope[REGISTERED] = true;
}
