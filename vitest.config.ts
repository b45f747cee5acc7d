import { defineConfig } from 'vitest/config';

// `selfplay` and its subpaths resolve to the TypeScript sources here (the exports' source condition), not to dist/.
const conditions = ['selfplay-source', 'module', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['selfplay-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
