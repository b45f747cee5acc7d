import { policyAgent, type Player } from '../runtime/agent.ts';
import type { TabularSoftmax } from './tabular-softmax.ts';

/**
 * The learner as a player in an arena: it samples the learner's current
 * policy (whatever version is live when it moves), and episodes record the
 * learner's policy id and version, which the trainer checks for staleness.
 */
export function learnerPlayer(learner: TabularSoftmax, policyId: string, name = 'learner'): Player {
  const agent = policyAgent((turn, { rng }) => {
    const slots = turn.legal.map((text) => learner.slot(turn.view.infoKey, text));
    const weights = slots.map((s) => learner.probabilities[s]);
    return turn.legal[rng.weighted(weights)];
  });
  return {
    name,
    agent,
    get policy() {
      return { id: policyId, version: learner.version };
    },
  };
}
