import { ParseError } from '../../src/core/index.ts';
import type { ChatMessage } from '../llm/chat.ts';
import { compileTemplate } from '../llm/template.ts';

export type RoleName = 'solver' | 'critic' | 'teacher' | 'proposer' | 'sneaky-generator' | 'creator' | 'conjecturer' | 'prover' | 'helpful-prover' | 'answerer' | 'reasoner';

/** A role's prompt text; `{name}` placeholders are filled from the role's input. */
export interface RoleTemplates {
  readonly system?: string;
  readonly user: string;
}

/** Template overrides by role name; a role not named keeps its own prompt. */
export type RolePrompts = Readonly<Partial<Record<RoleName, Partial<RoleTemplates>>>>;

/**
 * A role: how to ask for its output and how to read it. Environments call
 * `prompt(input)` for the messages, hand them to whatever fills the role (a
 * model or a scripted function), and `parse(text)` the reply.
 */
export interface Role<I, O> {
  readonly name: RoleName;
  /** The placeholders its templates may use. */
  readonly placeholders: readonly string[];
  prompt(input: I): ChatMessage[];
  /** The typed output; throws ParseError saying what was wrong and what was expected, and nothing else. */
  parse(text: string): O;
}

export interface RoleSpec<I, O, K extends string> {
  readonly name: RoleName;
  readonly placeholders: readonly K[];
  readonly templates: RoleTemplates;
  /** The placeholders' text for an input. */
  vars(input: I): Record<K, string>;
  parse(text: string): O;
}

/** A role factory: `critic()` has the default prompt, `critic({user: '...'})` another (checked when it is made). */
export function defineRole<I, O, K extends string>(spec: RoleSpec<I, O, K>): (overrides?: Partial<RoleTemplates>) => Role<I, O> {
  return (overrides = {}) => {
    const text = { ...spec.templates, ...overrides };
    const user = compileTemplate(text.user, spec.placeholders, `${spec.name} user prompt`);
    const system = text.system === undefined ? undefined : compileTemplate(text.system, spec.placeholders, `${spec.name} system prompt`);
    return {
      name: spec.name,
      placeholders: spec.placeholders,
      prompt: (input) => {
        const vars = spec.vars(input);
        return system ? [{ role: 'system', content: system(vars) }, { role: 'user', content: user(vars) }] : [{ role: 'user', content: user(vars) }];
      },
      parse: spec.parse,
    };
  };
}

/** What fills a role: a reply to the messages, as text or with model data for the record. */
export interface RoleReply {
  readonly text: string;
  readonly meta?: Record<string, unknown>;
}
export type Responder = (messages: readonly ChatMessage[]) => string | RoleReply | Promise<string | RoleReply>;

/** One exchange with a role: what was asked, what came back, and the parsed output or why it could not be read. */
export type RoleAnswer<O> = { readonly messages: ChatMessage[]; readonly text: string; readonly meta?: Record<string, unknown> } & (
  | { readonly ok: true; readonly value: O }
  | { readonly ok: false; readonly error: ParseError }
);

/**
 * Asks `responder` to play `role` on `input`. A reply that does not parse is
 * an answer with `ok: false` (environments score format errors); a responder
 * that fails rejects.
 */
export async function ask<I, O>(role: Role<I, O>, responder: Responder, input: I): Promise<RoleAnswer<O>> {
  const messages = role.prompt(input);
  const reply = await responder(messages);
  const { text, meta } = typeof reply === 'string' ? { text: reply, meta: undefined } : reply;
  const base = { messages, text, ...(meta ? { meta } : {}) };
  try {
    return { ...base, ok: true, value: role.parse(text) };
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { ...base, ok: false, error };
  }
}
