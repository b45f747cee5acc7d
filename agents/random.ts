import { policyAgent, type Agent } from '../src/runtime/agent.ts';

/** Plays a uniformly random legal action, drawn from the agent's seeded generator. */
export function randomAgent(): Agent {
  return policyAgent((turn, { rng }) => turn.legal[rng.int(turn.legal.length)]);
}
