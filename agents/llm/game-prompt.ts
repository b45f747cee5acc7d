import type { StartMessage, TurnMessage } from '../../src/runtime/messages.ts';
import type { ChatMessage } from './chat.ts';
import { compileTemplate, type Template } from './template.ts';
import { validActionsLine } from './valid-actions.ts';

/** What a game prompt may say: `{valid_actions}` is the whole `Valid actions: [a], [b]` line. */
export const GAME_PROMPT_PLACEHOLDERS = ['game', 'seat', 'rules', 'observation', 'valid_actions', 'error', 'reply'] as const;
export type GamePromptVar = (typeof GAME_PROMPT_PLACEHOLDERS)[number];

/**
 * The text of a game prompt: an optional system message, the turn's user
 * message, and the user message that follows an invalid reply (the previous
 * reply is sent back as the assistant's message between them).
 */
export interface GamePromptText {
  readonly system?: string;
  readonly user: string;
  readonly retry: string;
}

/** Prompts by game id; `default` (or the built-in prompt) covers the rest. Missing fields come from the default. */
export type GamePrompts = Readonly<Record<string, Partial<GamePromptText>>>;

const FINAL_ANSWER = 'Please reason step by step, and put your final answer within \\boxed{}.';

/** SPIRAL's game prompt: the rules and observation, the legal actions, reason step by step, answer in \boxed{}. */
export const SPIRAL_GAME_PROMPT: GamePromptText = {
  user: `You are playing a game. Make valid actions to win.\n{rules}\n\nObservation:\n{observation}\n\n{valid_actions}\n${FINAL_ANSWER}`,
  retry: `Your answer was not accepted: {error}\n{valid_actions}\n${FINAL_ANSWER}`,
};

/**
 * For a small model trained from scratch (the policy host's byte model): the
 * observation and the legal moves, nothing else. `prompt=compact` in an llm spec.
 */
export const COMPACT_GAME_PROMPTS: GamePrompts = { default: { user: '{observation}\n{valid_actions}', retry: '{error}\n{valid_actions}' } };

interface CompiledPrompt {
  readonly system?: Template<GamePromptVar>;
  readonly user: Template<GamePromptVar>;
  readonly retry: Template<GamePromptVar>;
}

/** Turns' chat messages, by game; every template is compiled (and checked) when this is built. */
export class GamePrompter {
  private readonly byGame = new Map<string, CompiledPrompt>();
  private readonly fallback: CompiledPrompt;

  constructor(prompts: GamePrompts = {}) {
    const base = { ...SPIRAL_GAME_PROMPT, ...prompts.default };
    this.fallback = compile(base, 'default');
    for (const [game, text] of Object.entries(prompts)) {
      if (game !== 'default') this.byGame.set(game, compile({ ...base, ...text }, game));
    }
  }

  /** The messages for a turn; after an invalid reply: the prompt, that reply, and the retry prompt with the error. */
  messages(start: Pick<StartMessage, 'game' | 'seat' | 'rules'>, turn: Pick<TurnMessage, 'observation' | 'legal' | 'retry'>): ChatMessage[] {
    const prompt = this.byGame.get(start.game) ?? this.fallback;
    const vars: Record<GamePromptVar, string> = {
      game: start.game,
      seat: String(start.seat),
      rules: start.rules,
      observation: turn.observation,
      valid_actions: validActionsLine(turn.legal),
      error: turn.retry?.error ?? '',
      reply: turn.retry?.reply ?? '',
    };
    const messages: ChatMessage[] = [];
    if (prompt.system) messages.push({ role: 'system', content: prompt.system(vars) });
    messages.push({ role: 'user', content: prompt.user(vars) });
    if (turn.retry) {
      messages.push({ role: 'assistant', content: turn.retry.reply });
      messages.push({ role: 'user', content: prompt.retry(vars) });
    }
    return messages;
  }
}

function compile(text: GamePromptText, game: string): CompiledPrompt {
  const template = (part: keyof GamePromptText, source: string) => compileTemplate(source, GAME_PROMPT_PLACEHOLDERS, `${part} prompt for ${game}`);
  return {
    ...(text.system === undefined ? {} : { system: template('system', text.system) }),
    user: template('user', text.user),
    retry: template('retry', text.retry),
  };
}
