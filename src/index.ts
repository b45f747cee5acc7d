export * from './core/index.ts';
export * from './analysis/index.ts';
