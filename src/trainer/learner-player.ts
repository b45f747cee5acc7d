import { policyAgent, type Player } from '../runtime/agent.ts';
import type { LocalPolicyBackend } from './backend.ts';

/**
 * The learner as a player in an arena: it samples the learner's current
 * policy (whatever version is live when it moves), and episodes record the
 * learner's policy id and version, which the trainer checks for staleness.
 */
export function learnerPlayer(learner: LocalPolicyBackend, policyId: string, name = 'learner'): Player {
  const agent = policyAgent(async (turn, { rng }) => {
    const choice = await learner.act({ infoKey: turn.view.infoKey, legal: turn.legal }, rng);
    return { action: choice.action, meta: { probability: choice.probability, version: choice.version } };
  });
  return {
    name,
    agent,
    get policy() {
      return { id: policyId, version: learner.version };
    },
  };
}
