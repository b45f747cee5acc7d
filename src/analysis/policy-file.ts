import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError, parsePolicyFile, policyFile, type Game, type PolicyFile, type TabularPolicy } from '../core/index.ts';

// The file format lives in src/core so that agents read policy files without the algorithms.
export { parsePolicyFile, POLICY_FORMAT, policyFile, type PolicyFile } from '../core/index.ts';

/** Writes `policy` for `game` to `path` as a policy file, validating it first. */
export async function savePolicy(path: string, game: Game, policy: TabularPolicy, meta?: Record<string, unknown>): Promise<void> {
  const file = parsePolicyFile(game, policyFile(game, policy, meta), 'the policy to save');
  await writeFile(path, `${JSON.stringify(file, null, 1)}\n`);
}

/** Reads and validates a policy file for `game` (see `parsePolicyFile`). */
export async function loadPolicy(path: string, game: Game): Promise<PolicyFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicyFile(game, data, `policy file ${path}`);
}
