import { resolve } from 'node:path';
import { PolicyHostClient, startPolicyHost, type PolicyHostProcess, type TrainLoss } from '../../agents/hosted/index.ts';
import type { VllmAdapters } from '../../agents/hosted/vllm.ts';
import { openEpisodeWriter, type EpisodeWriter } from '../episodes/index.ts';
import { HostedPolicyBackend } from '../trainer/hosted-backend.ts';
import { checkpointTag, restoreHost } from '../trainer/hosted-run.ts';
import type { LeagueMember } from '../trainer/league.ts';
import type { RunFolder } from '../trainer/run-folder.ts';
import type { CliIO } from './output.ts';

/** What a train-llm run works with: the host (started here unless `--host`), its backend, the episodes file and Ctrl-C. */
export interface HostedRunSession {
  readonly client: PolicyHostClient;
  readonly backend: HostedPolicyBackend;
  readonly episodes: EpisodeWriter;
  /** Aborts on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The names the run's checkpoints get on the host. */
  readonly tag: string;
  /** Stops listening for signals, closes the episodes file and stops a host started here. */
  close(): Promise<void>;
}

/**
 * Opens a train-llm run: starts the reference host unless the run names one
 * (`--host`), serving `policy` with its checkpoints in the run folder;
 * connects the backend, or puts the host back where the checkpoint left it
 * (its league too); opens episodes.msgpack; and listens for Ctrl-C.
 */
export async function openHostedRun(setup: {
  readonly options: { readonly host?: string; readonly python: string; readonly hostArg: readonly string[] };
  readonly config: { readonly policy: string; readonly lr: number; readonly loss: TrainLoss; readonly klCoef: number; readonly epochs?: number; readonly ratioCap?: number };
  readonly folder: RunFolder;
  readonly io: CliIO;
  readonly restore?: { readonly checkpoint: { readonly weights: string; readonly version: number }; readonly league?: readonly LeagueMember[] };
  readonly vllm?: VllmAdapters;
}): Promise<HostedRunSession> {
  const { options, config, folder, io } = setup;
  let started: PolicyHostProcess | undefined;
  if (!options.host) {
    io.err(`starting the policy host (${options.python} -m selfplay_host)...`);
    started = await startPolicyHost({
      python: options.python,
      args: ['--policy', config.policy, '--guided-choice-scoring', 'mean', '--checkpoint-dir', resolve(folder.path('checkpoints/host')), ...options.hostArg],
    });
    io.err(`policy host on ${started.url} (${started.device})`);
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let episodes: EpisodeWriter | undefined;
  const close = async () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await episodes?.close();
    await started?.close();
  };
  try {
    episodes = await openEpisodeWriter(folder.path('episodes.msgpack'));
    const client = new PolicyHostClient(options.host ?? started!.url, config.policy);
    const tag = checkpointTag(folder.dir);
    const ratioCap = config.ratioCap ?? 0;
    const backendOptions = { learningRate: config.lr, loss: config.loss, klCoef: config.klCoef, epochs: config.epochs ?? 1, ...(ratioCap > 0 ? { ratioCap } : {}), ...(setup.vllm ? { vllm: setup.vllm } : {}) };
    const backend = setup.restore
      ? new HostedPolicyBackend(client, await restoreHost(client, tag, setup.restore.checkpoint, setup.restore.league), backendOptions)
      : await HostedPolicyBackend.connect(client, backendOptions);
    return { client, backend, episodes, signal: controller.signal, tag, close };
  } catch (error) {
    await close();
    throw error;
  }
}
