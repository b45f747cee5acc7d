export * from './core/index.ts';
export { enumerate, type TreeCounts } from './analysis/enumerate.ts';
