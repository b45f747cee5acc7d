export * from './episode.ts';
export { buildEpisode, type EpisodeParts } from './build.ts';
export { EpisodeError } from './errors.ts';
export { episodeSchema, episodeProblem, validateEpisode } from './schema.ts';
export { EPISODE_FORMATS, decodeEpisode, encodeEpisode, formatFromPath, type EpisodeFormat } from './codec.ts';
export { readModelMeta, type ModelSampleMeta, type ModelTurnMeta } from './model-meta.ts';
export { DEFAULT_CHUNK_SIZE, DEFAULT_MAX_RECORD_BYTES, type ScanOptions } from './records.ts';
export { readEpisodes, type ReadOptions } from './reader.ts';
export { openEpisodeWriter, writeEpisodes, type EpisodeWriter, type WriterOptions } from './writer.ts';
