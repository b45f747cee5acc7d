import type { Rng } from '../../src/core/index.ts';

/** A task's integer parameters, by name. */
export type TaskParams = Readonly<Record<string, number>>;

export interface ParamSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** What it controls, for the creator's prompt. */
  readonly meaning: string;
}

/** One rendered task: the prompt a solver reads and the canonical answer the reward compares with. */
export interface RenderedTask {
  readonly prompt: string;
  readonly truth: string;
}

/**
 * A parameterised family of tasks with a programmatic reward: the creator
 * chooses the parameters, the environment renders a task from them.
 */
export interface TaskFamily {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** The parameters of the initial pool's entry: mid-level. */
  readonly start: TaskParams;
  /** A task for in-bounds parameters; all its randomness from `rng`. */
  render(params: TaskParams, rng: Rng): RenderedTask;
  /** The reward of an answer in [0, 1]: 1 right, partial credit where natural, 0 for unreadable. */
  score(answer: string, truth: string): number;
  /** A child's parameters: one random mutation operator, within bounds. */
  mutate(params: TaskParams, rng: Rng): TaskParams;
  /** How hard the parameters make a task, in [0, 1] (the scripted solver's error rate). */
  difficulty(params: TaskParams): number;
  /** The true answer and the task's parameters read back from a rendered prompt, or null when it is not this family's. */
  solveFromText(prompt: string): { answer: string; params: TaskParams } | null;
  /** A plausible wrong answer (a wrong digit, a swapped pair, off by one), for the scripted solver. */
  corrupt(answer: string, rng: Rng): string;
}

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/** Every parameter of the family, within its bounds: missing ones from `fallback`, out-of-range ones clamped. */
export function clampParams(specs: readonly ParamSpec[], params: TaskParams, fallback: TaskParams): TaskParams {
  return Object.fromEntries(specs.map((s) => [s.name, clamp(Math.round(params[s.name] ?? fallback[s.name] ?? s.min), s.min, s.max)]));
}

export const withinBounds = (specs: readonly ParamSpec[], params: TaskParams): boolean =>
  specs.every((s) => Number.isInteger(params[s.name]) && params[s.name] >= s.min && params[s.name] <= s.max) && Object.keys(params).length === specs.length;

/** A mutation operator: a new value for one parameter. */
type Operator = (value: number, spec: ParamSpec, rng: Rng) => number;

/** The mutation operators, by name: step up or down, jump a quarter of the range, or resample uniformly. */
export const MUTATIONS: Readonly<Record<string, Operator>> = {
  'step-up': (v) => v + 1,
  'step-down': (v) => v - 1,
  jump: (v, s, rng) => v + (rng.next() < 0.5 ? -1 : 1) * Math.max(2, Math.round((s.max - s.min) / 4)),
  resample: (_v, s, rng) => s.min + rng.int(s.max - s.min + 1),
};

const OPERATORS = Object.keys(MUTATIONS);

/** Applies one random operator to one random parameter, clamped to its bounds. */
export function mutateParams(specs: readonly ParamSpec[], params: TaskParams, rng: Rng): TaskParams {
  const spec = rng.pick(specs);
  const op = MUTATIONS[rng.pick(OPERATORS)];
  const base = clampParams(specs, params, params);
  return { ...base, [spec.name]: clamp(op(base[spec.name], spec, rng), spec.min, spec.max) };
}

/** How far a parameter is along its range, in [0, 1]. */
export const fraction = (params: TaskParams, spec: ParamSpec): number => (spec.max === spec.min ? 0 : (params[spec.name] - spec.min) / (spec.max - spec.min));

/** A uniform integer in [lo, hi]. */
export const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

/** An integer with exactly `digits` digits (0 to 9 when one digit). */
export const withDigits = (rng: Rng, digits: number): number => (digits <= 1 ? rng.int(10) : between(rng, 10 ** (digits - 1), 10 ** digits - 1));

/**
 * A whole number read from an answer: spaces, thousands separators (`,` `_`),
 * a leading `=`, `$` signs and a final period are ignored; anything else is unreadable (null).
 */
export function readInteger(answer: string): number | null {
  const text = answer
    .trim()
    .replace(/^=\s*/, '')
    .replace(/\$/g, '')
    .replace(/\.$/, '')
    .replace(/(\d)[,_\s](?=\d)/g, '$1')
    .trim();
  if (!/^-?\d{1,16}$/.test(text)) return null;
  return Number(text);
}

/** The answer with one digit changed (never the leading digit to 0). */
export function wrongDigit(answer: string, rng: Rng): string {
  const positions = [...answer].flatMap((c, i) => (/\d/.test(c) ? [i] : []));
  if (positions.length === 0) return `${answer}1`;
  const at = rng.pick(positions);
  const leading = at === positions[0] && positions.length > 1;
  const old = Number(answer[at]);
  const choices = Array.from({ length: 10 }, (_, d) => d).filter((d) => d !== old && !(leading && d === 0));
  return answer.slice(0, at) + String(rng.pick(choices)) + answer.slice(at + 1);
}

/** The answer off by one, up or down (never below 0). */
export function offByOne(answer: string, rng: Rng): string {
  const n = readInteger(answer);
  if (n === null) return `${answer}1`;
  return String(n === 0 || rng.next() < 0.5 ? n + 1 : n - 1);
}
