import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../src/core/index.ts';
import type { Player } from '../../src/runtime/agent.ts';
import { llmAgent } from './agent.ts';
import { LlmClient } from './llm-client.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from './game-prompt.ts';
import { parseLlmSpec } from './options.ts';

const promptFile = z.record(z.string(), z.object({ system: z.string().optional(), user: z.string().optional(), retry: z.string().optional() }).strict());

/** Reads a prompt file: `{"default": {"user": "...", "retry": "..."}, "kuhn-poker": {"system": "..."}}`. */
export function readPromptFile(path: string): GamePrompts {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`llm: cannot read prompt file ${path}: ${(error as Error).message}`);
  }
  const parsed = promptFile.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(`llm: prompt file ${path} should map game ids (or "default") to {system?, user?, retry?} strings: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
  }
  return parsed.data;
}

/** One client per distinct configuration, so that seats with the same spec share it. */
const clients = new Map<string, LlmClient>();

/** The client for an `llm:...` spec's options (shared by every seat with the same options) and the prompt file it names. */
export function llmClientFor(raw: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): { client: LlmClient; promptFile?: string } {
  const { options, promptFile } = parseLlmSpec(raw, env);
  const key = JSON.stringify(options);
  let client = clients.get(key);
  if (!client) {
    client = new LlmClient(options);
    clients.set(key, client);
  }
  return { client, ...(promptFile === undefined ? {} : { promptFile }) };
}

/** A player from an `llm:model=NAME,base=URL,...` spec's options; the base URL and key default to OPENAI_BASE_URL and OPENAI_API_KEY. */
export function createLlmPlayer(raw: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): Omit<Player, 'name'> {
  const { client, promptFile: file } = llmClientFor(raw, env);
  return {
    agent: llmAgent({ client, ...(file === undefined ? {} : { prompts: file === 'compact' ? COMPACT_GAME_PROMPTS : readPromptFile(file) }) }),
    policy: { id: client.options.baseURL, version: client.options.model },
  };
}
