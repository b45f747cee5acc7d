// `npm run build`: JavaScript and declarations in dist/, mirroring the source folders, for the
// package that `npm pack` makes. The checkout itself runs its TypeScript without this step.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const ROOTS = ['src', 'agents', 'games', 'environments'];
/** Files that run as they are (worker entries written in JavaScript), copied beside the compiled code. */
const VERBATIM = /\.(?:mjs|cjs|js|json)$/;

process.chdir(new URL('..', import.meta.url).pathname);
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
} catch {
  console.error('build failed: tsc reported the errors above');
  process.exit(1);
}

function copyVerbatim(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyVerbatim(path);
    else if (VERBATIM.test(name)) cpSync(path, join('dist', path));
  }
}
ROOTS.forEach(copyVerbatim);
console.log('built dist/');
