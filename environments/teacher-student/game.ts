import { z } from 'zod';
import { defineGame, type Game, IllegalActionError, isMalformed, type Malformed, malformedTurn, ParseError, parseRoleReply, type QuestionAnswer, Rng, type TeacherInput, type TeacherOutput } from '../../src/core/index.ts';
import { checkPair, evaluateTeaching, trainingPairs, type Evaluation, type PairCheck } from './rules.ts';
import type { HeldOutItem, Student } from './student.ts';

/** The teacher's move: its pairs, or a reply that could not be read. */
export type TeacherAction = TeacherOutput | Malformed;

/** How a match scored. */
export interface TeachingResult {
  readonly reward: number;
  /** The pairs that counted (the first `count`), and the checker's verdict on each. */
  readonly pairs: readonly QuestionAnswer[];
  readonly checks: readonly PairCheck[];
  /** Present when the student was trained (a readable reply with at least one pair). */
  readonly evaluation?: Evaluation;
  /** Why the reply earned the malformed reward. */
  readonly failure?: string;
}

export interface TeacherState {
  readonly reply?: TeacherAction;
  readonly result?: TeachingResult;
}

/** Everything one match needs, fixed when `nextGame` draws it. */
export interface TeacherMatchSetup {
  readonly topic: string;
  readonly count: number;
  readonly levels: number;
  /** Training steps of the student's clone (k). */
  readonly k: number;
  readonly malformedReward: number;
  /** The environment's student when the match was drawn (never trained: only cloned). */
  readonly student: Student;
  readonly studentAccuracy: number;
  readonly heldOut: readonly HeldOutItem[];
  readonly examples: readonly QuestionAnswer[];
  /** Promotions so far when the match was drawn. */
  readonly generation: number;
  /** Seeds the training rng, afresh each time the move is applied, so a replay trains identically. */
  readonly trainSeed: number;
}

const teacherOutput = z.object({ pairs: z.array(z.object({ question: z.string(), answer: z.string() })) });

/** Reads a teacher output `{pairs: [{question, answer}]}`; throws ParseError on any other shape. */
export function readTeacherOutput(value: unknown): TeacherOutput {
  const parsed = teacherOutput.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ParseError(`expected {"pairs": [{"question": "...", "answer": "..."}]}: ${issue.path.join('.') || 'reply'}: ${issue.message}`);
  }
  return { pairs: parsed.data.pairs.map((p) => ({ question: p.question, answer: p.answer })) };
}

/** The teacher's role input: exactly `{topic, count, examples?}`. */
export function teacherInput(setup: TeacherMatchSetup): TeacherInput {
  return setup.examples.length ? { topic: setup.topic, count: setup.count, examples: setup.examples } : { topic: setup.topic, count: setup.count };
}

/** Scores a reply: check each pair, train a clone of the student k steps on the readable ones, reward = its accuracy gain. */
export function scoreReply(setup: TeacherMatchSetup, reply: TeacherAction): TeachingResult {
  if (isMalformed(reply)) return { reward: setup.malformedReward, pairs: [], checks: [], failure: `malformed reply: ${reply.malformed}` };
  const pairs = reply.pairs.slice(0, setup.count);
  if (pairs.length === 0) return { reward: setup.malformedReward, pairs, checks: [], failure: 'no pairs' };
  const checks = pairs.map((pair) => checkPair(pair, setup.levels));
  const evaluation = evaluateTeaching(setup.student, trainingPairs(pairs, checks), setup.k, setup.heldOut, new Rng(setup.trainSeed));
  return { reward: evaluation.gain, pairs, checks, evaluation };
}

function observationText(input: TeacherInput): string {
  const lines = [`Topic: ${input.topic}`, `Write ${input.count} question/answer pairs.`];
  if (input.examples?.length) {
    lines.push('Examples that taught well before:');
    for (const e of input.examples) lines.push(`  Q: ${e.question}  A: ${e.answer}`);
  }
  return lines.join('\n');
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** One match: the teacher writes pairs once; the reward is the gain of a trained clone of the student. */
export function teacherGame(setup: TeacherMatchSetup): Game<TeacherState, TeacherAction> {
  const input = teacherInput(setup);
  const history = (state: TeacherState): TeacherAction[] => (state.reply === undefined ? [] : [state.reply]);
  const describe =
    `Teacher-student: write ${setup.count} question/answer pairs (arithmetic or linear equations, levels 1-${setup.levels}). ` +
    `A copy of the student trains ${setup.k} steps on them; your reward is the copy's accuracy gain on a held-out set of hard questions ` +
    `(wrong answers make it worse, questions the checker cannot read teach nothing; no pairs or an unreadable reply: ${setup.malformedReward}).`;
  return defineGame<TeacherState, TeacherAction>({
    id: 'teacher-student',
    description: describe,
    params: { levels: setup.levels, count: setup.count, k: setup.k, studentAccuracy: round(setup.studentAccuracy), generation: setup.generation },
    seats: 1,
    maxLength: 1,
    utility: 'general-sum',
    returnRange: [Math.min(-1, setup.malformedReward), Math.max(1, setup.malformedReward)],
    perfectInformation: false,
    initial: () => ({}),
    turn: (state) => (state.reply === undefined ? 0 : 'terminal'),
    openTurn: (state) => state.reply === undefined,
    failedTurnAction: malformedTurn,
    legalActions: () => [],
    chanceOutcomes: () => [],
    apply: (state, action) => {
      if (state.reply !== undefined) throw new IllegalActionError('teacher-student: the teacher has already written its pairs');
      let reply: TeacherAction;
      try {
        reply = isMalformed(action) ? { malformed: action.malformed } : readTeacherOutput(action);
      } catch (error) {
        throw new IllegalActionError(`teacher-student: ${(error as Error).message}`);
      }
      return { reply, result: scoreReply(setup, reply) };
    },
    returns: (state) => [state.result?.reward ?? 0],
    history,
    observe: () => input,
    infoKey: (state) => JSON.stringify(history(state)),
    stateKey: (state) => JSON.stringify(history(state)),
    rules: () => describe,
    observationText: () => observationText(input),
    actionText: (_state, action) => JSON.stringify(action),
    parseAction: (_state, text) => parseRoleReply(text, readTeacherOutput, 'the teacher\'s pairs {"pairs": [{"question": "...", "answer": "..."}]}'),
  });
}
