import { catchError, of, tap, throwError } from 'rxjs';
import { candidateText, normalizeActionText } from '../../src/core/index.ts';
import { policyAgent, type Agent, type Policy } from '../../src/runtime/agent.ts';
import { LIMITS, PROTOCOL_VERSION, type FromAgent } from '../../src/runtime/messages.ts';
import type { LlmClient } from './llm-client.ts';
import type { ModelSample } from './completion.ts';
import { LlmError } from './errors.ts';
import { GamePrompter, type GamePrompts } from './game-prompt.ts';
import { fitMeta, turnMeta } from './meta.ts';

/** What the agent asks: an LlmClient, or anything that completes as one does (a TinkerSampler). */
export type Completer = Pick<LlmClient, 'complete'> & { readonly options: { readonly guidedChoice: boolean } };

export interface LlmAgentOptions {
  readonly client: Completer;
  /** Prompt text by game id (`default` for the rest); SPIRAL's prompt when absent. */
  readonly prompts?: GamePrompts;
}

/**
 * Which of n samples to play: the first whose answer names a legal action the
 * way the default parser reads it (the last \boxed{} or [...]), else the first
 * sample, which the referee then rejects with the game's own error.
 */
export function chooseSample(samples: readonly ModelSample[], legal: readonly string[]): { chosen: number; valid: boolean[] } {
  const legalSet = new Set(legal.map(normalizeActionText));
  const valid = samples.map((s) => legalSet.has(normalizeActionText(candidateText(s.text))));
  const first = valid.indexOf(true);
  return { chosen: first < 0 ? 0 : first, valid };
}

/** The completion as an action message's text: the answer comes last, so a reply over the size limit keeps its end. */
const actionText = (text: string) => (text.length > LIMITS.text ? text.slice(text.length - LIMITS.text) : text);

/** The referee waits `timeoutMs`; the agent stops trying a little earlier, so a failure arrives as an error, not a timeout. */
const deadlineOf = (timeoutMs: number) => performance.now() + timeoutMs - Math.min(1000, timeoutMs / 10);

/**
 * A policy that asks a language model: the game prompt (with the error and
 * the previous reply on a retry), the model's completion as the action, and
 * everything about the call in the step's meta.
 */
export function llmPolicy({ client, prompts }: LlmAgentOptions): Policy {
  const prompter = new GamePrompter(prompts);
  return async (turn, { start }) => {
    const messages = prompter.messages(start, turn);
    const guided = client.options.guidedChoice && turn.legal.length > 0 ? { guidedChoice: turn.legal } : {};
    const completion = await client.complete(messages, { deadline: deadlineOf(turn.timeoutMs), ...guided });
    if (completion.samples.length === 1) {
      return { action: actionText(completion.samples[0].text), meta: fitMeta(turnMeta(messages, completion, 0)) };
    }
    const { chosen, valid } = chooseSample(completion.samples, turn.legal);
    return { action: actionText(completion.samples[chosen].text), meta: fitMeta(turnMeta(messages, completion, chosen, valid)) };
  };
}

/**
 * A language-model agent. When the model cannot be reached or keeps failing
 * it sends an `error` message with the reason, which ends the match with
 * outcome `error`; any other failure is a crash, which the referee scores as a forfeit.
 */
export function llmAgent(options: LlmAgentOptions): Agent {
  const agent = policyAgent(llmPolicy(options));
  return (inbox) => {
    let matchId: string | undefined;
    const seen = inbox.pipe(
      tap((message) => {
        if (message.type === 'start') matchId = message.matchId;
      }),
    );
    return agent(seen).pipe(
      catchError((error: unknown) => {
        if (!(error instanceof LlmError)) return throwError(() => error);
        const reply: FromAgent = { type: 'error', v: PROTOCOL_VERSION, ...(matchId ? { matchId } : {}), message: error.message.slice(0, LIMITS.text), code: error.code };
        return of(reply);
      }),
    );
  };
}
