import { resolve } from 'node:path';
import { startPolicyHost, type PolicyHostProcess } from '../../agents/hosted/index.ts';
import type { RunFolder } from '../trainer/run-folder.ts';
import type { CliIO } from './output.ts';

/**
 * The reference policy host for a train-llm run, started here unless the run
 * names one (`--host`): serving `policy`, its checkpoints in the run folder.
 */
export async function startRunHost(options: { readonly host?: string; readonly python: string; readonly hostArg: readonly string[] }, policy: string, folder: RunFolder, io: CliIO): Promise<PolicyHostProcess | undefined> {
  if (options.host) return undefined;
  io.err(`starting the policy host (${options.python} -m selfplay_host)...`);
  const started = await startPolicyHost({
    python: options.python,
    args: ['--policy', policy, '--guided-choice-scoring', 'mean', '--checkpoint-dir', resolve(folder.path('checkpoints/host')), ...options.hostArg],
  });
  io.err(`policy host on ${started.url} (${started.device})`);
  return started;
}
