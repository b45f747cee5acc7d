import fc from 'fast-check';
import { SelfplayError, type Game } from '../core/index.ts';
import { choicesArbitrary } from './arbitraries.ts';
import { guidedGames } from './coverage.ts';
import { errorText, Instrumented, show, Violation, type BudgetOptions } from './instrument.ts';
import { invariants, type Invariant } from './invariants.ts';
import { playChoices } from './trace.ts';
import { surelyLargerThan, tooManyHistories, walkWholeTree, type Tree } from './tree.ts';

export interface CheckOptions {
  /** Random games played per invariant (default 200); an eighth as many again come from a coverage-guided search. */
  readonly runs?: number;
  readonly seed?: number;
  /** Games per invariant from the coverage-guided search, tried before the random ones (default runs / 8; 0: none). */
  readonly guided?: number;
  /** Games with at most this many histories are also checked over the whole tree (default 20000; 0 turns the pass off). */
  readonly exhaustiveLimit?: number;
  /** Time budget of one call of a game function (default 250 ms, plus 2 ms per character of text for parseAction). */
  readonly budget?: BudgetOptions;
}

export interface InvariantResult {
  readonly name: string;
  readonly description: string;
  readonly ok: boolean;
  readonly message?: string;
  /** The shortest failing history found, as actions and as their texts. */
  readonly history?: readonly unknown[];
  readonly historyText?: readonly string[];
  /** `sampled`: found (or passed) on played games, failures shrunk; `exhaustive`: also checked over the whole tree. */
  readonly mode: 'sampled' | 'exhaustive';
}

/** What the games played covered. */
export interface Coverage {
  /** Uniformly random games per invariant. */
  readonly random: number;
  /** Games per invariant chosen by the coverage-guided search, to reach rare and deep branches. */
  readonly guided: number;
  /** How many of the games played (per invariant) had each length, in actions. */
  readonly lengths: Readonly<Record<string, number>>;
  readonly longest: number;
}

/** The whole-tree pass: done, or skipped and why. */
export interface Exhaustive {
  readonly done: boolean;
  readonly limit: number;
  /** Histories walked. */
  readonly histories: number;
  readonly skipped?: string;
}

export interface CheckReport {
  readonly game: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly ok: boolean;
  readonly runs: number;
  readonly seed: number;
  /** True when the whole tree was checked (see `whole`). */
  readonly exhaustive: boolean;
  readonly whole: Exhaustive;
  readonly coverage: Coverage;
  readonly results: readonly InvariantResult[];
}

/** Thrown by checkGame when an invariant fails; `report` holds every result. */
export class GameCheckError extends SelfplayError {
  constructor(readonly report: CheckReport) {
    super('game-check-failed', formatReport(report));
  }
}

function historyText(game: Game, history: readonly unknown[]): string[] {
  const texts: string[] = [];
  let state: unknown;
  try {
    state = game.initial();
  } catch {
    return history.map(show);
  }
  for (const action of history) {
    try {
      const text = game.actionText(state, action);
      texts.push(typeof text === 'string' ? text : show(action));
      state = game.apply(state, action);
    } catch {
      texts.push(show(action));
    }
  }
  return texts;
}

/** Wall time one invariant may spend on its sampled games. */
const INVARIANT_TIME_LIMIT_MS = 30_000;

/** The invariants that look at the whole tree even when the walk stopped early: what they report is a counterexample found. */
const PARTIAL_TREE_OK = new Set(['terminates', 'apply-pure']);

/** Runs every invariant and returns the report, failing or not. No error of the game escapes it. */
export function inspectGame(raw: Game, options: CheckOptions = {}): CheckReport {
  try {
    return inspect(raw, options);
  } catch (error) {
    // The game's shape itself is broken (a maxLength that is no number, a getter that throws...): every invariant fails with it.
    const message = `the checker could not play the game: ${errorText(error)}`;
    const limit = options.exhaustiveLimit ?? 20_000;
    let id = 'game';
    try {
      id = String(raw.id);
    } catch {
      // keep the placeholder
    }
    return {
      game: id,
      params: {},
      ok: false,
      runs: options.runs ?? 200,
      seed: options.seed ?? 42,
      exhaustive: false,
      whole: { done: false, limit, histories: 0, skipped: message },
      coverage: { random: 0, guided: 0, lengths: {}, longest: 0 },
      results: invariants.map((i) => ({ name: i.name, description: i.description, ok: false, message, history: [], historyText: [], mode: 'sampled' as const })),
    };
  }
}

function inspect(raw: Game, options: CheckOptions): CheckReport {
  const runs = options.runs ?? 200;
  const seed = options.seed ?? 42;
  const limit = options.exhaustiveLimit ?? 20_000;
  const watched = new Instrumented(raw, options.budget);
  const game = watched.game;

  const failure = (invariant: Invariant, mode: InvariantResult['mode'], error: unknown, fallback: () => readonly unknown[]): InvariantResult => {
    const site = watched.siteOf(error);
    let history: readonly unknown[] | undefined = error instanceof Violation ? error.history : site?.history;
    if (!history) {
      try {
        history = fallback();
      } catch {
        history = [];
      }
    }
    const message =
      error instanceof Violation ? error.message
      : site ? `${site.args} threw ${errorText(error)}`
      : `unexpected ${errorText(error)}`;
    return { name: invariant.name, description: invariant.description, ok: false, message, history: [...history], historyText: historyText(raw, history), mode };
  };

  // Games that reach rare branches on purpose, tried before the random ones.
  watched.overrun = undefined;
  watched.timing = true;
  const keep = options.guided ?? Math.max(1, Math.round(runs / 8));
  const guided = keep > 0 ? guidedGames(game, keep, Math.max(runs, keep) * 4, seed).choices : [];
  watched.overrun = undefined;
  let tree: Tree<unknown, unknown> | undefined;
  if (limit > 0) tree = surelyLargerThan(game, limit) ? { nodes: [], complete: false, stopped: tooManyHistories(limit) } : walkWholeTree(game, limit);
  watched.overrun = undefined;
  watched.timing = false;

  const input = fc.record({
    choices: choicesArbitrary(game),
    texts: fc.array(fc.oneof(fc.string(), fc.string().map((t) => `[${t}]`), fc.string().map((t) => `\\boxed{${t}}`), fc.string({ unit: 'grapheme' })), { maxLength: 4 }),
  });
  const examples: [{ choices: number[]; texts: string[] }][] = guided.map((choices) => [{ choices, texts: [] }]);
  const total = runs + examples.length;
  let lengths: number[] = [];

  const timed = <T>(f: () => T): T => {
    const before = watched.timing;
    watched.timing = true;
    try {
      return f();
    } finally {
      watched.timing = before;
    }
  };

  const results: InvariantResult[] = [];
  for (const invariant of invariants) {
    watched.overrun = undefined;
    const memo = new Map<string, unknown>();
    const played: number[] = [];
    // Whole games are timed; one that takes longer than a call may is checked again with every call timed.
    let slow = watched.callBudgetMs;
    const once = (choices: number[], texts: string[], again: boolean) => {
      const trace = playChoices(game, choices, true);
      if (!again && played.length < total) played.push(trace.history.length);
      invariant.check(game, { trace, texts, memo, timed });
    };
    let run;
    try {
      run = fc.check(
        fc.property(input, ({ choices, texts }) => {
          const probed = memo.has('probed');
          const start = performance.now();
          once(choices, texts, false);
          if (performance.now() - start <= slow) return;
          if (!probed) memo.delete('probed');
          watched.timing = true;
          try {
            once(choices, texts, true);
          } finally {
            watched.timing = false;
          }
          slow *= 2; // no call was over its budget: only a long game
        }),
        { seed, numRuns: total, examples, interruptAfterTimeLimit: INVARIANT_TIME_LIMIT_MS },
      );
    } catch (error) {
      results.push(failure(invariant, 'sampled', error, () => []));
      continue;
    }
    if (played.length > lengths.length) lengths = played;
    if (run.interrupted && !run.failed) {
      results.push(
        failure(
          invariant,
          'sampled',
          new Violation(`checking stopped after ${run.numRuns} of ${total} games: they took over ${INVARIANT_TIME_LIMIT_MS / 1000} s (no single call was over its budget, but the game's functions are slow)`, []),
          () => [],
        ),
      );
      continue;
    }
    if (run.failed) {
      const choices = run.counterexample?.[0].choices ?? [];
      results.push(failure(invariant, 'sampled', run.errorInstance, () => playChoices(game, choices, true).history));
      continue;
    }
    if (tree && invariant.whole && (tree.complete || PARTIAL_TREE_OK.has(invariant.name))) {
      watched.overrun = undefined;
      watched.timing = true;
      try {
        invariant.whole(game, tree);
      } catch (error) {
        results.push(failure(invariant, 'exhaustive', error, () => []));
        continue;
      } finally {
        watched.timing = false;
      }
    }
    results.push({ name: invariant.name, description: invariant.description, ok: true, mode: tree?.complete && invariant.whole ? 'exhaustive' : 'sampled' });
  }

  const histogram: Record<string, number> = {};
  for (const n of [...lengths].sort((a, b) => a - b)) histogram[n] = (histogram[n] ?? 0) + 1;
  const whole: Exhaustive = {
    done: tree?.complete ?? false,
    limit,
    histories: tree?.nodes.length ?? 0,
    ...(tree?.complete ? {} : { skipped: limit <= 0 ? 'turned off (--exhaustive-limit 0)' : tree?.stopped }),
  };
  return {
    game: raw.id,
    params: raw.params ?? {},
    ok: results.every((r) => r.ok),
    runs,
    seed,
    exhaustive: whole.done,
    whole,
    coverage: { random: runs, guided: examples.length, lengths: histogram, longest: lengths.length ? Math.max(...lengths) : 0 },
    results,
  };
}

/**
 * Checks a game's rules against every invariant with random and coverage-guided
 * play (and, for small games, over the whole tree); throws GameCheckError with a
 * readable report naming each broken invariant and its shortest failing history.
 */
export function checkGame(game: Game, options: CheckOptions = {}): CheckReport {
  const report = inspectGame(game, options);
  if (!report.ok) throw new GameCheckError(report);
  return report;
}

function median(values: readonly number[]): number {
  return values.length ? values[values.length >> 1] : 0;
}

export function formatReport(report: CheckReport): string {
  const passed = report.results.filter((r) => r.ok).length;
  const params = Object.keys(report.params).length ? ` ${JSON.stringify(report.params)}` : '';
  const whole = report.whole;
  const tree = whole.done
    ? `, whole tree of ${whole.histories.toLocaleString('en-US')} histories checked`
    : `; whole-tree pass skipped: ${whole.skipped}${whole.limit > 0 && whole.skipped?.startsWith('the game has more') ? ' (--exhaustive-limit raises the limit)' : ''}`;
  const lines = [`${report.game}${params}: ${passed} of ${report.results.length} invariants hold (${report.runs} random games each, seed ${report.seed}${tree})`];
  const sorted = Object.entries(report.coverage.lengths).flatMap(([n, count]) => Array.from({ length: count }, () => Number(n)));
  if (sorted.length) {
    lines.push(
      `  games: ${report.coverage.random} random + ${report.coverage.guided} coverage-guided per invariant, ${sorted[0]} to ${report.coverage.longest} actions long (median ${median(sorted)})`,
    );
  }
  for (const r of report.results) {
    if (r.ok) {
      lines.push(`  ok    ${r.name}`);
      continue;
    }
    lines.push(`  FAIL  ${r.name}: ${r.description}`);
    lines.push(`        ${r.message}`);
    lines.push(`        history (${r.history?.length ?? 0} actions${r.mode === 'sampled' ? ', shrunk' : ', found walking the whole tree'}): ${r.historyText?.join(' ') || '(the initial state)'}`);
    lines.push(`        as data: ${show(r.history)}`);
  }
  return lines.join('\n');
}
