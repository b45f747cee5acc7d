import type { ExecLimits, ExecResult, Executor, JsonValue } from './executor.ts';
import { sameValue, shownPairs, type Task, type TaskType } from './tasks.ts';
import type { Verdict } from './rewards.ts';

export type Validation = { readonly valid: true; readonly task: Task } | { readonly valid: false; readonly reason: string };

/** Runs programs with the match's limits, remembering results: programs are deterministic, so replaying a match costs nothing. */
export class CachedRunner {
  private readonly results = new Map<string, ExecResult>();

  constructor(
    private readonly executor: Executor,
    private readonly limits: ExecLimits,
  ) {}

  run(program: string, args: readonly JsonValue[], checked = false): ExecResult {
    const key = `${checked ? 'checked' : 'once'}\u0000${program}\u0000${JSON.stringify(args)}`;
    let result = this.results.get(key);
    if (!result) {
      result = checked ? this.executor.runChecked(program, args, this.limits) : this.executor.run(program, args, this.limits);
      this.results.set(key, result);
    }
    return result;
  }
}

const JS_LANGUAGES = new Set(['', 'javascript', 'js']);
const MIN_INDUCTION_INPUTS = 4;
const MAX_INDUCTION_INPUTS = 10;
/** Tasks are small: every prompt that shows one (references, questions) stays short. */
export const MAX_TASK_PROGRAM = 4096;
export const MAX_TASK_VALUE_BYTES = 1024;
/** Deeper answers are wrong without comparing: no task's value is nested this deep (the executor refuses results over 1,000 levels). */
const MAX_ANSWER_DEPTH = 1000;

/** True when `value` nests deeper than `limit`, found without recursion. */
function deeperThan(value: JsonValue, limit: number): boolean {
  const stack: [JsonValue, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (item !== null && typeof item === 'object') for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

const tooLong = (value: JsonValue | readonly JsonValue[]) => JSON.stringify(value).length > MAX_TASK_VALUE_BYTES;

function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch {
    return { ok: false };
  }
}

/** The proposal's argument lists, or why they are not usable for this task type. */
function readInputs(type: TaskType, text: string): readonly (readonly JsonValue[])[] | string {
  const parsed = parseJson(text);
  if (!parsed.ok) return 'the input is not JSON';
  const value = parsed.value;
  if (!Array.isArray(value)) return 'the input is not a JSON array of arguments';
  if (type !== 'induction') return [value];
  if (value.length < MIN_INDUCTION_INPUTS || value.length > MAX_INDUCTION_INPUTS) return `an induction task needs ${MIN_INDUCTION_INPUTS} to ${MAX_INDUCTION_INPUTS} argument lists, got ${value.length}`;
  if (!value.every(Array.isArray)) return 'an induction input is a JSON array of argument lists (arrays)';
  const distinct = new Set(value.map((args) => JSON.stringify(args)));
  if (distinct.size !== value.length) return 'the argument lists of an induction task must differ';
  return value as JsonValue[][];
}

/**
 * Absolute Zero's validity check: the program is JavaScript, the input reads,
 * and every run terminates within the limits, twice with the same JSON result.
 */
export function validateProposal(runner: CachedRunner, type: TaskType, proposal: { program: string; input: string; language: string }): Validation {
  if (!JS_LANGUAGES.has(proposal.language)) return { valid: false, reason: `the program is marked ${JSON.stringify(proposal.language)}; expected JavaScript` };
  if (proposal.program.length > MAX_TASK_PROGRAM) return { valid: false, reason: `the program is longer than ${MAX_TASK_PROGRAM} characters; tasks must be small` };
  const inputs = readInputs(type, proposal.input);
  if (typeof inputs === 'string') return { valid: false, reason: inputs };
  if (inputs.some(tooLong)) return { valid: false, reason: `an input is longer than ${MAX_TASK_VALUE_BYTES} characters of JSON; tasks must be small` };
  const outputs: JsonValue[] = [];
  for (const args of inputs) {
    const result = runner.run(proposal.program, args, true);
    if (!result.ok) return { valid: false, reason: `f(${JSON.stringify(args).slice(1, -1)}) failed (${result.error.kind}): ${result.error.message}` };
    if (tooLong(result.value)) return { valid: false, reason: `f(${JSON.stringify(args).slice(1, -1)}) returns more than ${MAX_TASK_VALUE_BYTES} characters of JSON; tasks must be small` };
    outputs.push(result.value);
  }
  return { valid: true, task: { type, program: proposal.program, inputs, outputs } };
}

/** The program in an answer: a fenced block's body when there is one, else the whole answer. */
function answerProgram(answer: string): string {
  const fenced = /```[a-z]*\n([\s\S]*?)```/i.exec(answer);
  return (fenced ? fenced[1] : answer).trim();
}

/** Judges a solver's final answer against a valid task. */
export function judgeAnswer(runner: CachedRunner, task: Task, answer: string): Exclude<Verdict, 'malformed'> {
  switch (task.type) {
    case 'deduction': {
      const parsed = parseJson(answer);
      if (parsed.ok && deeperThan(parsed.value, MAX_ANSWER_DEPTH)) return 'wrong';
      return sameValue(parsed.ok ? parsed.value : answer, task.outputs[0]) ? 'correct' : 'wrong';
    }
    case 'abduction': {
      const parsed = parseJson(answer);
      if (!parsed.ok || !Array.isArray(parsed.value) || deeperThan(parsed.value, MAX_ANSWER_DEPTH)) return 'wrong';
      const result = runner.run(task.program, parsed.value);
      return result.ok && sameValue(result.value, task.outputs[0]) ? 'correct' : 'wrong';
    }
    case 'induction': {
      const program = answerProgram(answer);
      for (let i = shownPairs(task); i < task.inputs.length; i++) {
        const result = runner.run(program, task.inputs[i]);
        if (!result.ok || !sameValue(result.value, task.outputs[i])) return 'wrong';
      }
      return 'correct';
    }
  }
}
