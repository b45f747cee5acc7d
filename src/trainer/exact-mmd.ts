import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { COMPACT_GAME_PROMPTS, GamePrompter, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { actionValues, compile, evaluatePolicy, infosetReach, type CompiledGame } from '../analysis/index.ts';
import { strategyFromPolicy } from '../analysis/strategy.ts';
import { ConfigError, Rng } from '../core/index.ts';
import { summarize } from '../runtime/index.ts';
import { RoleBaselines } from './advantages.ts';
import { LEARNER, meanEntropy, mmdUpdate, rateLeague, standings, StepMeter, type HostedIteration, type HostedTrainingOptions } from './hosted-loop.ts';
import { League } from './league.ts';
import { shuffledMinibatches } from './minibatches.ts';
import type { MmdMetrics, MmdUpdate, StateTarget } from './mmd-update.ts';
import { choiceItem, distinctItems, informationStates, modelPolicy, type ModelPolicy } from './model-policy.ts';
import type { TinkerBackend } from './tinker-backend.ts';

export type ExactMmdOptions = Pick<
  HostedTrainingOptions,
  'game' | 'backend' | 'iterations' | 'seconds' | 'prompts' | 'temperature' | 'mmd' | 'leagueEvery' | 'rateEvery' | 'rateGames' | 'ratedVersions' | 'saveMember' | 'resume' | 'signal' | 'onIteration' | 'seed' | 'concurrency'
> & {
  /** The model's tokenizer, which renders each information state's prompt and each move as the host's guided pick scores them. */
  readonly tokenizer: ChatTokenizer;
  /** Information states in each optimizer step's minibatch (default 64): each of the backend's epochs passes over all of them in shuffled minibatches. */
  readonly statesPerBatch?: number;
};

/** Information states a minibatch of exact-mmd's fit holds unless told. */
export const DEFAULT_STATES_PER_BATCH = 64;

/**
 * Self-play by magnetic mirror descent on exact action values, for a game
 * small enough to walk (src/analysis compiles it), on the reference host.
 * No games are played: each step asks the host for the model's move
 * distribution at every information state (its exact policy, modelPolicy),
 * computes every action's value when that policy plays every seat
 * (actionValues: the return against itself, weighted over each state's
 * histories by how often chance and the other seats reach them), and fits
 * the model at every prompt it is asked to the closed-form MMD target on
 * those values (MmdUpdate.target; information states that read the same
 * prompt pool their values, exactStates), in minibatches, then publishes. The scoring of the new
 * version is both the next step's policy and its exact exploitability.
 * Where sampled self-play sees a state as often as play reaches it, this
 * gives every state, reached often or not, its full step.
 */
export async function trainExactMmd(options: ExactMmdOptions): Promise<HostedIteration[]> {
  const { game, backend, tokenizer } = options;
  const tree = compile(game);
  const mmd = await mmdUpdate(options);
  const prompts = options.prompts ?? COMPACT_GAME_PROMPTS;
  const states = await exactStates(tree, backend, tokenizer, prompts, mmd);
  const statesBySeat = Array.from({ length: game.seats }, (_, seat) => states.filter((state) => state.infosets.some((i) => tree.infosetSeat[i] === seat)).length);
  const score = (model: string) => modelPolicy(game, { host: backend.host, model, prompts, temperature: options.temperature, scoring: mmd.settings.scoring });
  const league = new League(options.resume?.league);
  const rng = new Rng(options.seed ?? 0);
  const history: HostedIteration[] = [];
  const startedAt = performance.now() - (options.resume?.seconds ?? 0) * 1000;
  const elapsed = () => (performance.now() - startedAt) / 1000;
  const over = (iteration: number) => iteration >= (options.iterations ?? Infinity) || (options.seconds !== undefined && elapsed() >= options.seconds) || options.signal?.aborted === true;
  let scored: ModelPolicy = await score(backend.policy());
  const meter = await StepMeter.start(backend);
  for (let iteration = options.resume?.iteration ?? 0; !over(iteration); iteration++) {
    const played = scored.model;
    const exploitabilityBefore = evaluatePolicy(game, scored.policy).exploitability;
    const strategy = strategyFromPolicy(tree, scored.policy);
    const values = actionValues(tree, strategy);
    const reach = infosetReach(tree, strategy);
    const targets: StateTarget[] = states.map(({ infosets, ...state }) => ({ ...state, advantage: pooledValues(tree, values, reach, infosets) }));
    const metrics = await fitExact(backend, mmd, targets, scored, { statesPerBatch: options.statesPerBatch ?? DEFAULT_STATES_PER_BATCH, rng: rng.split(iteration) });
    if ((iteration + 1) % (options.leagueEvery ?? 5) === 0) {
      const pinned = await backend.publish(true);
      league.add(pinned.model, pinned.version);
      await options.saveMember?.(league.members.at(-1)!);
    }
    scored = await score(metrics.model);
    const { exploitability } = evaluatePolicy(game, scored.policy);
    const rateGames = options.rateGames ?? 0;
    const rate = rateGames > 0 && (((options.rateEvery ?? 0) > 0 && (iteration + 1) % options.rateEvery! === 0) || over(iteration + 1));
    const ratings = rate
      ? await rateLeague(game, league, metrics, { sampling: { apiBase: backend.samplingBase, temperature: options.temperature, prompts }, policyId: backend.policyId, gamesPerPair: rateGames, ratedVersions: options.ratedVersions, seed: options.seed, concurrency: options.concurrency, iteration })
      : undefined;
    const lap = await meter.lap();
    const done: HostedIteration = {
      iteration,
      update: iteration + 1,
      seconds: elapsed(),
      played,
      model: metrics.model,
      version: metrics.version,
      games: 0,
      record: summarize([], [LEARNER])[0],
      returns: {},
      samples: metrics.samples,
      samplesBySeat: statesBySeat,
      states: metrics.states,
      skipped: 0,
      loss: metrics.step.loss,
      moveEntropy: metrics.moveEntropy,
      targetKl: metrics.targetKl,
      gamesPerSecond: 0,
      ageMedian: 0,
      ageMax: 0,
      ...(lap.hostBusy === undefined ? {} : { hostBusy: lap.hostBusy }),
      exploitability,
      exploitabilityBefore,
      policyEntropy: meanEntropy(scored.policy),
      league: standings(league),
      ...(ratings ? { ratings } : {}),
      ms: lap.ms,
    };
    history.push(done);
    await options.onIteration?.(done, { iteration: iteration + 1, seconds: done.seconds, league: league.toJSON(), baselines: new RoleBaselines().toJSON(), magnet: mmd.magnetState() }, []);
  }
  return history;
}

/** The context of the model a backend trains, in tokens, as its server lists it (a server that does not say: no bound). */
async function modelContext(backend: TinkerBackend): Promise<number> {
  const { supported_models: models } = await backend.model.client.capabilities();
  return models.find((m) => m.model_name === backend.model.baseModel)?.max_context_length ?? Infinity;
}

/**
 * Fits the model to every state's MMD target, each computed from the model's scored move distribution, in
 * shuffled minibatches of states (one optimizer step each, every epoch a pass over them all); then moves the
 * magnets and publishes.
 */
async function fitExact(backend: TinkerBackend, mmd: MmdUpdate, states: readonly StateTarget[], scored: ModelPolicy, batching: { statesPerBatch: number; rng: Rng }): Promise<MmdMetrics> {
  const logPis = states.map((state) => state.moves.map((move) => Math.log(Math.max(scored.policy[state.key][move], Number.MIN_VALUE))));
  const targets = states.map((state, s) => mmd.target(state, logPis[s]));
  const mean = (f: (s: number) => number) => states.reduce((sum, _, s) => sum + f(s), 0) / states.length;
  const moveEntropy = mean((s) => -logPis[s].reduce((h, lp) => h + Math.exp(lp) * lp, 0));
  const targetKl = mean((s) => targets[s].reduce((kl, q, k) => (q > 0 ? kl + q * (Math.log(q) - logPis[s][k]) : kl), 0));
  const parts = shuffledMinibatches(states.length, batching.statesPerBatch, batching.rng).map((chunk) => {
    const chunkStates = chunk.map((s) => states[s]);
    return { sequences: mmd.sequences(chunkStates), objective: mmd.objective(chunkStates, chunk.map((s) => targets[s])).objective };
  });
  const metrics = await backend.trainParts(parts);
  mmd.advance(states, targets);
  return { ...metrics, states: states.length, skipped: 0, moveEntropy, targetKl };
}

/** A state exact-mmd fits: a prompt and its moves, and the information states (of the compiled game) that read them. */
export interface ExactState extends Omit<StateTarget, 'advantage'> {
  /** Several where the model is asked the same at each: a board that different move orders reach. */
  readonly infosets: readonly number[];
}

/**
 * What the model is asked at the information states of a walkable game, each distinct prompt (with its moves) once,
 * in the order the compiled game first reaches them: the key of its first information state, the prompt as the host
 * renders it (cut from the left, as the host does, to leave its longest move room in the model's context) and the
 * legal moves, each move's tokens (its text, then the stop token) made known to `mmd`. Tic-tac-toe's 294,778
 * information states (its move histories) read 4,520 boards.
 */
export async function exactStates(tree: CompiledGame, backend: TinkerBackend, tokenizer: ChatTokenizer, prompts: GamePrompts, mmd: MmdUpdate): Promise<ExactState[]> {
  const { game } = tree;
  const stop = tokenizer.stopTokenIds[0];
  if (stop === undefined) throw new ConfigError(`the tokenizer in ${tokenizer.source} has no stop token, which ends every guided choice`);
  const context = await modelContext(backend);
  const prompter = new GamePrompter(prompts);
  const found = informationStates(game);
  const { items, itemOf } = distinctItems(
    tree.infoKeys.map((key) => {
      const { state, seat } = found.get(key)!;
      return choiceItem(game, prompter, state, seat);
    }),
  );
  const members: number[][] = items.map(() => []);
  itemOf.forEach((item, i) => members[item].push(i));
  return items.map((item, g) => {
    const [first] = members[g];
    const completions = item.choices.map((move) => [...tokenizer.encode(move), stop]);
    item.choices.forEach((move, k) => mmd.knowMove(move, completions[k]));
    const room = context - Math.max(...completions.map((c) => c.length));
    const key = tree.infoKeys[first];
    if (room < 1) throw new ConfigError(`a move at ${key} is ${room < 0 ? 'longer than' : 'as long as'} the model's context (${context} tokens)`);
    return { key, prompt: tokenizer.encodeChat(item.messages).slice(-room), moves: tree.actionTexts[first], infosets: members[g] };
  });
}

/**
 * Each move's value at a state the model cannot tell apart from others: its value at each of the information
 * states, weighted by how often play reaches them (equally where it reaches none), as the policy gradient of
 * the one move distribution they share weighs them.
 */
function pooledValues(tree: CompiledGame, values: Float64Array, reach: Float64Array, infosets: readonly number[]): number[] {
  const total = infosets.reduce((sum, i) => sum + reach[i], 0);
  const pooled = Array.from(tree.actionTexts[infosets[0]], () => 0);
  for (const i of infosets) {
    const weight = total > 0 ? reach[i] / total : 1 / infosets.length;
    pooled.forEach((_, k) => (pooled[k] += weight * values[tree.actionStart[i] + k]));
  }
  return pooled;
}
