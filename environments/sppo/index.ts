import { z } from 'zod';
import { ConfigError, defineGame, type Environment, type Game, IllegalActionError, isMalformed, type Malformed, openTurns, ParseError, parseRoleReply, replay, type Rng, type SolverInput, type SolverOutput } from '../../src/core/index.ts';
import { FAMILIES } from '../creator-solver/families.ts';
import type { TaskFamily, TaskParams } from '../creator-solver/family.ts';
import { scriptedSolver } from '../creator-solver/scripted.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { readOrIllegal, shapeReader } from '../readers.ts';

export type SppoAction = SolverOutput | Malformed;

export interface SppoState {
  /** Each response's score by the family's program, in seat order (0 for a malformed one). */
  readonly scores: readonly number[];
  readonly history: readonly SppoAction[];
}

const readAnswer = shapeReader<SolverOutput>(z.object({ answer: z.string() }).strict(), 'the solver\'s {"answer": "..."}');

/**
 * SPPO's estimate of each response's win rate against the policy: the mean,
 * over the other responses to the same prompt, of the preference oracle's
 * P(this one wins), 1 for a higher score, 1/2 for an equal one, 0 for a lower.
 */
export function winRates(scores: readonly number[]): number[] {
  if (scores.length < 2) throw new RangeError('win rates need at least two responses');
  return scores.map((mine, k) => scores.reduce((sum, other, j) => (j === k ? sum : sum + (mine > other ? 1 : mine === other ? 0.5 : 0)), 0) / (scores.length - 1));
}

/** Parameters drawn uniformly within the family's bounds. */
const drawParams = (family: TaskFamily, rng: Rng): TaskParams => Object.fromEntries(family.params.map((spec) => [spec.name, spec.min + rng.int(spec.max - spec.min + 1)]));

/** One prompt of a verifiable task family answered by `samples` solver seats; each seat's return is its response's win rate. */
export function sppoGame(family: TaskFamily, params: TaskParams, samples: number, seed: number, rng: Rng): Game<SppoState, SppoAction> {
  const task = family.render(params, rng);
  const turn = (s: SppoState) => (s.history.length < samples ? s.history.length : ('terminal' as const));
  const input: SolverInput = { question: task.prompt };
  return defineGame<SppoState, SppoAction>({
    id: 'sppo',
    params: { family: family.name, taskType: family.name, samples, seed },
    description: `SPPO: ${samples} responses to one ${family.name} prompt; each earns its estimated win rate against the others, by the family's verifiable score.`,
    seats: samples,
    maxLength: samples,
    utility: 'general-sum',
    returnRange: [0, 1],
    perfectInformation: false,
    initial: () => ({ scores: [], history: [] }),
    ...openTurns(turn),
    apply: (s, action) => {
      if (turn(s) === 'terminal') throw new IllegalActionError('sppo: the match is over');
      if (!isMalformed(action)) readOrIllegal('sppo', readAnswer, action);
      const score = isMalformed(action) ? 0 : family.score((action as SolverOutput).answer, task.truth);
      return { scores: [...s.scores, score], history: [...s.history, action] };
    },
    returns: (s) => (turn(s) === 'terminal' ? winRates(s.scores) : new Array<number>(samples).fill(0)),
    history: (s) => s.history,
    observe: () => input,
    infoKey: (s, seat) => JSON.stringify([seat, task.prompt, s.history.slice(seat, seat + 1)]),
    stateKey: (s) => JSON.stringify(s.history),
    rules: () => 'You are a solver. Answer the question; your reward is how often your answer beats the other answers to it (by its score in [0, 1]).',
    observationText: () => `Question: ${task.prompt}`,
    actionText: (_s, action) => JSON.stringify(action),
    parseAction: (s, text) => {
      if (turn(s) === 'terminal') throw new ParseError('the match is over: no action can be read');
      return parseRoleReply(text, readAnswer, 'the solver\'s {"answer": "..."}');
    },
  });
}

export interface SppoOptions {
  /** Responses per prompt, 2 to 64 (default 4). */
  readonly samples?: number;
  /** The task families prompts are drawn from (default all of creator-solver's). */
  readonly families?: readonly string[];
}

/**
 * SPPO (self-play preference optimisation): each match is one prompt of a
 * verifiable task family and `samples` responses from the policy; the
 * family's score is the preference oracle, and each response's return is its
 * estimated win rate. `selfplay train-llm --env sppo` trains on them with
 * SPPO's square loss (src/trainer/sequence-objectives.ts).
 */
export function createSppo(options: SppoOptions = {}): Environment {
  const samples = options.samples ?? 4;
  if (!Number.isInteger(samples) || samples < 2 || samples > 64) throw new ConfigError(`sppo: samples must be a whole number from 2 to 64, not ${samples}`);
  const names = options.families ?? Object.keys(FAMILIES);
  const unknown = names.filter((n) => !FAMILIES[n]);
  if (names.length === 0 || unknown.length) throw new ConfigError(`sppo: unknown task famil${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ') || '(none given)'}; families: ${Object.keys(FAMILIES).join(', ')}`);
  const counts = { matches: 0, responses: 0, scoreSum: 0, informative: 0, malformed: 0 };
  return {
    id: 'sppo',
    description: `SPPO: ${samples} responses per prompt of ${names.join(', ')}, each earning its win rate by the family's verifiable score`,
    roles: new Array<string>(samples).fill('solver'),
    categories: names,
    nextGame: (rng, category) => {
      if (category !== undefined && !names.includes(category)) throw new ConfigError(`sppo: no task family "${category}" in this run; its families: ${names.join(', ')}`);
      const family = FAMILIES[category ?? rng.pick(names)];
      const seed = rng.split('seed').nextUint32();
      return sppoGame(family, drawParams(family, rng.split('params')), samples, seed, rng.split('task'));
    },
    record: (match) => {
      if (match.outcome !== 'normal' || match.game.id !== 'sppo') return;
      const state = replay(match.game as Game<SppoState, SppoAction>, match.history as SppoAction[]);
      counts.matches++;
      counts.responses += state.scores.length;
      counts.scoreSum += state.scores.reduce((a, b) => a + b, 0);
      if (new Set(state.scores).size > 1) counts.informative++;
      counts.malformed += state.history.filter(isMalformed).length;
    },
    stats: () => ({
      matches: counts.matches,
      meanScore: counts.responses ? counts.scoreSum / counts.responses : 0,
      informativePrompts: counts.informative,
      malformedResponses: counts.malformed,
    }),
    scripted: { solver: scriptedSolver },
  };
}

export const sppoEntry: EnvironmentEntry = {
  description: 'SPPO self-play preference optimisation: several responses per prompt of a verifiable task family, each earning its estimated win rate; trained with SPPO\'s square loss',
  options: {
    samples: 'responses per prompt, 2 to 64 (4)',
    families: `task families, comma-separated (${Object.keys(FAMILIES).join(',')})`,
  },
  create: (raw: EnvironmentOptions) => {
    checkOptions('sppo', raw, ['samples', 'families']);
    return createSppo({
      samples: numberOption('sppo', raw, 'samples', 4, { min: 2, max: 64, integer: true }),
      ...(raw.families === undefined ? {} : { families: raw.families.split(',').map((f) => f.trim()).filter((f) => f !== '') }),
    });
  },
};
