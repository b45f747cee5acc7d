#!/usr/bin/env node
// Runs a TypeScript entry point (`node bin/run-ts.js file.ts args...`): the package needs no build step.
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

register('./ts-hooks.mjs', import.meta.url, { data: { source: true } });
const [entry, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...rest];
await import(pathToFileURL(resolve(entry)).href);
