import { ConfigError, parseSpec, type Environment, type ScriptedRole } from '../src/core/index.ts';
import { policyAgent, type Agent, type Player } from '../src/runtime/agent.ts';
import { llmClientFor } from './llm/spec.ts';
import { roleAgent } from './roles/agent.ts';
import { roles } from './roles/registry.ts';
import type { Role } from './roles/role.ts';
import { modelResponder } from './roles/responder.ts';

/** An agent that answers every turn with a scripted role's output, as JSON. */
export function scriptedAgent(script: ScriptedRole): Agent {
  return policyAgent((turn, context) => JSON.stringify(script(turn.view.observation, context.rng)));
}

/** llm options for game turns that a role agent would silently ignore. */
const ROLE_UNUSED_LLM_OPTIONS = ['prompt', 'guided_choice', 'n'];

const isRoleName = (name: string): name is keyof typeof roles => Object.prototype.hasOwnProperty.call(roles, name);

/** The player of one role from a spec: `scripted` (the environment's own), or `llm:model=...` (a model with the role's default prompt). */
function rolePlayer(environment: Environment, role: string, spec: string): Player {
  const { kind, options } = parseSpec(spec);
  if (kind === 'scripted') {
    if (Object.keys(options).length) throw new ConfigError(`scripted takes no options (got ${Object.keys(options).join(', ')})`);
    const script = environment.scripted[role];
    if (!script) throw new ConfigError(`${environment.id} has no scripted ${role}`);
    return { name: `scripted-${role}`, agent: scriptedAgent(script) };
  }
  if (kind === 'llm') {
    const unused = ROLE_UNUSED_LLM_OPTIONS.filter((key) => key in options);
    if (unused.length) throw new ConfigError(`llm for the ${role}: ${unused.join(', ')} ${unused.length === 1 ? 'has' : 'have'} no effect in a role (it uses the role's prompt, one sample, and no legal-move list); leave ${unused.length === 1 ? 'it' : 'them'} out`);
    if (!isRoleName(role)) throw new ConfigError(`no prompt is defined for the role "${role}"; roles with prompts: ${Object.keys(roles).join(', ')}`);
    const { client } = llmClientFor(options);
    return { name: spec, agent: roleAgent<unknown, unknown>(roles[role]() as Role<unknown, unknown>, modelResponder(client)), policy: { id: client.options.baseURL, version: client.options.model } };
  }
  throw new ConfigError(`unknown agent "${kind}" for the ${role}; in environments a role is played by: scripted, llm:model=NAME,...`);
}

/** One player per role of the environment: the spec given for it, else its scripted agent. */
export function environmentPlayers(environment: Environment, specs: Readonly<Record<string, string>> = {}): Record<string, Player> {
  const wanted = [...new Set(environment.roles)];
  const unknown = Object.keys(specs).filter((role) => !wanted.includes(role));
  if (unknown.length) throw new ConfigError(`${environment.id} has no role ${unknown.map((r) => `"${r}"`).join(', ')}; its roles: ${wanted.join(', ')}`);
  return Object.fromEntries(wanted.map((role) => [role, rolePlayer(environment, role, specs[role] ?? 'scripted')]));
}
