import { policyAgent, type Agent } from '../../src/runtime/agent.ts';
import { fitMeta } from '../llm/meta.ts';
import { ask, type Responder, type Role } from './role.ts';

/**
 * An agent that fills `role` in an environment: the turn's observation is the
 * role's input, the reply is the role's output as JSON, or
 * `{"malformed": why}` when the responder's text could not be read (the
 * environment scores that as badly formatted). Model data goes in the step's meta.
 */
export function roleAgent<I, O>(role: Role<I, O>, responder: Responder): Agent {
  return policyAgent(async (turn) => {
    const answer = await ask(role, responder, turn.view.observation as I);
    const output = answer.ok ? answer.value : { malformed: answer.error.message };
    return { action: JSON.stringify(output), ...(answer.meta ? { meta: fitMeta(answer.meta) } : {}) };
  });
}
