import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type AnswererInput, type AnswererOutput, ConfigError, defineGame, type Environment, type Game, IllegalActionError, isMalformed, type Malformed, openTurns, ParseError, parseRoleReply, replay, Rng } from '../../src/core/index.ts';
import { FAMILIES, solveFromText } from '../creator-solver/families.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { readOrIllegal, shapeReader } from '../readers.ts';

/** One supervised example: a prompt and the answer the data set gives for it. */
export interface SpinItem {
  readonly prompt: string;
  readonly reference: string;
}

export type SpinAction = AnswererOutput | Malformed;

export interface SpinState {
  readonly history: readonly SpinAction[];
}

const MAX_TEXT = 100_000;
const itemShape = z.object({ prompt: z.string().min(1).max(MAX_TEXT), reference: z.string().min(1).max(MAX_TEXT) }).strict();
const readAnswer = shapeReader<AnswererOutput>(z.object({ answer: z.string() }).strict(), 'the answerer\'s {"answer": "..."}');

/** Reads a JSONL data set of `{"prompt", "reference"}` lines; a bad line is named with its number and what is wrong. */
export function readSpinData(path: string): SpinItem[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`spin: cannot read the data set ${path}: ${(error as Error).message}`);
  }
  const items: SpinItem[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ConfigError(`spin: ${path} line ${i + 1} is not JSON; each line is {"prompt": "...", "reference": "..."}`);
    }
    const parsed = itemShape.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`spin: ${path} line ${i + 1}: ${issue.path.join('.') || 'the line'}: ${issue.message}; each line is {"prompt": "...", "reference": "..."}`);
    }
    items.push(parsed.data);
  });
  if (items.length === 0) throw new ConfigError(`spin: ${path} holds no examples`);
  return items;
}

/** The built-in data set: `count` sum and gcd questions, each with a short worked answer. */
export function builtinSpinData(count = 64, seed = 0): SpinItem[] {
  const rng = new Rng(seed).split('spin-data');
  return Array.from({ length: count }, (_, i) => {
    const family = i % 2 ? FAMILIES.gcd : FAMILIES.sum;
    const params = Object.fromEntries(family.params.map((spec) => [spec.name, spec.min + rng.int(Math.min(spec.max, spec.min + 2) - spec.min + 1)]));
    const task = family.render(params, rng);
    return { prompt: task.prompt, reference: `The answer is \\boxed{${task.truth}}.` };
  });
}

/** One match: the opponent (the previous iterate) answers the item's prompt; its return is 1 when it gave the reference answer exactly. */
export function spinGame(item: SpinItem, index: number): Game<SpinState, SpinAction> {
  const input: AnswererInput = { prompt: item.prompt };
  const turn = (s: SpinState) => (s.history.length === 0 ? 0 : ('terminal' as const));
  return defineGame<SpinState, SpinAction>({
    id: 'spin',
    params: { item: index, reference: item.reference },
    description: 'SPIN: the previous iterate answers a prompt of the data set; its answer and the data set\'s are the pair the next iterate learns to tell apart.',
    seats: 1,
    maxLength: 1,
    utility: 'general-sum',
    returnRange: [0, 1],
    perfectInformation: false,
    initial: () => ({ history: [] }),
    ...openTurns(turn),
    apply: (s, action) => {
      if (turn(s) === 'terminal') throw new IllegalActionError('spin: the prompt is already answered');
      if (!isMalformed(action)) readOrIllegal('spin', readAnswer, action);
      return { history: [action] };
    },
    returns: (s) => {
      const answer = s.history[0];
      return [answer && !isMalformed(answer) && answer.answer.trim() === item.reference.trim() ? 1 : 0];
    },
    history: (s) => s.history,
    observe: () => input,
    infoKey: (s) => JSON.stringify([item.prompt, s.history]),
    stateKey: (s) => JSON.stringify(s.history),
    rules: () => 'Answer the prompt.',
    observationText: () => item.prompt,
    actionText: (_s, action) => JSON.stringify(action),
    parseAction: (s, text) => {
      if (turn(s) === 'terminal') throw new ParseError('the prompt is already answered: no action can be read');
      return parseRoleReply(text, readAnswer, 'the answerer\'s {"answer": "..."}');
    },
  });
}

/**
 * The scripted answerer: for a question it can read back (the built-in data
 * set's), the data set's form of answer, right with probability `skill`;
 * otherwise a guess.
 */
export function scriptedAnswerer(skill: number) {
  return (input: AnswererInput, rng: Rng): AnswererOutput => {
    const solved = solveFromText(input.prompt);
    if (!solved) return { answer: 'I do not know.' };
    return { answer: `The answer is \\boxed{${rng.next() < skill ? solved.answer : solved.family.corrupt(solved.answer, rng)}}.` };
  };
}

export interface SpinOptions {
  /** The data set (default `builtinSpinData()`). */
  readonly data?: readonly SpinItem[];
  /** The scripted answerer's chance of the right answer (default 0.5). */
  readonly answererSkill?: number;
}

/**
 * SPIN (self-play fine-tuning, Chen et al., 2024): the main player learns to
 * tell the data set's answers from its previous iterate's. Each match is one
 * prompt of the data set, answered by the opponent, the previous iterate;
 * `selfplay train-llm --env spin` trains on the pairs (the data set's answer,
 * the opponent's) with SPIN's logistic loss, the previous iterate being the
 * reference model (src/trainer/sequence-objectives.ts).
 */
export function createSpin(options: SpinOptions = {}): Environment {
  const data = options.data ?? builtinSpinData();
  if (data.length === 0) throw new ConfigError('spin: the data set is empty');
  const skill = options.answererSkill ?? 0.5;
  if (!(skill >= 0 && skill <= 1)) throw new ConfigError(`spin: answererSkill must be from 0 to 1, not ${skill}`);
  const counts = { matches: 0, exact: 0, malformed: 0 };
  return {
    id: 'spin',
    description: `SPIN: the previous iterate answers ${data.length} prompts of a supervised data set; the next learns to tell its answers from the data set's`,
    roles: ['answerer'],
    nextGame: (rng) => {
      const index = rng.int(data.length);
      return spinGame(data[index], index);
    },
    record: (match) => {
      if (match.outcome !== 'normal' || match.game.id !== 'spin') return;
      const state = replay(match.game as Game<SpinState, SpinAction>, match.history as SpinAction[]);
      counts.matches++;
      if (match.returns[0] === 1) counts.exact++;
      if (isMalformed(state.history[0])) counts.malformed++;
    },
    stats: () => ({ matches: counts.matches, exactAnswers: counts.exact, exactShare: counts.matches ? counts.exact / counts.matches : 0, malformedAnswers: counts.malformed, examples: data.length }),
    scripted: { answerer: scriptedAnswerer(skill) },
  };
}

export const spinEntry: EnvironmentEntry = {
  description: 'SPIN self-play fine-tuning: the previous iterate answers the prompts of a supervised data set; trained to tell the data set\'s answers from its own with SPIN\'s loss',
  options: {
    data: 'the data set, JSONL of {"prompt", "reference"} lines (64 built-in sum and gcd questions)',
    answerer_skill: 'the scripted answerer\'s chance of the right answer (0.5)',
  },
  create: (raw: EnvironmentOptions) => {
    checkOptions('spin', raw, ['data', 'answerer_skill']);
    return createSpin({
      ...(raw.data === undefined ? {} : { data: readSpinData(raw.data) }),
      answererSkill: numberOption('spin', raw, 'answerer_skill', 0.5, { min: 0, max: 1 }),
    });
  },
};
