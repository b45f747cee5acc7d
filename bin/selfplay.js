#!/usr/bin/env node
// The selfplay command: in a checkout it runs the TypeScript sources (no build needed); in an
// installed package, which ships no sources, the build in dist/.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const sources = new URL('../src/cli/main.ts', import.meta.url);
const fromSources = existsSync(sources);
if (fromSources) {
  register('./ts-hooks.mjs', import.meta.url, { data: { source: true } });
  globalThis[Symbol.for('selfplay.moduleHooks')] = true;
}
process.setSourceMapsEnabled(true);
// `selfplay ... | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import(fromSources ? sources.href : '../dist/src/cli/main.js');
process.exitCode = await main(process.argv);
