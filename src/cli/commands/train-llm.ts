import type { Command } from 'commander';
import { createPlayer } from '../../../agents/index.ts';
import { PolicyHostClient, startPolicyHost, type PolicyHostProcess, type TrainLoss } from '../../../agents/hosted/index.ts';
import { VllmAdapters } from '../../../agents/hosted/vllm.ts';
import { compile } from '../../analysis/index.ts';
import { ConfigError, GameTooLargeError, type Game } from '../../core/index.ts';
import { EPISODE_ALGORITHMS, type EpisodeAlgorithm } from '../../trainer/episode-trainer.ts';
import { HostedPolicyBackend } from '../../trainer/hosted-backend.ts';
import { playHosted, trainHosted } from '../../trainer/hosted-loop.ts';
import { GAME_HELP, loadGame } from '../load-game.ts';
import { intOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

interface TrainLlmOptions {
  host?: string;
  python: string;
  hostArg: string[];
  policy: string;
  opponent: string;
  evalOpponent: string;
  exactEvery: number;
  iterations: number;
  games: number;
  evalGames: number;
  lr: string;
  loss: string;
  klCoef: string;
  algo: string;
  seed: number;
  concurrency: number;
  vllm?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Whether the whole game tree is small enough to walk (src/analysis compiles it). */
function walkable(game: Game): boolean {
  try {
    compile(game);
    return true;
  } catch (error) {
    if (error instanceof GameTooLargeError) return false;
    throw error;
  }
}
const LOSSES: readonly TrainLoss[] = ['importance-sampling', 'ppo-clip'];

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigError(`${name} must be a number > 0, got "${text}"`);
  return value;
}

export function registerTrainLlm(program: Command, io: CliIO): void {
  program
    .command('train-llm')
    .description('train a language-model policy on a policy host by self-play (or against an opponent): play a batch, one training step, publish, repeat')
    .argument('<game>', GAME_HELP)
    .option('--host <url>', 'a running policy host (http://127.0.0.1:8100); without it, the reference host is started here (python3 -m selfplay_host, needs PyTorch)')
    .option('--python <path>', 'the Python with PyTorch, for the host started here', 'python3')
    .option('--host-arg <arg>', 'an option for the host started here, e.g. --host-arg=--d-model=128 (repeatable)', collect, [])
    .option('--policy <id>', 'the policy on the host', 'tiny')
    .option('--opponent <spec>', 'who the policy plays in training: self (its current version in every seat, every seat\'s turns trained on), or a fixed agent: random, mcts:iterations=N, tabular:policy=FILE...', 'self')
    .option('--eval-opponent <spec>', 'who the policy plays in the games before and after training', 'random')
    .option('--exact-every <k>', "every k steps, the published version's exact exploitability (games small enough to walk; 0: never)", intOption('--exact-every'), 1)
    .option('--iterations <n>', 'training steps', intOption('--iterations', 1), 10)
    .option('--games <n>', 'games per step', intOption('--games', 1), 256)
    .option('--eval-games <n>', 'games before and after training to measure the gain (0: none)', intOption('--eval-games'), 1000)
    .option('--lr <x>', 'learning rate', '3e-3')
    .option('--loss <name>', `${LOSSES.join(' or ')}`, 'ppo-clip')
    .option('--kl-coef <x>', 'KL penalty to the initial weights (0: none)', '0')
    .option('--algo <name>', `advantage estimator: ${EPISODE_ALGORITHMS.join(', ')}`, 'rae')
    .option('--seed <n>', 'seed of the games', intOption('--seed'), 0)
    .option('--concurrency <n>', 'games in flight at once', intOption('--concurrency', 1), 32)
    .option('--vllm <url>', "inference on vLLM (its OpenAI API root): each published version is loaded there as a LoRA adapter (/v1/load_lora_adapter) and the games sample it there")
    .option('--json', 'print one JSON object {before, after, iterations: [...]}')
    .action(async (ref: string, options: TrainLlmOptions) => {
      const game = await loadGame(ref);
      if (!LOSSES.includes(options.loss as TrainLoss)) throw new ConfigError(`--loss must be ${LOSSES.join(' or ')}, got "${options.loss}"`);
      if (!(EPISODE_ALGORITHMS as readonly string[]).includes(options.algo)) throw new ConfigError(`--algo must be one of ${EPISODE_ALGORITHMS.join(', ')}, got "${options.algo}"`);
      const learningRate = positive('--lr', options.lr);
      const klCoef = Number(options.klCoef);
      if (!(klCoef >= 0)) throw new ConfigError(`--kl-coef must be a number >= 0, got "${options.klCoef}"`);
      const opponent = options.opponent === 'self' ? undefined : createPlayer(options.opponent, game);
      const evalOpponent = createPlayer(options.evalOpponent, game);
      const exactEvery = options.exactEvery > 0 && walkable(game) ? options.exactEvery : 0;
      if (options.exactEvery > 0 && exactEvery === 0) io.err(`${game.id} is too large to walk: no exact exploitability`);
      let started: PolicyHostProcess | undefined;
      if (!options.host) {
        io.err(`starting the policy host (${options.python} -m selfplay_host)...`);
        started = await startPolicyHost({ python: options.python, args: ['--policy', options.policy, '--guided-choice-scoring', 'mean', ...options.hostArg] });
        io.err(`policy host on ${started.url} (${started.device})`);
      }
      try {
        const client = new PolicyHostClient(options.host ?? started!.url, options.policy);
        const backend = await HostedPolicyBackend.connect(client, {
          learningRate,
          loss: options.loss as TrainLoss,
          klCoef,
          ...(options.vllm ? { vllm: new VllmAdapters(options.vllm) } : {}),
        });
        const evaluate = async () =>
          options.evalGames > 0
            ? (await playHosted({ game, model: backend.policy(), apiBase: backend.samplingBase, policy: { id: options.policy, version: backend.version }, opponent: evalOpponent, games: options.evalGames, seed: 1_000_000 + options.seed, concurrency: options.concurrency })).record
            : undefined;
        const before = await evaluate();
        if (before && !options.json) io.out(`before: ${backend.policy()} vs ${options.evalOpponent}: mean return ${before.meanReturn.toFixed(3)}, score ${before.score.toFixed(3)} over ${before.matches} games`);
        const bar = progressBar('training', options.iterations, options.json ? () => undefined : io.out);
        let iterations;
        try {
          iterations = await trainHosted({
            game,
            backend,
            opponent,
            iterations: options.iterations,
            gamesPerIteration: options.games,
            algo: options.algo as EpisodeAlgorithm,
            seed: options.seed,
            concurrency: options.concurrency,
            exactEvery,
            onIteration: (it) => {
              const exact = it.exploitability === undefined ? '' : `, exploitability ${it.exploitability.toFixed(4)}`;
              bar.update(it.iteration + 1, `${it.model}${exact}`);
              bar.log(`step ${it.iteration + 1}: ${it.played} mean return ${it.record.meanReturn.toFixed(3)} over ${it.record.matches} games, loss ${it.loss.toFixed(4)}, ${it.samples} samples (by seat ${it.samplesBySeat.join('/')}) -> ${it.model}${exact} (${(it.ms / 1000).toFixed(1)} s)`);
            },
          });
        } finally {
          bar.stop();
        }
        const after = await evaluate();
        if (options.json) return printJson(io, { game: game.id, policy: options.policy, model: backend.policy(), before, after, iterations });
        if (after && before) io.out(`after: ${backend.policy()} vs ${options.evalOpponent}: mean return ${after.meanReturn.toFixed(3)}, score ${after.score.toFixed(3)} over ${after.matches} games (before: ${before.meanReturn.toFixed(3)})`);
      } finally {
        await started?.close();
      }
    });
}
