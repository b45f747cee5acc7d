import type { Store } from '../store.ts';
import { officialTable, type OfficialTable } from './official.ts';

/**
 * The official table, recomputed from the stored results when they change,
 * but at most once per `minIntervalMs` for each scope (all results, or one
 * tournament's), and never more than a tenth of the time: the fit runs on
 * the server's thread, and a large one (seconds for 100,000 games) must not
 * starve the matches. A busy server answers from the last fit in between.
 */
export class Leaderboard {
  private readonly cache = new Map<string, { results: number; at: number; tookMs: number; table: OfficialTable }>();

  constructor(
    private readonly store: Store,
    private readonly samples = 200,
    private readonly minIntervalMs = 2000,
  ) {}

  official(tournamentId?: number): OfficialTable {
    const scope = tournamentId === undefined ? 'all' : String(tournamentId);
    const results = this.store.resultCount(tournamentId);
    const cached = this.cache.get(scope);
    if (cached && (cached.results === results || performance.now() - cached.at < Math.max(this.minIntervalMs, 10 * cached.tookMs))) return cached.table;
    const started = performance.now();
    const table = officialTable(this.store.results(tournamentId), { samples: this.samples });
    this.cache.set(scope, { results, at: performance.now(), tookMs: performance.now() - started, table });
    return table;
  }
}
