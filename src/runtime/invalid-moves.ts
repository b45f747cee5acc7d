import { ConfigError, parseSpec } from '../core/index.ts';

/**
 * What happens when a seat's reply is not a legal action: it may try again
 * `retries` times (with the error as feedback); after that it forfeits, taking
 * `offender` while every other seat takes `others`. A timeout forfeits at once.
 */
export interface InvalidMovePolicy {
  readonly name: string;
  readonly retries: number;
  readonly offender: number;
  readonly others: number;
}

export const INVALID_MOVE_PRESETS: Readonly<Record<string, InvalidMovePolicy>> = {
  /** SPIRAL's training rule: the first invalid move ends the game, -1.5 to the offender, +0.5 to the other. */
  'spiral-train': { name: 'spiral-train', retries: 0, offender: -1.5, others: 0.5 },
  /** SPIRAL's evaluation rule: the first invalid move loses. */
  eval: { name: 'eval', retries: 0, offender: -1, others: 1 },
  /** TextArena: one warning and a retry, then the second invalid move loses. */
  textarena: { name: 'textarena', retries: 1, offender: -1, others: 1 },
};

const number = (text: string, what: string, integer: boolean) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && (!Number.isInteger(n) || n < 0))) {
    throw new ConfigError(`invalid-move policy: ${what} must be ${integer ? 'a whole number >= 0' : 'a number'}, got "${text}"`);
  }
  return n;
};

/**
 * A policy from its name: `spiral-train`, `eval`, `textarena`, `retry:N` (N
 * retries, then -1/+1), or `custom:retries=1,offender=-2,others=1`.
 */
export function parseInvalidMovePolicy(spec: string): InvalidMovePolicy {
  const preset = INVALID_MOVE_PRESETS[spec];
  if (preset) return preset;
  if (/^retry:/.test(spec)) {
    const retries = number(spec.slice('retry:'.length), 'the number of retries', true);
    return { name: spec, retries, offender: -1, others: 1 };
  }
  const { kind, options } = parseSpec(spec);
  if (kind === 'custom') {
    const unknown = Object.keys(options).filter((k) => !['retries', 'offender', 'others'].includes(k));
    if (unknown.length) throw new ConfigError(`invalid-move policy: unknown option ${unknown.join(', ')}; custom takes retries, offender, others`);
    return {
      name: spec,
      retries: options.retries === undefined ? 0 : number(options.retries, 'retries', true),
      offender: options.offender === undefined ? -1 : number(options.offender, 'offender', false),
      others: options.others === undefined ? 1 : number(options.others, 'others', false),
    };
  }
  throw new ConfigError(`unknown invalid-move policy "${spec}"; use ${Object.keys(INVALID_MOVE_PRESETS).join(', ')}, retry:N or custom:retries=R,offender=X,others=Y`);
}
