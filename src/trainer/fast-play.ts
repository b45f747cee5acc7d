import { CHANCE, TERMINAL, type CompiledGame } from '../analysis/compile.ts';
import type { Game, Rng } from '../core/index.ts';
import { buildEpisode } from '../episodes/build.ts';
import type { Episode, EpisodeStep } from '../episodes/episode.ts';
import type { SampleBatch } from './samples.ts';

/**
 * Plays episodes straight on a compiled game tree, every seat sampling from a
 * flat strategy, and records each decision of a `learning` seat into `batch`
 * (samples of one episode contiguous, returns per episode). No messages, no
 * objects per move: learning small games is then limited by arithmetic.
 * `paths`, when given, receives the node path of each episode, to turn into
 * an episode record later (see `episodeFromPath`). With `append`, the
 * episodes are added to those already in `batch` (a batch played in parts).
 */
export function playCompiled(
  tree: CompiledGame,
  strategies: readonly Float64Array[],
  learning: readonly boolean[],
  episodes: number,
  rng: Rng,
  batch: SampleBatch,
  paths?: Int32Array[],
  append = false,
): void {
  const { player, childStart, infoset, chanceProbability, utility, actionStart, seats } = tree;
  if (!append) batch.clear();
  const from = batch.episodes;
  const end = from + episodes;
  batch.reserveEpisodes(end);
  const path = paths ? new Int32Array(256) : undefined;
  for (let e = from; e < end; e++) {
    let node = 0;
    let depth = 0;
    for (;;) {
      const mover = player[node];
      if (mover === TERMINAL) break;
      const first = childStart[node];
      const last = childStart[node + 1] - 1;
      let child = first;
      let u = rng.next();
      if (mover === CHANCE) {
        while (child < last && (u -= chanceProbability[child]) >= 0) child++;
      } else {
        const slot = actionStart[infoset[node]];
        const strategy = strategies[mover];
        while (child < last && (u -= strategy[slot + child - first]) >= 0) child++;
        if (learning[mover]) batch.push(slot + child - first, mover, e);
      }
      if (path) path[depth++] = child;
      node = child;
    }
    for (let s = 0; s < seats; s++) batch.returns[e * seats + s] = utility[node * seats + s];
    if (paths && path) paths.push(path.slice(0, depth));
  }
  batch.episodes = end;
}

/** The episode record of a compiled-tree path: the same record the arena writes for that match. */
export function episodeFromPath(
  game: Game,
  tree: CompiledGame,
  path: Int32Array,
  info: { id: string; seed: number; players: Episode['players'] },
): Episode {
  const steps: EpisodeStep[] = [];
  const history: unknown[] = [];
  let state = game.initial();
  let node = 0;
  for (const child of path) {
    const index = child - tree.childStart[node];
    const turn = game.turn(state);
    const action = turn === 'chance' ? game.chanceOutcomes(state)[index].action : game.legalActions(state)[index];
    const text = game.actionText(state, action);
    steps.push(turn === 'chance' ? { seat: 'chance', action: text, parsed: action, valid: true } : { seat: turn as number, observation: game.observationText(state, turn as number), infoKey: game.infoKey(state, turn as number), action: text, parsed: action, valid: true });
    history.push(action);
    state = game.apply(state, action);
    node = child;
  }
  return buildEpisode({ ...info, game, steps, history, returns: game.returns(state), outcome: 'normal' });
}

/** Whether `node` is a terminal node of `tree` (a number from another process is checked with it). */
export const isTerminalNode = (tree: CompiledGame, node: number): boolean => Number.isInteger(node) && node >= 0 && node < tree.nodeCount && tree.player[node] === TERMINAL;

const parentsOf = new WeakMap<CompiledGame, Int32Array>();

/** Each node's parent (-1 for the root), computed once per tree. */
function parents(tree: CompiledGame): Int32Array {
  let parent = parentsOf.get(tree);
  if (!parent) {
    parent = new Int32Array(tree.nodeCount).fill(-1);
    for (let node = 0; node < tree.nodeCount; node++) {
      for (let child = tree.childStart[node]; child < tree.childStart[node + 1]; child++) parent[child] = node;
    }
    parentsOf.set(tree, parent);
  }
  return parent;
}

/**
 * Adds to `batch` the episodes that ended at `terminals` (terminal nodes of
 * `tree`): in a tree, a terminal node names the whole path to it, so an
 * episode played elsewhere travels as one number. The samples are those
 * `playCompiled` records for the same episodes; `paths` receives their node
 * paths the same way. Throws on a number that is not a terminal node.
 */
export function samplesFromTerminals(tree: CompiledGame, terminals: Int32Array, learning: readonly boolean[], batch: SampleBatch, paths?: Int32Array[]): void {
  const { player, childStart, infoset, utility, actionStart, seats } = tree;
  const parent = parents(tree);
  const from = batch.episodes;
  batch.reserveEpisodes(from + terminals.length);
  const path = new Int32Array(256);
  for (let k = 0; k < terminals.length; k++) {
    const terminal = terminals[k];
    if (!isTerminalNode(tree, terminal)) throw new Error(`node ${terminal} is not a terminal node of ${tree.game.id}`);
    let depth = 0;
    for (let node = terminal; node > 0; node = parent[node]) path[depth++] = node;
    path.subarray(0, depth).reverse();
    const e = from + k;
    let node = 0;
    for (let d = 0; d < depth; d++) {
      const child = path[d];
      const mover = player[node];
      if (mover >= 0 && learning[mover]) batch.push(actionStart[infoset[node]] + child - childStart[node], mover, e);
      node = child;
    }
    for (let s = 0; s < seats; s++) batch.returns[e * seats + s] = utility[terminal * seats + s];
    if (paths) paths.push(path.slice(0, depth));
  }
  batch.episodes = from + terminals.length;
}
