import { cfr, evaluatePolicy, expectedReturns, uniformPolicy, type PolicyEvaluation } from '../analysis/index.ts';
import { walkTree, type Game, type TabularPolicy } from '../core/index.ts';
import type { ChoiceItem, ChoiceScoring, PolicyHostClient } from '../../agents/hosted/host-client.ts';
import { GamePrompter, type GamePrompts } from '../../agents/llm/game-prompt.ts';

export interface ModelPolicyOptions {
  /** The host that serves the model (its /v1/choice_probabilities). */
  readonly host: PolicyHostClient;
  /** The model as agents name it: `<policy>` (the newest version) or `<policy>@<version>`. */
  readonly model: string;
  /** The prompts the model plays with (those of `llm:...,prompt=compact` for the reference host's byte model). */
  readonly prompts?: GamePrompts;
  /** The sampling temperature it plays at (default 1). */
  readonly temperature?: number;
  /** How choices are scored (default: the host's). */
  readonly scoring?: ChoiceScoring;
  /** Prompts per request (default 512). */
  readonly batch?: number;
}

export interface ModelPolicy {
  /** The probability the model gives each legal action at each information state. */
  readonly policy: TabularPolicy;
  /** The exact version that was scored. */
  readonly model: string;
  /** The seat to move at each information state. */
  readonly seats: Readonly<Record<string, number>>;
  readonly informationStates: number;
  /** Distinct prompts (with their moves) the host scored: fewer than the states where several read the same. */
  readonly prompts: number;
}

/** One state per information state of the seat to move: the states of an information state show the seat the same text. */
export function informationStates(game: Game): Map<string, { state: unknown; seat: number }> {
  const found = new Map<string, { state: unknown; seat: number }>();
  walkTree(game, (state, turn) => {
    if (typeof turn !== 'number') return;
    const key = game.infoKey(state, turn);
    if (!found.has(key)) found.set(key, { state, seat: turn });
  });
  return found;
}

/** What the model is asked at a state: the `llm` agent's messages to the seat to move, and its legal moves as the choices. */
export function choiceItem(game: Game, prompter: GamePrompter, state: unknown, seat: number): ChoiceItem {
  const choices = game.legalActions(state).map((action) => game.actionText(state, action));
  return { messages: prompter.messages({ game: game.id, seat, rules: game.rules(seat) }, { observation: game.observationText(state, seat), legal: choices }), choices };
}

/**
 * A language model's policy as a tabular one: at every information state,
 * the probability that the model, prompted as an `llm` agent with
 * `guided_choice` prompts it, picks each legal action at the sampling
 * temperature. Exact, not sampled: the host returns the distribution itself,
 * so `src/analysis` gives the model's exact exploitability. States that
 * read the same (a perfect-information game's transpositions: one board,
 * reached by several move orders) are asked once.
 */
export async function modelPolicy(game: Game, options: ModelPolicyOptions): Promise<ModelPolicy> {
  const prompter = new GamePrompter(options.prompts);
  const states = [...informationStates(game)];
  const { items, itemOf } = distinctItems(states.map(([, { state, seat }]) => choiceItem(game, prompter, state, seat)));
  const probabilities: number[][] = [];
  const batch = options.batch ?? 512;
  let model = options.model;
  for (let first = 0; first < items.length; first += batch) {
    const scored = await options.host.choiceProbabilities(model, items.slice(first, first + batch), { temperature: options.temperature, scoring: options.scoring });
    // Every later batch asks for the version the first was scored with, though a newer one may be published meanwhile.
    model = scored.model;
    probabilities.push(...scored.probabilities);
  }
  const policy: Record<string, Record<string, number>> = {};
  const seats: Record<string, number> = {};
  states.forEach(([key, { seat }], i) => {
    const { choices } = items[itemOf[i]];
    policy[key] = Object.fromEntries(choices.map((text, k) => [text, probabilities[itemOf[i]][k]]));
    seats[key] = seat;
  });
  return { policy, model, seats, informationStates: states.length, prompts: items.length };
}

/** The distinct items (the same messages and choices), and for each given item the index of its distinct one. */
export function distinctItems(given: readonly ChoiceItem[]): { items: ChoiceItem[]; itemOf: number[] } {
  const index = new Map<string, number>();
  const items: ChoiceItem[] = [];
  const itemOf = given.map((item) => {
    const text = JSON.stringify(item);
    let at = index.get(text);
    if (at === undefined) {
      at = items.length;
      index.set(text, at);
      items.push(item);
    }
    return at;
  });
  return { items, itemOf };
}

/** `policy` at the information states of `seat`, `others` at everyone else's: the policy of a match between them. */
export function seatAgainst(model: ModelPolicy, seat: number, others: TabularPolicy): TabularPolicy {
  const mixed: Record<string, Readonly<Record<string, number>>> = { ...others };
  for (const [key, owner] of Object.entries(model.seats)) if (owner === seat) mixed[key] = model.policy[key];
  return mixed;
}

/** How a model's exact policy fares: against a best response, and its expected return against reference policies. */
export interface ModelEvaluation extends PolicyEvaluation {
  readonly model: string;
  readonly informationStates: number;
  readonly prompts: number;
  /** Per reference policy, the model's expected return in each seat against it, and their mean. */
  readonly against: readonly { readonly opponent: string; readonly bySeat: readonly number[]; readonly mean: number }[];
  readonly policy: TabularPolicy;
}

/** A near-equilibrium reference: CFR+ until its exploitability is 1e-3 (or 2,000 iterations). */
const CFR_REFERENCE = { iterations: 2_000, plus: true, targetExploitability: 1e-3, evaluateEvery: 50 } as const;

/** The exact exploitability of a model's sampling policy, and its expected returns against uniform play and CFR+. */
export async function evaluateModel(game: Game, options: ModelPolicyOptions): Promise<ModelEvaluation> {
  const scored = await modelPolicy(game, options);
  const references: [string, TabularPolicy][] = [
    ['uniform', uniformPolicy(game)],
    ['cfr+', cfr(game, CFR_REFERENCE).averagePolicy],
  ];
  const against = references.map(([opponent, reference]) => {
    const bySeat = Array.from({ length: game.seats }, (_, seat) => expectedReturns(game, seatAgainst(scored, seat, reference))[seat]);
    return { opponent, bySeat, mean: bySeat.reduce((a, b) => a + b, 0) / bySeat.length };
  });
  return { ...evaluatePolicy(game, scored.policy), model: scored.model, informationStates: scored.informationStates, prompts: scored.prompts, against, policy: scored.policy };
}
