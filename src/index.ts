export * from './core/index.ts';
export * from './analysis/index.ts';
export * from './runtime/index.ts';
export * from './episodes/index.ts';
export * from './trainer/index.ts';
