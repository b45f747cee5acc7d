import { resolve } from 'node:path';
import { PolicyHostClient, startPolicyHost, TinkerClient, type PolicyHostProcess } from '../../agents/hosted/index.ts';
import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import type { VllmAdapters } from '../../agents/hosted/vllm.ts';
import { loadChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { openEpisodeWriter, type EpisodeWriter } from '../episodes/index.ts';
import { checkResumable, restoreWeights, RunWeights, type SavedWeights } from '../trainer/hosted-run.ts';
import type { LeagueMember } from '../trainer/league.ts';
import type { RunFolder } from '../trainer/run-folder.ts';
import { TinkerBackend, type TinkerLoss } from '../trainer/tinker-backend.ts';
import type { CliIO } from './output.ts';

/** What a train-llm run works with: the Tinker server (started here unless `--tinker`), its backend, the episodes file and Ctrl-C. */
export interface HostedRunSession {
  readonly tinker: TinkerClient;
  /** The reference host's OpenAI side: exact choice probabilities and health. */
  readonly host: PolicyHostClient;
  readonly backend: TinkerBackend;
  /** The run's checkpoints on the server. */
  readonly weights: RunWeights;
  /** The league restored from the checkpoint, its members renamed after the new model. */
  readonly league: readonly LeagueMember[];
  readonly episodes: EpisodeWriter;
  /** Aborts on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Stops listening for signals, closes the episodes file and the session, and stops a host started here. */
  close(): Promise<void>;
}

/** The loss names a run accepts: Tinker's, and the host protocol's older ones (run.json files that name them). */
export function tinkerLoss(loss: string): TinkerLoss {
  return loss === 'ppo' || loss === 'ppo-clip' ? 'ppo' : 'importance_sampling';
}

/**
 * Opens a train-llm run: starts the reference host unless the run names a Tinker server (`--tinker`), with its
 * checkpoints in the run folder; creates the model (LoRA of `loraRank`, or full fine-tuning), or puts a new one
 * where the checkpoint left it (its league too); opens episodes.msgpack; and listens for Ctrl-C.
 */
export async function openHostedRun(setup: {
  readonly options: { readonly tinker?: string; readonly python: string; readonly hostArg: readonly string[] };
  readonly config: {
    readonly baseModel: string;
    readonly loraRank: number;
    readonly lr: number;
    readonly loss: string;
    readonly klCoef: number;
    readonly epochs?: number;
    readonly ratioCap?: number;
    /** Sample over the Tinker API with the tokenizer and chat template in this folder. */
    readonly tokenizer?: string;
    readonly maxTokens?: number;
    /** How the host started here scores guided choices (absent in runs from before the option: mean). */
    readonly choiceScoring?: ChoiceScoring;
  };
  readonly folder: RunFolder;
  readonly io: CliIO;
  readonly restore?: { readonly checkpoint: SavedWeights; readonly league?: readonly LeagueMember[] };
  readonly vllm?: VllmAdapters;
}): Promise<HostedRunSession> {
  const { options, config, folder, io } = setup;
  if (setup.restore) checkResumable(setup.restore.checkpoint);
  let started: PolicyHostProcess | undefined;
  if (!options.tinker) {
    io.err(`starting the policy host (${options.python} -m selfplay_host)...`);
    started = await startPolicyHost({
      python: options.python,
      args: ['--policy', config.baseModel, '--guided-choice-scoring', config.choiceScoring ?? 'mean', '--checkpoint-dir', resolve(folder.path('checkpoints/host')), ...options.hostArg],
    });
    io.err(`policy host on ${started.url} (${started.device})`);
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let episodes: EpisodeWriter | undefined;
  let tinker: TinkerClient | undefined;
  let closed = false;
  // A host that dies under the run ends it now, saying why, rather than after the client's retries.
  void started?.exited.then((how) => {
    if (closed) return;
    controller.abort();
    tinker?.close(`the policy host this run started exited (${how})`);
  });
  const close = async () => {
    closed = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    tinker?.close();
    await episodes?.close();
    await started?.close();
  };
  try {
    episodes = await openEpisodeWriter(folder.path('episodes.msgpack'));
    const url = options.tinker ?? started!.url;
    tinker = await TinkerClient.connect(url, { tags: ['selfplay', 'train-llm'] });
    const host = new PolicyHostClient(url);
    const ratioCap = config.ratioCap ?? 0;
    const sampling = config.tokenizer ? { tokenizer: await loadChatTokenizer(config.tokenizer), ...(config.maxTokens ? { maxTokens: config.maxTokens } : {}) } : undefined;
    const backendOptions = {
      learningRate: config.lr,
      loss: tinkerLoss(config.loss),
      klCoef: config.klCoef,
      epochs: config.epochs ?? 1,
      ...(ratioCap > 0 ? { ratioCap } : {}),
      ...(setup.vllm ? { vllm: setup.vllm } : {}),
      ...(sampling ? { sampling } : {}),
    };
    const backend = await TinkerBackend.start(tinker, host, { baseModel: config.baseModel, loraRank: config.loraRank }, backendOptions);
    const league = setup.restore ? await restoreWeights(backend, setup.restore.checkpoint, setup.restore.league) : [];
    return { tinker, host, backend, weights: new RunWeights(backend, setup.restore?.checkpoint), league, episodes, signal: controller.signal, close };
  } catch (error) {
    await close();
    throw error;
  }
}
