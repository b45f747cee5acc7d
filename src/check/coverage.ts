import { Rng, type Game } from '../core/index.ts';
import { show } from './instrument.ts';
import { playChoices } from './trace.ts';

interface Entry {
  readonly choices: number[];
  /** The features this game was the first to reach. */
  readonly novel: readonly string[];
}

export interface GuidedGames {
  /** Choices (as `playChoices` reads them) of the games the search kept, rarest first. */
  readonly choices: readonly number[][];
  /** Games the search played to find them. */
  readonly playouts: number;
  /** Distinct branches (depth, action, previous action) the search reached. */
  readonly branches: number;
}

/**
 * The branches one game took: each action at its depth, and each decision after
 * the decision before it (pairs with chance outcomes would mostly count deals).
 */
function featuresOf(steps: readonly { turn: unknown; action: unknown }[], history: readonly unknown[], ending: string): string[] {
  const out: string[] = [];
  let before = '^';
  for (let i = 0; i < history.length; i++) {
    const action = show(history[i]);
    out.push(`${i}:${action}`);
    if (steps[i]?.turn === 'chance') continue;
    out.push(`${i}:${before}>${action}`);
    before = action;
  }
  out.push(`end:${history.length}:${ending}`);
  return out;
}

/**
 * A coverage-guided search over histories. Uniform random play takes each legal
 * action with equal probability at every node, so a branch a few choices deep
 * in a rarely taken direction (a long raise war) is almost never played. This
 * keeps every game that reaches a branch not seen before, and plays new games
 * by replaying a kept game part of the way (mostly nearly all of it, favouring
 * games whose new branches are still rare) and going on at random: each step
 * into a rare region becomes a starting point for the next.
 */
export function guidedGames(game: Game, keep: number, playouts: number, seed: number): GuidedGames {
  const rng = new Rng(`check-coverage:${seed}`);
  const counts = new Map<string, number>();
  const corpus: Entry[] = [];
  const width = game.maxLength + 1;
  let played = 0;
  for (; played < playouts; played++) {
    const choices: number[] = [];
    if (corpus.length > 0 && rng.next() < 0.85) {
      const parent = pickParent(corpus, counts, rng);
      const len = parent.choices.length;
      const cut = len - Math.floor((len + 1) * rng.next() ** 2);
      for (let i = 0; i < Math.max(0, cut); i++) choices.push(parent.choices[i]);
    }
    while (choices.length < width) choices.push(rng.int(1 << 30));
    let trace;
    try {
      trace = playChoices(game, choices, true);
    } catch {
      break; // a game that errors while played: the invariants report it
    }
    const features = featuresOf(trace.steps, trace.history, trace.stop.kind);
    const novel: string[] = [];
    for (const f of features) {
      const n = counts.get(f) ?? 0;
      if (n === 0) novel.push(f);
      counts.set(f, n + 1);
    }
    if (novel.length > 0) corpus.push({ choices: choices.slice(0, trace.history.length), novel });
  }
  const rarity = (e: Entry) => Math.min(...e.novel.map((f) => counts.get(f) ?? 0));
  const ranked = corpus
    .map((e, i) => ({ e, r: rarity(e), i }))
    .sort((a, b) => a.r - b.r || b.e.choices.length - a.e.choices.length || a.i - b.i)
    .slice(0, keep)
    .map(({ e }) => e.choices);
  return { choices: ranked, playouts: played, branches: counts.size };
}

/** A kept game, chosen with weight 1 / (how often its rarest new branch has been played since)². */
function pickParent(corpus: readonly Entry[], counts: ReadonlyMap<string, number>, rng: Rng): Entry {
  const weights = corpus.map((e) => {
    let least = Infinity;
    for (const f of e.novel) least = Math.min(least, counts.get(f) ?? 1);
    return 1 / (least * least);
  });
  let total = 0;
  for (const w of weights) total += w;
  let r = rng.next() * total;
  for (let i = 0; i < corpus.length; i++) {
    r -= weights[i];
    if (r <= 0) return corpus[i];
  }
  return corpus[corpus.length - 1];
}
