// Node module hooks for running TypeScript: selfplay's own sources in a checkout, and users'
// game files anywhere. Each .ts file goes through esbuild's transform on its own. We do not use
// tsx's loader because it always compiles with esbuild's keepNames, which wraps every closure in
// a naming call and slows hot loops (the arena, game rules) by about 40%. Transforms are cached
// by content in node_modules/.cache, so a start with nothing changed never loads esbuild.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const TS = /\.(?:ts|mts|cts|tsx)$/;
const SELFPLAY = /^selfplay(?:\/|$)/;

/** With `source`, `selfplay` resolves to the TypeScript sources (the exports' `selfplay-source` condition). */
let source = false;
export function initialize(data) {
  source = data?.source === true;
}

let esbuild;
// The project's node_modules/.cache: the checkout's own, or, for an installed package, the
// node_modules that holds it.
const ROOT = new URL('../', import.meta.url);
const CACHE = fileURLToPath(new URL(ROOT.pathname.endsWith('/node_modules/selfplay/') ? '../.cache/selfplay-ts/' : 'node_modules/.cache/selfplay-ts/', ROOT));
const OPTIONS = { format: 'esm', target: 'node20', sourcemap: 'inline' };

export async function resolve(specifier, context, nextResolve) {
  const own = SELFPLAY.test(specifier);
  if (own && source) context = { ...context, conditions: [...context.conditions, 'selfplay-source'] };
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    // A user's game outside any project that installs selfplay gets the selfplay that runs it.
    if (own) return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (!relative) throw error;
    // TypeScript-style specifiers: `./x` and `./x.js` for `./x.ts`, `./dir` for `./dir/index.ts`.
    const base = specifier.replace(/\.js$/, '');
    for (const candidate of [`${base}.ts`, `${base}/index.ts`]) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // try the next form
      }
    }
    throw error;
  }
}

/** esbuild's JavaScript for one TypeScript file, from the cache when the same text was seen. */
async function compile(path, text) {
  const key = createHash('sha256').update(JSON.stringify(OPTIONS)).update(path).update('\0').update(text).digest('hex');
  const cached = `${CACHE}${key}.js`;
  try {
    return await readFile(cached, 'utf8');
  } catch {
    // not compiled yet
  }
  esbuild ??= await import('esbuild');
  const { code } = await esbuild.transform(text, { ...OPTIONS, loader: path.endsWith('x') ? 'tsx' : 'ts', sourcefile: path });
  try {
    await mkdir(CACHE, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    await writeFile(partial, code);
    await rename(partial, cached);
  } catch {
    // A read-only install runs without the cache.
  }
  return code;
}

export async function load(url, context, nextLoad) {
  if (!TS.test(new URL(url).pathname)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await compile(path, await readFile(path, 'utf8'));
  return { format: 'module', source, shortCircuit: true };
}
