import { ConfigError, type Environment, type GameParams, isMalformed, Rng, type TrainingTargets } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { makeProblem, MAX_LEVEL, MAX_STEPS, MIN_LEVEL, MIN_STEPS, type Problem } from '../self-play-critic/problems.ts';
import { type ReasonerAction, replaySearch, restMctsGame } from './game.ts';
import { scriptedReasoner } from './scripted.ts';
import type { SearchOptions } from './search.ts';

export { isFinalStep, readStep, replaySearch, restMctsGame, traceIsCorrect, type ReasonerAction, type RestMctsState } from './game.ts';
export { scriptedReasoner } from './scripted.ts';
export { StepSearch, type SearchOptions, type SearchStep, type StepNode, type Trace, type ValueTarget } from './search.ts';

export interface RestMctsOptions {
  /** Problems in the set (default 64), drawn once from `seed`. */
  readonly problems?: number;
  /** Operations per problem (default 3). */
  readonly steps?: number;
  /** Size of the numbers, 1 to 4 (default 1). */
  readonly level?: number;
  readonly seed?: number;
  /** Search iterations per match (default 8). */
  readonly iterations?: number;
  /** Samples of a next step per node before it is fully expanded (default 3). */
  readonly branch?: number;
  /** UCT's exploration constant (default 1). */
  readonly exploration?: number;
  /** The longest trace (default: the problem's operations + 2). */
  readonly maxDepth?: number;
  /** The scripted reasoner's chance of getting each operation right (default 0.8). */
  readonly reasonerSkill?: number;
}

const DEFAULTS = { problems: 64, steps: 3, level: 1, seed: 0, iterations: 8, branch: 3, exploration: 1, reasonerSkill: 0.8 } as const;
export const MAX_ITERATIONS = 256;

/** The search's settings as a match's params record them. */
function searchOptionsOf(params: GameParams): SearchOptions {
  const read = (name: string) => {
    const value = params[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`rest-mcts: the episode's params have no number "${name}": it is not a rest-mcts match`);
    return value;
  };
  return { iterations: read('iterations'), branch: read('branch'), exploration: read('exploration'), maxDepth: read('maxDepth') };
}

/**
 * What one search teaches, from its params and replies alone: the best trace's
 * turns to imitate, and a record of every trace and the value target of every
 * partial solution they pass through (what `selfplay env rest-mcts --targets
 * FILE` writes).
 */
export function restMctsTargets(params: GameParams, history: readonly unknown[], problem?: string): TrainingTargets {
  const answer = params.answer;
  if (typeof answer !== 'number') throw new ConfigError('rest-mcts: the episode\'s params have no answer: it is not a rest-mcts match');
  const search = replaySearch(answer, searchOptionsOf(params), history as readonly ReasonerAction[]);
  const best = search.bestTrace();
  return {
    imitate: best ? best.turns : [],
    record: {
      problem: problem ?? params.problem,
      answer,
      solved: best !== null,
      best: best?.steps ?? null,
      traces: search.traces.map((t) => ({ steps: t.steps, correct: t.correct })),
      values: search.valueTargets(),
    },
  };
}

/**
 * ReST-MCTS* (Zhang et al., 2024): the policy's own tree searches over
 * reasoning steps on problems with a verifiable answer (self-play-critic's
 * arithmetic chains). Each match is one search; what it leaves are the traces
 * that reached the right answer (the best one is what supervised training
 * imitates: `selfplay train-llm --env rest-mcts`) and a value target for every
 * partial solution on a trace, inferred from how the traces through it ended (what a
 * process value model trains on: `selfplay env rest-mcts --targets FILE`).
 */
export function createRestMcts(options: RestMctsOptions = {}): Environment {
  const o = { ...DEFAULTS, ...options };
  const check = (name: string, value: number, min: number, max: number, integer: boolean) => {
    if (!(value >= min && value <= max) || (integer && !Number.isInteger(value))) throw new ConfigError(`rest-mcts: ${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${value}`);
  };
  check('problems', o.problems, 1, 100_000, true);
  check('steps', o.steps, MIN_STEPS, MAX_STEPS, true);
  check('level', o.level, MIN_LEVEL, MAX_LEVEL, true);
  check('iterations', o.iterations, 1, MAX_ITERATIONS, true);
  check('branch', o.branch, 1, 16, true);
  check('exploration', o.exploration, 0, 100, false);
  check('reasonerSkill', o.reasonerSkill, 0, 1, false);
  const maxDepth = options.maxDepth ?? o.steps + 2;
  check('maxDepth', maxDepth, 2, 64, true);
  const search: SearchOptions = { iterations: o.iterations, branch: o.branch, exploration: o.exploration, maxDepth };
  const rng = new Rng(o.seed).split('rest-mcts-problems');
  const problems: Problem[] = Array.from({ length: o.problems }, () => makeProblem(rng, { steps: o.steps, level: o.level }));
  const byText = new Map(problems.map((p) => [p.text, p]));
  const counts = { matches: 0, solved: 0, firstCorrect: 0, turns: 0, malformed: 0, bestSteps: 0, valueTargets: 0 };
  const targets = (params: GameParams, history: readonly unknown[]) => restMctsTargets(params, history, typeof params.problem === 'number' ? problems[params.problem]?.text : undefined);
  return {
    id: 'rest-mcts',
    description: `ReST-MCTS*: tree searches over reasoning steps on ${problems.length} arithmetic chains of ${o.steps} operations, ${o.iterations} iterations each; traces and per-step value targets for self-training`,
    roles: ['reasoner'],
    nextGame: (random) => {
      const index = random.int(problems.length);
      return restMctsGame(problems[index], index, search);
    },
    record: (match) => {
      if (match.outcome !== 'normal' || match.game.id !== 'rest-mcts') return;
      const replayed = replaySearch(match.game.params.answer as number, search, match.history as ReasonerAction[]);
      const best = replayed.bestTrace();
      counts.matches++;
      counts.turns += replayed.turns;
      counts.malformed += match.history.filter(isMalformed).length;
      counts.valueTargets += replayed.valueTargets().length;
      if (replayed.traces[0]?.correct) counts.firstCorrect++;
      if (best) {
        counts.solved++;
        counts.bestSteps += best.steps.length;
      }
    },
    stats: () => ({
      matches: counts.matches,
      solved: counts.solved,
      solvedShare: counts.matches ? counts.solved / counts.matches : 0,
      firstTraceCorrectShare: counts.matches ? counts.firstCorrect / counts.matches : 0,
      meanTurns: counts.matches ? counts.turns / counts.matches : 0,
      meanBestSteps: counts.solved ? counts.bestSteps / counts.solved : 0,
      malformedSteps: counts.malformed,
      valueTargets: counts.valueTargets,
      problems: problems.length,
    }),
    trainingTargets: (game, history) => {
      if (game.id !== 'rest-mcts') throw new ConfigError(`rest-mcts: an episode of ${game.id} is not one of its searches`);
      return targets(game.params, history);
    },
    scripted: { reasoner: scriptedReasoner(byText, o.reasonerSkill) },
  };
}

export const restMctsEntry: EnvironmentEntry = {
  description: 'ReST-MCTS*: the policy\'s tree searches over reasoning steps on arithmetic chains; the best correct traces train it (supervised), every partial solution on a trace gets a value target (--targets FILE)',
  options: {
    problems: `problems in the set (${DEFAULTS.problems})`,
    steps: `operations per problem, ${MIN_STEPS} to ${MAX_STEPS} (${DEFAULTS.steps})`,
    level: `size of the numbers, ${MIN_LEVEL} to ${MAX_LEVEL} (${DEFAULTS.level})`,
    problem_seed: `seed of the problem set (${DEFAULTS.seed})`,
    iterations: `search iterations per match, 1 to ${MAX_ITERATIONS} (${DEFAULTS.iterations})`,
    branch: `samples of a next step at a node before it is fully expanded (${DEFAULTS.branch})`,
    exploration: `UCT's exploration constant (${DEFAULTS.exploration})`,
    max_depth: 'the longest trace in steps (the operations + 2)',
    reasoner_skill: `the scripted reasoner's chance of each operation right (${DEFAULTS.reasonerSkill})`,
  },
  create: (raw: EnvironmentOptions) => {
    checkOptions('rest-mcts', raw, ['problems', 'steps', 'level', 'problem_seed', 'iterations', 'branch', 'exploration', 'max_depth', 'reasoner_skill']);
    const n = (name: string, fallback: number, min: number, max: number, integer = true) => numberOption('rest-mcts', raw, name, fallback, { min, max, integer });
    return createRestMcts({
      problems: n('problems', DEFAULTS.problems, 1, 100_000),
      steps: n('steps', DEFAULTS.steps, MIN_STEPS, MAX_STEPS),
      level: n('level', DEFAULTS.level, MIN_LEVEL, MAX_LEVEL),
      seed: n('problem_seed', DEFAULTS.seed, 0, 2 ** 31 - 1),
      iterations: n('iterations', DEFAULTS.iterations, 1, MAX_ITERATIONS),
      branch: n('branch', DEFAULTS.branch, 1, 16),
      exploration: n('exploration', DEFAULTS.exploration, 0, 100, false),
      ...(raw.max_depth === undefined ? {} : { maxDepth: n('max_depth', 0, 2, 64) }),
      reasonerSkill: n('reasoner_skill', DEFAULTS.reasonerSkill, 0, 1, false),
    });
  },
};
