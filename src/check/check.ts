import fc from 'fast-check';
import { SelfplayError, walkTree, type Game } from '../core/index.ts';
import { choicesArbitrary } from './arbitraries.ts';
import { decisionsOf, InfoStateTable, invariants, Violation, type InfoStateCheck } from './invariants.ts';
import { playChoices } from './trace.ts';

export interface CheckOptions {
  /** Random games played per invariant (default 200). */
  readonly runs?: number;
  readonly seed?: number;
  /** Games with at most this many histories also get an exhaustive information-state check (default 20000). */
  readonly exhaustiveLimit?: number;
}

export interface InvariantResult {
  readonly name: string;
  readonly description: string;
  readonly ok: boolean;
  readonly message?: string;
  /** The shortest failing history found, as actions and as their texts. */
  readonly history?: readonly unknown[];
  readonly historyText?: readonly string[];
  readonly mode: 'sampled' | 'exhaustive';
}

export interface CheckReport {
  readonly game: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly ok: boolean;
  readonly runs: number;
  readonly seed: number;
  readonly exhaustive: boolean;
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
  let state = game.initial();
  for (const action of history) {
    try {
      texts.push(game.actionText(state, action));
      state = game.apply(state, action);
    } catch {
      texts.push(JSON.stringify(action) ?? String(action));
    }
  }
  return texts;
}

function failure(game: Game, name: string, description: string, mode: InvariantResult['mode'], error: unknown, fallback: readonly unknown[]): InvariantResult {
  const history = error instanceof Violation && error.history ? error.history : fallback;
  const message = error instanceof Violation ? error.message : `unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  return { name, description, ok: false, message, history: [...history], historyText: historyText(game, history), mode };
}

/** Walks the whole tree of a small game, grouping every decision by information state. */
function exhaustiveInfoStates(game: Game, limit: number, check: InfoStateCheck): { complete: boolean; error?: unknown; history?: readonly unknown[] } {
  const terminals: (readonly unknown[])[] = [];
  const walk = walkTree(game, (state, turn) => {
    if (turn === 'terminal') terminals.push(game.history(state));
  }, { maxNodes: limit });
  if (!walk.complete) return { complete: false };
  const table = new InfoStateTable(check);
  const seen = new Set<string>();
  for (const history of terminals) {
    for (const decision of decisionsOf(game, history)) {
      const id = JSON.stringify(decision.history);
      if (seen.has(id)) continue;
      seen.add(id);
      try {
        table.add(decision);
      } catch (error) {
        return { complete: true, error, history: decision.history };
      }
    }
  }
  return { complete: true };
}

/** Runs every invariant and returns the report, failing or not. */
export function inspectGame(game: Game, options: CheckOptions = {}): CheckReport {
  const runs = options.runs ?? 200;
  const seed = options.seed ?? 42;
  const input = fc.record({
    choices: choicesArbitrary(game),
    texts: fc.array(fc.oneof(fc.string(), fc.string().map((t) => `[${t}]`), fc.string().map((t) => `\\boxed{${t}}`), fc.string({ unit: 'grapheme' })), { maxLength: 4 }),
  });

  const results: InvariantResult[] = [];
  let exhaustive = false;
  for (const invariant of invariants) {
    const run = fc.check(
      fc.property(input, ({ choices, texts }) => {
        invariant.check(game, { trace: playChoices(game, choices, true), texts });
      }),
      { seed, numRuns: runs },
    );
    if (run.failed && run.counterexample) {
      const [{ choices }] = run.counterexample;
      results.push(failure(game, invariant.name, invariant.description, 'sampled', run.errorInstance, playChoices(game, choices, true).history));
      continue;
    }
    if (invariant.name === 'hidden-information' || invariant.name === 'perfect-recall') {
      const full = exhaustiveInfoStates(game, options.exhaustiveLimit ?? 20_000, invariant.name);
      exhaustive ||= full.complete;
      if (full.error) {
        results.push(failure(game, invariant.name, invariant.description, 'exhaustive', full.error, full.history ?? []));
        continue;
      }
      results.push({ name: invariant.name, description: invariant.description, ok: true, mode: full.complete ? 'exhaustive' : 'sampled' });
      continue;
    }
    results.push({ name: invariant.name, description: invariant.description, ok: true, mode: 'sampled' });
  }
  return { game: game.id, params: game.params, ok: results.every((r) => r.ok), runs, seed, exhaustive, results };
}

/**
 * Checks a game's rules against every invariant with random play (and, for
 * small games, exhaustively); throws GameCheckError with a readable report
 * naming each broken invariant and its shortest failing history.
 */
export function checkGame(game: Game, options: CheckOptions = {}): CheckReport {
  const report = inspectGame(game, options);
  if (!report.ok) throw new GameCheckError(report);
  return report;
}

export function formatReport(report: CheckReport): string {
  const passed = report.results.filter((r) => r.ok).length;
  const params = Object.keys(report.params).length ? ` ${JSON.stringify(report.params)}` : '';
  const lines = [`${report.game}${params}: ${passed} of ${report.results.length} invariants hold (${report.runs} random games each, seed ${report.seed}${report.exhaustive ? ', information states checked exhaustively' : ''})`];
  for (const r of report.results) {
    if (r.ok) {
      lines.push(`  ok    ${r.name}`);
      continue;
    }
    lines.push(`  FAIL  ${r.name}: ${r.description}`);
    lines.push(`        ${r.message}`);
    lines.push(`        history (${r.history?.length ?? 0} actions${r.mode === 'sampled' ? ', shrunk' : ''}): ${r.historyText?.join(' ') || '(the initial state)'}`);
    lines.push(`        as data: ${JSON.stringify(r.history)}`);
  }
  return lines.join('\n');
}
