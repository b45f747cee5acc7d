// Node module hooks that run TypeScript through esbuild's transform, one file at a
// time. We do not use tsx's loader because it always compiles with esbuild's
// keepNames, which wraps every closure in a naming call and slows hot loops
// (the arena, game rules) by about 40%.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TS = /\.(?:ts|mts|cts|tsx)$/;

/** Lets TypeScript-style specifiers work: `./x` and `./x.js` for `./x.ts`, `./dir` for `./dir/index.ts`. */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !relative) throw error;
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

export async function load(url, context, nextLoad) {
  if (!TS.test(new URL(url).pathname)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  const { code } = await transform(source, {
    loader: path.endsWith('x') ? 'tsx' : 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
