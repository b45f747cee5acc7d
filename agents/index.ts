import { ConfigError, parseSpec, type Game } from '../src/core/index.ts';
import type { Player } from '../src/runtime/agent.ts';
import { randomAgent } from './random.ts';

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
};

/** A player from a spec such as `random` or `mcts:iterations=500`; the spec becomes its name. */
export function createPlayer(spec: string, game: Game): Player {
  const { kind, options } = parseSpec(spec);
  const entry = agentKinds[kind];
  if (!entry) throw new ConfigError(`unknown agent "${kind}"; agents: ${Object.keys(agentKinds).join(', ')}`);
  return { name: spec, ...entry.create(options, game) };
}
