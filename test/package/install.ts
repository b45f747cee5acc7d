import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;

export interface Installed {
  /** The project folder, with selfplay, typescript and @types/node in its node_modules. */
  readonly project: string;
  readonly tarball: string;
  /** Bytes of the .tgz, and of its files unpacked. */
  readonly size: number;
  readonly unpackedSize: number;
}

/**
 * `npm pack` of this checkout (which builds dist/), installed into a new
 * project under `dir`, as a user would. Without `scripts`, dependencies' install
 * scripts are skipped: better-sqlite3's compile from source takes a minute and
 * tests nothing of ours.
 */
export function packAndInstall(dir: string, { scripts = true } = {}): Installed {
  // The build that `npm pack` runs first (prepack), run apart so that its output stays out of pack's JSON.
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: resolve('.'), stdio: ['ignore', 'ignore', 'pipe'] });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: resolve('.'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; size: number; unpackedSize: number }[];
  const tarball = join(dir, packed[0].filename);
  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-games', private: true, type: 'module' }));
  // --prefer-offline: what `npm ci` here already fetched comes from npm's cache, the rest from the registry.
  const installed = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...(scripts ? [] : ['--ignore-scripts']), tarball, `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`], { cwd: project, encoding: 'utf8' });
  if (installed.status !== 0) throw new Error(`npm install of the packed package failed:\n${installed.stderr}`);
  return { project, tarball, size: packed[0].size, unpackedSize: packed[0].unpackedSize };
}
