import { ConfigError, parseSpec, type Game } from '../src/core/index.ts';
import type { Player } from '../src/runtime/agent.ts';
import { humanAgent } from './human.ts';
import { createLlmPlayer } from './llm/spec.ts';
import { mctsAgent, parseMctsOptions } from './mcts.ts';
import { randomAgent } from './random.ts';
import { parseTabularOptions, readPolicyFile, tabularAgent } from './tabular.ts';

/** Builds an agent for a game from a spec's options (strings from the command line). */
export type AgentFactory = (options: Readonly<Record<string, string>>, game: Game) => Omit<Player, 'name'>;

const noOptions = (kind: string, options: Readonly<Record<string, string>>) => {
  const extra = Object.keys(options);
  if (extra.length) throw new ConfigError(`agent ${kind} takes no options (got ${extra.join(', ')})`);
};

/** Agent kinds by name. Adding one is a file in agents/ and a line here. */
export const agentKinds: Readonly<Record<string, { description: string; create: AgentFactory }>> = {
  random: {
    description: 'a uniformly random legal action',
    create: (options) => {
      noOptions('random', options);
      return { agent: randomAgent() };
    },
  },
  mcts: {
    description: 'UCT Monte Carlo tree search with random rollouts, perfect-information games (iterations=1000, c=1.414)',
    create: (options, game) => ({ agent: mctsAgent(game, parseMctsOptions(options)) }),
  },
  tabular: {
    description: 'samples a tabular policy file, uniform where it has no entry (policy=path.json)',
    create: (options, game) => ({ agent: tabularAgent(readPolicyFile(parseTabularOptions(options).policy, game)) }),
  },
  llm: {
    description: 'a language model behind an OpenAI-compatible server (model=NAME, base=URL, temperature, max_tokens, n, timeout_ms, retries, concurrency...; OPENAI_BASE_URL, OPENAI_API_KEY)',
    create: (options) => createLlmPlayer(options),
  },
  human: {
    description: 'a person at the terminal, typing moves on standard input',
    create: (options) => {
      noOptions('human', options);
      return { agent: humanAgent() };
    },
  },
};

/** A player from a spec such as `random` or `mcts:iterations=500`; the spec becomes its name. */
export function createPlayer(spec: string, game: Game): Player {
  const { kind, options } = parseSpec(spec);
  const entry = agentKinds[kind];
  if (!entry) throw new ConfigError(`unknown agent "${kind}"; agents: ${Object.keys(agentKinds).join(', ')}`);
  return { name: spec, ...entry.create(options, game) };
}
