import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md's dependency rules, checked on the imports as written (type-only imports count too).
const ROOTS = ['src', 'agents', 'games', 'environments'];

function sourceFiles(dir: string, into: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, into);
    else if (path.endsWith('.ts')) into.push(path);
  }
  return into;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g;

/** Every file's relative imports, as repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((root) => sourceFiles(root))) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3];
      targets.push(relative('.', resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The layer a file belongs to: `src/<folder>`, `src/index.ts`, or the top folder. */
const layerOf = (path: string) => {
  const [top, second] = path.split('/');
  return top === 'src' ? (second.endsWith('.ts') ? 'src/index.ts' : `src/${second}`) : top;
};

/** Which other layers each layer may import (its own is always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  'src/core': [],
  'src/analysis': ['src/core'],
  'src/check': ['src/core'],
  'src/episodes': ['src/core'],
  'src/runtime': ['src/core', 'src/episodes'],
  games: ['src/core'],
  environments: ['src/core'],
  agents: ['src/core', 'src/episodes', 'src/runtime'],
  'src/tournament': ['src/core', 'src/episodes', 'src/runtime'],
  'src/trainer': ['src/core', 'src/episodes', 'src/runtime', 'src/analysis', 'agents'],
  'src/index.ts': ['src/core', 'src/analysis', 'src/check', 'src/episodes', 'src/runtime', 'src/trainer'],
  'src/cli': ['*'],
};

describe('the layers DESIGN.md lays down', () => {
  const graph = importGraph();

  it('every import points inward', () => {
    const crossings: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      const allowed = ALLOWED[from];
      expect(allowed, `${file} is in a layer the rules do not name (${from})`).toBeDefined();
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== from && !allowed.includes('*') && !allowed.includes(to)) crossings.push(`${file} -> ${target}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('no module imports itself through others (no import circles)', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('no two source files share a name that means different things (client.ts)', () => {
    const clients = [...graph.keys()].filter((file) => file.endsWith('/client.ts'));
    expect(clients.length, clients.join(', ')).toBeLessThanOrEqual(1);
  });
});
