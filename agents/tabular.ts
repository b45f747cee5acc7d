import { readFileSync } from 'node:fs';
import { ConfigError, parsePolicyFile, readProbabilities, type Game, type TabularPolicy } from '../src/core/index.ts';
import { policyAgent, type Agent } from '../src/runtime/agent.ts';

/**
 * Plays a tabular policy: looks up the turn's information-state key and draws
 * one of the legal action texts by the policy's probabilities with the agent's
 * seeded generator. Information states the policy does not list are played
 * uniformly, as the analysis code evaluates them.
 */
export function tabularAgent(policy: TabularPolicy): Agent {
  return policyAgent((turn, { rng }) => {
    const probabilities = new Array<number>(turn.legal.length);
    readProbabilities(policy, turn.view.infoKey, turn.legal, probabilities, 0);
    return turn.legal[rng.weighted(probabilities)];
  });
}

/**
 * Reads and validates a policy file for `game` synchronously, so that a bad
 * path or a policy for another game fails when the agent is created, naming the file.
 */
export function readPolicyFile(path: string, game: Game): TabularPolicy {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicyFile(game, data, `policy file ${path}`).policy;
}

/** The policy file path from a spec's options (`tabular:policy=path.json`). */
export function parseTabularOptions(options: Readonly<Record<string, string>>): { policy: string } {
  for (const key of Object.keys(options)) {
    if (key !== 'policy') throw new ConfigError(`tabular: unknown option "${key}"; expected tabular:policy=path.json`);
  }
  if (!options.policy) throw new ConfigError('tabular needs a policy file: tabular:policy=path.json');
  return { policy: options.policy };
}
