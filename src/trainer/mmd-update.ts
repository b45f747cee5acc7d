import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import { ConfigError, type Game } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import type { Sample } from './samples.ts';
import { logSoftmax, targetFit, type TargetFit } from './choice-expectation.ts';
import type { TokenSequence } from './sequence-objectives.ts';
import { noStep, type TinkerBackend, type TinkerMetrics } from './tinker-backend.ts';

export interface MmdSettings {
  /**
   * Step size on advantages in units of the game's largest return (default 1: below the tabular learner's 2.5, as
   * each step also carries the error of fitting it, and a smaller one keeps the last iterate steadier).
   */
  readonly stepSize?: number;
  /** Strength of the KL pull toward the magnet (default 0.5). */
  readonly magnetStrength?: number;
  /** How far the magnet moves toward each new target (default 0.02). */
  readonly magnetRate?: number;
  /** The temperature the model samples its moves at (default 1): its move distribution is softmax(score / T). */
  readonly temperature?: number;
  /** How the sampler scores a move (the policy host's guided_choice_scoring): its summed token logprob, their mean, or as constrained decoding picks it. */
  readonly scoring?: ChoiceScoring;
}

/** The magnet of every information state the model has trained at: the log probability of each legal move. */
export type MagnetState = Record<string, Record<string, number>>;

/** The model's move distributions at a batch's states before an update fits them. */
export interface MmdStart {
  /** Mean entropy of the model's move distribution over the states (nats). */
  readonly moveEntropy: number;
  /** Mean KL(target || model) over the states: how far the update asks the model to move (nats). */
  readonly targetKl: number;
}

/** What an update did: the backend's metrics, the states fitted and left out, and where the model stood before. */
export type MmdMetrics = TinkerMetrics & MmdStart & { readonly states: number; readonly skipped: number };

/** One information state to fit: its prompt, its legal moves and each move's advantage (a batch's mean, or its exact value). */
export interface StateTarget {
  readonly key: string;
  readonly prompt: readonly number[];
  readonly moves: readonly string[];
  readonly advantage: readonly number[];
}

/**
 * The closed-form step of magnetic mirror descent from a log distribution over
 * choices: softmax((log pi + eta A + alpha eta log magnet) / (1 + alpha eta)),
 * A being each choice's advantage, eta the step size and alpha the magnet's
 * strength.
 */
export function mirrorTarget(logPi: readonly number[], advantage: readonly number[], eta: number, alpha: number, logMagnet: readonly number[]): number[] {
  return logSoftmax(logPi.map((lp, k) => (lp + eta * advantage[k] + alpha * eta * logMagnet[k]) / (1 + alpha * eta))).map(Math.exp);
}

/**
 * Magnetic mirror descent (Sokota et al., 2023) for a language model that
 * picks among legal moves: each update computes, at every information state
 * of the batch, the closed-form MMD step of the tabular learner
 * (TabularSoftmax) from the model's own move distribution pi, the softmax of
 * the moves' scores at the sampling temperature (each move's summed token
 * logprob, their mean, or its constrained-decoding logprob, as the sampler
 * scores guided choices: scoreChoices),
 *   log q = (log pi + eta * A + alpha * eta * log magnet) / (1 + alpha * eta), normalised,
 * A being each move's mean advantage in the batch (the state's mean for moves
 * not played), and fits the model to q by minimising KL(q || pi) over the
 * states for `epochs` optimizer steps. The magnet, one per information state,
 * moves toward each target. Fitting a target rather than following a sampled
 * gradient gives every move of a state its step, played or not, so the last
 * iterate converges as the tabular learner's does instead of cycling.
 * It keeps a magnet and the legal moves for every information state it has
 * trained at, so it suits games whose information states recur (those
 * exact evaluation walks).
 */
export class MmdUpdate {
  readonly settings: Required<MmdSettings>;
  private readonly magnet: Map<string, Map<string, number>>;
  /** Each move's completion tokens, as the model sampled them (a move's tokens do not depend on the prompt). */
  private readonly moveTokens = new Map<string, readonly number[]>();
  /** Each information state's legal moves. */
  private readonly legal = new Map<string, readonly string[]>();
  /** What the last update fitted the model to: each information state's target move distribution. */
  lastTargets: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map();

  constructor(
    readonly game: Game,
    settings: MmdSettings = {},
    magnet: MagnetState = {},
  ) {
    this.settings = {
      stepSize: settings.stepSize ?? 1,
      magnetStrength: settings.magnetStrength ?? 0.5,
      magnetRate: settings.magnetRate ?? 0.02,
      temperature: settings.temperature ?? 1,
      scoring: settings.scoring ?? 'sum',
    };
    const { stepSize, magnetStrength, magnetRate, temperature } = this.settings;
    for (const [name, value] of Object.entries({ stepSize, magnetStrength, magnetRate })) {
      if (!(value >= 0 && Number.isFinite(value))) throw new ConfigError(`mmd: ${name} must be a number >= 0, not ${value}`);
    }
    if (magnetRate > 1) throw new ConfigError(`mmd: magnetRate must lie in [0, 1], not ${magnetRate}`);
    if (!(temperature > 0 && Number.isFinite(temperature))) throw new ConfigError(`mmd: the sampling temperature must be above 0 (at 0 the moves have no distribution to fit), not ${temperature}`);
    this.magnet = new Map(Object.entries(magnet).map(([key, moves]) => [key, new Map(Object.entries(moves))]));
  }

  magnetState(): MagnetState {
    return Object.fromEntries([...this.magnet].map(([key, moves]) => [key, Object.fromEntries(moves)]));
  }

  /**
   * The batch's information states with their legal moves (from replaying the episodes), prompts and mean
   * advantages; a state with a legal move whose tokens no sample has shown yet is left out (`skipped`).
   */
  targets(episodes: readonly Episode[], samples: readonly Sample[]): { states: StateTarget[]; skipped: number } {
    const unknown = new Set(samples.flatMap((s) => (s.infoKey !== undefined && !this.legal.has(s.infoKey) ? [s.infoKey] : [])));
    if (unknown.size) this.learnLegal(episodes, unknown);
    const byState = new Map<string, Sample[]>();
    for (const sample of samples) {
      if (!sample.tokens || sample.infoKey === undefined) continue;
      if (!this.moveTokens.has(sample.action)) this.moveTokens.set(sample.action, sample.tokens.completion);
      const list = byState.get(sample.infoKey);
      if (list) list.push(sample);
      else byState.set(sample.infoKey, [sample]);
    }
    const states: StateTarget[] = [];
    let skipped = 0;
    for (const [key, played] of byState) {
      const moves = this.legal.get(key);
      if (!moves || moves.some((move) => !this.moveTokens.has(move))) {
        skipped++;
        continue;
      }
      const mean = played.reduce((sum, s) => sum + s.advantage, 0) / played.length;
      const advantage = moves.map((move) => {
        const of = played.filter((s) => s.action === move);
        return of.length ? of.reduce((sum, s) => sum + s.advantage, 0) / of.length : mean;
      });
      states.push({ key, prompt: played[0].tokens!.prompt, moves, advantage });
    }
    return { states, skipped };
  }

  /** The legal moves of each information state in `keys`, from the episodes' histories (a state's moves are the same wherever it occurs). */
  private learnLegal(episodes: readonly Episode[], keys: ReadonlySet<string>): void {
    const { game } = this;
    for (const episode of episodes) {
      if (episode.outcome !== 'normal') continue;
      let state = game.initial();
      let index = 0;
      for (const step of episode.steps) {
        if (!step.valid) continue;
        const turn = game.turn(state);
        if (typeof turn === 'number') {
          const key = game.infoKey(state, turn);
          if (keys.has(key) && !this.legal.has(key)) this.legal.set(key, game.legalActions(state).map((action) => game.actionText(state, action)));
        }
        state = game.apply(state, episode.history[index++]);
      }
    }
  }

  /** A state's MMD target from the model's log move distribution there (mirrorTarget, with the state's magnet). */
  target(state: StateTarget, logPi: readonly number[]): number[] {
    const { stepSize, magnetStrength } = this.settings;
    const [low, high] = this.game.returnRange;
    return mirrorTarget(logPi, state.advantage, stepSize / Math.max(Math.abs(low), Math.abs(high), 1e-12), magnetStrength, this.magnetOf(state));
  }

  /**
   * The objective over the token logprobs of the states' move sequences (state by state, moves in order): at
   * its first call it fixes each state's target q from the model's distribution then (unless `given`); every
   * call returns the mean over states of KL(q || pi) and its derivative with respect to each token's logprob:
   * (pi - q) / T with respect to each move's score, taken back to its tokens as the scoring counts them.
   */
  objective(states: readonly StateTarget[], given?: readonly (readonly number[])[]): TargetFit {
    const completions = states.map((state) => state.moves.map((move) => this.moveTokens.get(move)!));
    return targetFit(completions, this.settings.scoring, this.settings.temperature, (s, logPi) => this.target(states[s], logPi), given);
  }

  /**
   * The state's magnet as log probabilities of its moves: uniform where the state is new. (Not the model's
   * distribution then: a fresh model can all but rule a move out, and the magnet would hold it there.)
   */
  private magnetOf(state: StateTarget): number[] {
    const uniform = -Math.log(state.moves.length);
    let moves = this.magnet.get(state.key);
    if (!moves) this.magnet.set(state.key, (moves = new Map(state.moves.map((move) => [move, uniform]))));
    return state.moves.map((move) => moves.get(move) ?? uniform);
  }

  /** Each state's magnet moves `magnetRate` of the way (in log space) toward the target the update fitted. */
  advance(states: readonly StateTarget[], targets: readonly (readonly number[])[]): void {
    const beta = this.settings.magnetRate;
    this.lastTargets = new Map(states.map((state, s) => [state.key, Object.fromEntries(state.moves.map((move, k) => [move, targets[s][k]]))]));
    states.forEach((state, s) => {
      const moves = this.magnet.get(state.key)!;
      state.moves.forEach((move, k) => moves.set(move, (1 - beta) * (moves.get(move) ?? Math.log(targets[s][k])) + beta * Math.log(Math.max(targets[s][k], 1e-300))));
    });
  }

  /** One MMD update of the hosted model from a batch (its episodes and the learner's samples with advantages), then published. */
  async update(backend: TinkerBackend, episodes: readonly Episode[], samples: readonly Sample[]): Promise<MmdMetrics> {
    const { states, skipped } = this.targets(episodes, samples);
    if (states.length === 0) return { ...noStep(backend), states: 0, skipped, moveEntropy: NaN, targetKl: NaN };
    const { objective, targets, before } = this.objective(states);
    const metrics = await backend.trainTokens(this.sequences(states), objective);
    this.advance(states, targets());
    return { ...metrics, samples: samples.length, states: states.length, skipped, ...before() };
  }

  /** The states' move sequences, state by state, moves in order: what `objective` takes the logprobs of. */
  sequences(states: readonly Pick<StateTarget, 'prompt' | 'moves'>[]): TokenSequence[] {
    return states.flatMap((state) => state.moves.map((move) => ({ prompt: state.prompt, completion: this.moveTokens.get(move)! })));
  }

  /** The completion tokens a move is sampled as (where no sample has shown them). */
  knowMove(move: string, tokens: readonly number[]): void {
    this.moveTokens.set(move, tokens);
  }
}

