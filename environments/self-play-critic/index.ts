import { ConfigError, ParseError, type Environment, type EnvironmentMatch, type Game, type CriticInput, type SneakyInput } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { createSpcGame, CRITIC, PVG_ROLES, readCritic, replay, SPC_ID, SPC_ROLES, type SpcAction, type SpcState } from './game.ts';
import { makeProblem, MAX_LEVEL, MAX_STEPS, MIN_LEVEL, MIN_STEPS } from './problems.ts';
import { rightVerdict } from './rules.ts';
import { scriptedCritic, scriptedHelpful, scriptedSneaky } from './scripted.ts';

export { createSpcGame, PVG_ROLES, readCritic, readHelpful, readSneaky, replay, type SpcAction, type SpcState } from './game.ts';
export { heldOutCriticSteps } from './held-out.ts';
export { executeChain, makeProblem, problemFromSteps, type ChainStep, type Operand, type Problem } from './problems.ts';
export { confrontationReturns, judgeAttack, lastNumber, type AttackJudgment, type Branch, type Verdict } from './rules.ts';
export { ERROR_TYPES, parseStepText, plantError, scriptedCritic, scriptedHelpful, scriptedSneaky, type ErrorType } from './scripted.ts';

export interface SelfPlayCriticOptions {
  /** Operations per problem, 2 to 8 (default 4). */
  readonly steps?: number;
  /** Size of the numbers, 1 (one digit) to 4 (default 2). */
  readonly level?: number;
  /** The scripted critic's chance of checking the step's arithmetic instead of guessing, 0 to 1 (default 0.8). */
  readonly criticSkill?: number;
  /** Prover-verifier games: a helpful prover writes the step of the clean branch, which the critic verifies (default false). */
  readonly proverVerifier?: boolean;
  /** The scripted helpful prover's chance of an honest mistake in its step (default 0.1). */
  readonly helpfulErrorRate?: number;
}

export const SPC_DEFAULTS = { steps: 4, level: 2, criticSkill: 0.8, helpfulErrorRate: 0.1 } as const;

function check(name: string, value: number, min: number, max: number, integer: boolean): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`${SPC_ID}: ${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${value}`);
  }
  return value;
}

/** Running counts over recorded matches. */
interface Tally {
  matches: number;
  attacks: number;
  attacksCounted: number;
  /** Attacks that did not count: the final answer was unchanged, no number, or a malformed rewrite. */
  attacksVoid: number;
  attacksCaught: number;
  cleanSteps: number;
  cleanAccepted: number;
  criticMalformed: number;
  sneakyWins: number;
  criticWins: number;
  /** Prover-verifier mode: helpful steps written, those the verifier judged, those right, those right and accepted, those wrong and caught. */
  helpfulSteps: number;
  helpfulJudged: number;
  helpfulRight: number;
  helpfulAccepted: number;
  helpfulWrongCaught: number;
}

const ratio = (part: number, whole: number): number | string => (whole === 0 ? 'n/a' : Math.round((part / whole) * 1000) / 1000);

/**
 * SPC (self-play critic): each match draws a multi-step arithmetic problem and
 * a step of its solution; a chance node decides whether the sneaky generator
 * attacks that step or the critic judges it untouched. Zero-sum, ±1.
 */
export function createSelfPlayCritic(options: SelfPlayCriticOptions = {}): Environment {
  const steps = check('steps', options.steps ?? SPC_DEFAULTS.steps, MIN_STEPS, MAX_STEPS, true);
  const level = check('level', options.level ?? SPC_DEFAULTS.level, MIN_LEVEL, MAX_LEVEL, true);
  const criticSkill = check('criticSkill', options.criticSkill ?? SPC_DEFAULTS.criticSkill, 0, 1, false);
  const helpfulErrorRate = check('helpfulErrorRate', options.helpfulErrorRate ?? SPC_DEFAULTS.helpfulErrorRate, 0, 1, false);
  const pvg = options.proverVerifier === true;
  const tally: Tally = {
    matches: 0, attacks: 0, attacksCounted: 0, attacksVoid: 0, attacksCaught: 0, cleanSteps: 0, cleanAccepted: 0, criticMalformed: 0, sneakyWins: 0, criticWins: 0,
    helpfulSteps: 0, helpfulJudged: 0, helpfulRight: 0, helpfulAccepted: 0, helpfulWrongCaught: 0,
  };
  const critic = scriptedCritic(criticSkill);

  return {
    id: SPC_ID,
    description: pvg
      ? 'A prover-verifier game: a sneaky prover plants errors in step-by-step arithmetic, a helpful prover writes steps right, and the verifier must tell them apart.'
      : 'SPC: a sneaky generator plants errors in step-by-step arithmetic solutions that a critic must catch; zero-sum.',
    roles: pvg ? PVG_ROLES : SPC_ROLES,
    nextGame: (rng) => {
      const problem = makeProblem(rng.split('problem'), { steps, level });
      const target = rng.split('step').int(problem.steps.length);
      return createSpcGame(problem, target, { level, proverVerifier: pvg });
    },
    record: (match: EnvironmentMatch) => {
      if (match.outcome !== 'normal' || match.game.id !== SPC_ID) return;
      const final = replay(match.game as Game<SpcState, SpcAction>, match.history);
      if (!final.over || final.branch === null) return;
      tally.matches++;
      if (final.branch === 'attack') {
        tally.attacks++;
        if (!final.judgment?.counts) tally.attacksVoid++;
        else {
          tally.attacksCounted++;
          if (final.verdict === rightVerdict('attack')) tally.attacksCaught++;
        }
      } else if (pvg) {
        tally.helpfulSteps++;
        if (final.verdict !== null) tally.helpfulJudged++;
        const rightStep = final.helpfulJudgment?.claimed !== null && final.helpfulJudgment?.counts === false;
        if (rightStep) tally.helpfulRight++;
        if (rightStep && final.verdict === 'correct') tally.helpfulAccepted++;
        if (final.helpfulJudgment?.counts && final.verdict === 'incorrect') tally.helpfulWrongCaught++;
      } else {
        tally.cleanSteps++;
        if (final.verdict === rightVerdict('clean')) tally.cleanAccepted++;
      }
      if (final.verdict === 'malformed') tally.criticMalformed++;
      const returns = match.game.returns(final);
      if (returns[0] > 0) tally.sneakyWins++;
      if (returns[1] > 0) tally.criticWins++;
    },
    stats: () => ({
      matches: tally.matches,
      confrontations: tally.attacksCounted + tally.cleanSteps + tally.helpfulJudged,
      attacks: tally.attacks,
      attacksCounted: tally.attacksCounted,
      attacksVoid: tally.attacksVoid,
      attacksCaught: tally.attacksCaught,
      cleanSteps: tally.cleanSteps,
      cleanAccepted: tally.cleanAccepted,
      criticMalformed: tally.criticMalformed,
      sneakyWins: tally.sneakyWins,
      criticWins: tally.criticWins,
      criticAccuracyAttack: ratio(tally.attacksCaught, tally.attacksCounted),
      criticAccuracyClean: ratio(tally.cleanAccepted, tally.cleanSteps),
      ...(pvg
        ? {
            helpfulSteps: tally.helpfulSteps,
            helpfulRight: tally.helpfulRight,
            helpfulAccepted: tally.helpfulAccepted,
            helpfulWrongCaught: tally.helpfulWrongCaught,
            helpfulAcceptance: ratio(tally.helpfulAccepted, tally.helpfulRight),
          }
        : {}),
    }),
    alternativeReturns: (game, history, returns, seat, answers) => {
      if (game.id !== SPC_ID) throw new ConfigError(`${SPC_ID}: an episode of ${game.id} is not one of its matches`);
      const given = verdictOf(history.at(-1));
      const others = answers.map(verdictOf);
      if (seat !== CRITIC || history.length < 2 || !given || others.some((v) => !v)) return undefined;
      // In every mode the critic gets +1 for the right verdict and -1 for the other: its return says which it gave.
      const right = returns[CRITIC] > 0 ? given : given === 'correct' ? 'incorrect' : 'correct';
      return others.map((v) => (v === right ? 1 : -1));
    },
    scripted: {
      'sneaky-generator': (observation: SneakyInput, rng) => scriptedSneaky(observation, rng),
      critic: (observation: CriticInput, rng) => critic(observation, rng),
      ...(pvg ? { 'helpful-prover': scriptedHelpful(helpfulErrorRate) } : {}),
    },
  };
}

/** A critic's verdict, or undefined for anything else (a malformed answer, another seat's move). */
function verdictOf(action: unknown): 'correct' | 'incorrect' | undefined {
  try {
    return readCritic(action).verdict;
  } catch (error) {
    if (error instanceof ParseError) return undefined;
    throw error;
  }
}

const OPTION_NAMES = ['steps', 'level', 'critic_skill', 'prover_verifier', 'helpful_error_rate'];

/** The registry entry: string options from the command line. */
export const selfPlayCriticEntry: EnvironmentEntry = {
  description: 'SPC: a sneaky generator plants errors (calculation slip, wrong operand, sign flip, off-by-one) in step-by-step arithmetic that a critic must catch; zero-sum.',
  options: {
    steps: `operations per problem, ${MIN_STEPS} to ${MAX_STEPS} (${SPC_DEFAULTS.steps})`,
    level: `size of the numbers, ${MIN_LEVEL} to ${MAX_LEVEL} (${SPC_DEFAULTS.level})`,
    critic_skill: `the scripted critic's chance of checking the arithmetic instead of guessing (${SPC_DEFAULTS.criticSkill})`,
    prover_verifier: '1: a prover-verifier game, a helpful prover writing the clean steps that the critic verifies (0)',
    helpful_error_rate: `the scripted helpful prover's chance of an honest mistake (${SPC_DEFAULTS.helpfulErrorRate})`,
  },
  create: (options: EnvironmentOptions) => {
    checkOptions(SPC_ID, options, OPTION_NAMES);
    return createSelfPlayCritic({
      steps: numberOption(SPC_ID, options, 'steps', SPC_DEFAULTS.steps, { min: MIN_STEPS, max: MAX_STEPS, integer: true }),
      level: numberOption(SPC_ID, options, 'level', SPC_DEFAULTS.level, { min: MIN_LEVEL, max: MAX_LEVEL, integer: true }),
      criticSkill: numberOption(SPC_ID, options, 'critic_skill', SPC_DEFAULTS.criticSkill, { min: 0, max: 1 }),
      proverVerifier: numberOption(SPC_ID, options, 'prover_verifier', 0, { min: 0, max: 1, integer: true }) === 1,
      helpfulErrorRate: numberOption(SPC_ID, options, 'helpful_error_rate', SPC_DEFAULTS.helpfulErrorRate, { min: 0, max: 1 }),
    });
  },
};
