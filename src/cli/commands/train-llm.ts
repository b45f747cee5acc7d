import { statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { createPlayer } from '../../../agents/index.ts';
import { COMPACT_GAME_PROMPTS } from '../../../agents/llm/game-prompt.ts';
import { readPromptFile } from '../../../agents/llm/spec.ts';
import { CHOICE_SCORINGS, type ChoiceScoring } from '../../../agents/hosted/host-client.ts';
import { VllmAdapters } from '../../../agents/hosted/vllm.ts';
import { compile } from '../../analysis/index.ts';
import { ConfigError, GameTooLargeError, type Game } from '../../core/index.ts';
import { checkChoiceStep, DEFAULT_CHOICE_ENTROPY } from '../../trainer/all-choices.ts';
import { EPISODE_ALGORITHMS, type EpisodeAlgorithm } from '../../trainer/episode-trainer.ts';
import { connectNatsLink, type NatsLink } from '../../trainer/nats-link.ts';
import { defaultBusRun, describeHostedRun, learnerBusOptions } from '../bus-run.ts';
import { anchorPlayers, DEFAULT_MAX_STALENESS, hostedJobSchema, playHosted, trainHosted, type HostedIteration, type HostedJob, type HostedRunState } from '../../trainer/hosted-loop.ts';
import { DEFAULT_STATES_PER_BATCH, trainExactMmd } from '../../trainer/exact-mmd.ts';
import type { LeagueMember } from '../../trainer/league.ts';
import type { Episode } from '../../episodes/episode.ts';
import { POLICY_HOST_DIR } from '../../../agents/hosted/process.ts';
import { loadChatTokenizer } from '../../../agents/llm/chat-tokenizer.ts';
import { hostedMetricsRow, hostedReport, type HostedCheckpoint } from '../../trainer/hosted-run.ts';
import { parseOpponents } from '../../trainer/league.ts';
import { renderReport } from '../../trainer/report.ts';
import { prepareRun, RunFolder } from '../../trainer/run-folder.ts';
import { openHostedRun } from '../hosted-setup.ts';
import { checkEnvironment, ENV_PREFIX, fixedRoles, trainEnvRun, type EnvCheckpoint, type EnvRunConfig } from './train-llm-env.ts';
import { GAME_HELP, loadGame } from '../load-game.ts';
import { choice, intOption, numberOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

// Tinker's names, and the host protocol's older ones (run.json files name them).
const LOSSES = ['importance_sampling', 'ppo', 'importance-sampling', 'ppo-clip'] as const;

interface TrainLlmOptions {
  tinker?: string;
  python: string;
  hostArg: string[];
  baseModel: string;
  loraRank: number;
  opponents: string;
  leagueEvery: number;
  evalOpponent: string;
  exactEvery: number;
  rateEvery: number;
  rateGames: number;
  iterations?: number;
  seconds?: number;
  games: number;
  evalGames: number;
  lr: number;
  loss: (typeof LOSSES)[number];
  klCoef: number;
  magnetMix: number;
  epochs: number;
  maxStaleness: number;
  ratioCap: number;
  temperature: number;
  prompt: string;
  algo: EpisodeAlgorithm;
  seed: number;
  concurrency: number;
  keepEpisodes: number;
  tokenizer?: string;
  maxTokens: number;
  vllm?: string;
  bus?: string;
  run?: string;
  localActors?: number;
  lease: number;
  ackWait: number;
  env?: string;
  param: string[];
  role: string[];
  evalItems: number;
  guidedChoice: boolean;
  rolePrompts: 'compact' | 'full';
  choiceScoring?: ChoiceScoring;
  curriculum: 'uniform' | 'sec';
  secAlpha: number;
  secTemperature: number;
  objective?: 'policy-gradient' | 'sppo' | 'spin' | 'imitation' | 'mmd' | 'exact-mmd' | 'all-choices';
  stepSize: number;
  minibatch?: number;
  magnetStrength: number;
  magnetRate: number;
  sppoEta: number;
  spinBeta: number;
  modelTokenizer?: string;
  choiceEntropy?: number;
  choiceStep: 'gradient' | 'mirror';
  soarStudent: 'simulated' | 'host';
  studentLr: number;
  out?: string;
  resume?: string;
  json?: boolean;
}

/** Options of game runs that an --env run has no use for. */
const GAME_ONLY = ['opponents', 'leagueEvery', 'evalOpponent', 'rateEvery', 'rateGames', 'evalGames', 'magnetMix', 'prompt', 'vllm', 'bus', 'run', 'localActors', 'ackWait', 'lease', 'tokenizer', 'maxTokens', 'magnetRate'] as const;
/** What each kind of run can minimise. */
const GAME_OBJECTIVES = ['mmd', 'exact-mmd', 'policy-gradient'] as const;
const ENV_OBJECTIVES = ['policy-gradient', 'sppo', 'spin', 'imitation', 'all-choices'] as const;
/** The mmd objectives' own options, and the policy gradient's (each refused with the other). */
const MMD_ONLY = ['stepSize', 'magnetStrength', 'magnetRate'] as const;
/** Options of runs that play games to train on, which exact-mmd does not: it scores every information state instead. */
const PLAYED_ONLY = ['opponents', 'games', 'maxStaleness', 'exactEvery', 'algo', 'tokenizer', 'vllm', 'bus', 'localActors', 'keepEpisodes'] as const;
const POLICY_GRADIENT_ONLY = ['loss', 'ratioCap', 'klCoef', 'magnetMix'] as const;
/** Optimizer steps that fit each mmd target, and games a step (fewer, noisier targets made the last iterate spikier), unless told. */
const MMD_EPOCHS = 8;
/** Optimizer steps that fit each exact-mmd target: every information state is in each step's batch. */
const EXACT_MMD_EPOCHS = 4;
const MMD_GAMES = 256;
const DEFAULT_OBJECTIVES: Readonly<Record<string, TrainLlmOptions['objective']>> = { sppo: 'sppo', spin: 'spin', 'rest-mcts': 'imitation' };
const ENV_ONLY = ['param', 'role', 'evalItems', 'guidedChoice', 'rolePrompts', 'curriculum', 'secAlpha', 'secTemperature', 'sppoEta', 'spinBeta', 'choiceEntropy', 'choiceStep', 'soarStudent', 'studentLr'] as const;

/** The options that define the run (saved in run.json, reused on --resume). */
type RunConfig = Omit<TrainLlmOptions, 'out' | 'resume' | 'json' | 'tinker' | 'python' | 'hostArg' | 'vllm' | 'seconds' | 'bus' | 'localActors' | 'lease' | 'ackWait' | (typeof ENV_ONLY)[number] | 'env'> & { game: string };

const collect = (value: string, previous: string[]) => [...previous, value];

/** Whether the run folder holds an --env run. */
function isEnvRun(dir: string): boolean {
  return String(RunFolder.open(dir).readJson<{ game?: unknown }>('run.json').game).startsWith(ENV_PREFIX);
}

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

export function registerTrainLlm(program: Command, io: CliIO): void {
  const command = program
    .command('train-llm')
    .description('train a language model over the Tinker API by self-play (or against an opponent), or in every role of an environment (--env): play a batch, one training step, publish, repeat')
    .argument('[game]', `${GAME_HELP}; omit with --resume`)
    .option('--tinker <url>', "a running Tinker server, selfplay's reference host (http://127.0.0.1:8100); without it, the reference host is started here (python3 -m selfplay_host, needs PyTorch)")
    .option('--python <path>', 'the Python with PyTorch, for the host started here', 'python3')
    .option('--host-arg <arg>', 'an option for the host started here, e.g. --host-arg=--d-model=128 (repeatable)', collect, [])
    .option('--base-model <name>', 'the base model the trained model starts from (one the server lists in its capabilities)', 'tiny')
    .option('--lora-rank <r>', 'train LoRA adapters of this rank on the attention and MLP weights, the base frozen (0: full fine-tuning)', intOption('--lora-rank'), 0)
    .option(
      '--opponents <mix>',
      'who the policy plays in training, as shares of each batch: self (its current version in every seat, every seat trained on), pfsp / uniform / recent (past versions from the league, drawn by prioritized fictitious self-play, uniformly or by recency), or any agent spec (random, mcts:iterations=200, tabular:policy=FILE); e.g. self:0.6,pfsp:0.3,random:0.1',
      'self',
    )
    .option('--league-every <k>', 'every k steps the new version joins the league (kept on the host)', intOption('--league-every', 1), 5)
    .option('--eval-opponent <spec>', 'who the policy plays in the games before and after training', 'random')
    .option('--exact-every <k>', "every k steps, the published version's exact exploitability (games small enough to walk), or with --env self-play-critic its critic accuracy on held-out steps (0: never)", intOption('--exact-every'), 1)
    .option('--rate-every <k>', 'every k steps (and at the end), a round robin of league versions, the current one and the fixed opponents, fitted with Bradley-Terry (0: only at the end)', intOption('--rate-every'), 0)
    .option('--rate-games <n>', 'games per pair in those round robins (0: no ratings)', intOption('--rate-games'), 40)
    .option('--iterations <n>', 'training steps in all (default 10, or no bound with --seconds)', intOption('--iterations', 1))
    .option('--seconds <s>', 'start no step after this many seconds of the run', numberOption('--seconds', 0))
    .option('--games <n>', `games (matches, with --env) per step (${MMD_GAMES} with --objective mmd)`, intOption('--games', 1), 128)
    .option('--eval-games <n>', 'games before and after training against --eval-opponent to measure the gain (0: none)', intOption('--eval-games'), 1000)
    .option('--lr <x>', 'learning rate', numberOption('--lr', 0), 3e-3)
    .option('--loss <name>', 'importance_sampling or ppo (Tinker\'s losses)', choice('--loss', LOSSES), 'ppo')
    .option('--epochs <k>', `training steps on each batch before publishing (PPO epochs, the loss's ratio correcting for the later ones being off-policy; with --objective mmd, the steps that fit the targets, default ${MMD_EPOCHS})`, intOption('--epochs', 1), 1)
    .option('--max-staleness <k>', 'asynchronous training: actors keep playing while the host trains, with versions up to k steps older than the weights a step updates (0: synchronous, each batch played by the version it updates; the default with --env, 2 for games)', intOption('--max-staleness'), DEFAULT_MAX_STALENESS)
    .option('--ratio-cap <x>', "truncates each token's importance weight (its probability now over its probability when sampled) at x, as IMPALA does (0: no cap)", numberOption('--ratio-cap', 0), 2)
    .option('--kl-coef <x>', 'KL penalty to the reference weights (the initial ones, or the magnet with --magnet-mix; 0: none)', numberOption('--kl-coef', 0), 0)
    .option('--magnet-mix <x>', 'after each step the KL reference moves this share of the way to the new weights (a slowly moving magnet; 0: it stays the initial weights)', numberOption('--magnet-mix', 0), 0)
    .option('--temperature <t>', 'sampling temperature over the legal moves', numberOption('--temperature', 0), 1)
    .option(
      '--choice-scoring <how>',
      "how the host started here scores a guided choice (a move, the critic's verdict): constrained (as constrained decoding does: where the choices part, the model's next-token distribution renormalised over the tokens that continue one; the default), mean (mean token logprob; the default with --objective mmd or exact-mmd) or sum (sequence logprob, which in a fresh byte model all but rules out the longer choices)",
      choice('--choice-scoring', CHOICE_SCORINGS),
    )
    .option('--prompt <prompt>', "the prompts the policy plays with: compact (the reference host's byte model), spiral, or a prompt file", 'compact')
    .option('--algo <name>', `advantage estimator: ${EPISODE_ALGORITHMS.join(', ')}`, choice('--algo', EPISODE_ALGORITHMS), 'rae')
    .option('--seed <n>', 'seed of the games', intOption('--seed'), 0)
    .option('--concurrency <n>', 'games in flight at once', intOption('--concurrency', 1), 32)
    .option('--keep-episodes <n>', 'episodes of each step saved into episodes.msgpack', intOption('--keep-episodes'), 8)
    .option('--tokenizer <dir>', "sample the games over the Tinker API (asample) with token-id prompts, rendered and tokenized with the model's own files in DIR (tokenizer.json, tokenizer_config.json with its chat template): what a Tinker server without an OpenAI API (SkyRL's) needs; answers are free text, no guided choice, and no exact exploitability (policy-host/tokenizer is the reference host's byte model)")
    .option('--max-tokens <n>', 'with --tokenizer, the most tokens of an answer', intOption('--max-tokens', 1), 256)
    .option('--vllm <url>', 'inference on vLLM (its OpenAI API root): each published version is loaded there as a LoRA adapter (/v1/load_lora_adapter; needs --lora-rank) and the games sample it there');
  learnerBusOptions(command, { bus: 'the actors are `selfplay actor` processes on this NATS JetStream server (nats://HOST:PORT): matches, episodes and versions go through it', jobs: 'matches' })
    .option('--env <name>', 'train in an environment instead of a game (absolute-zero, self-play-critic, teacher-student, creator-solver, stp, sppo, spin, rest-mcts): the model plays every role --role does not give to a fixed agent')
    .option('--param <key=value>', 'with --env, an option of the environment (repeatable; `selfplay env` lists them)', collect, [])
    .option('--role <role=spec>', 'with --env, a role held by a fixed agent: scripted, or llm:model=NAME,base=URL (repeatable); it gets no updates', collect, [])
    .option('--eval-items <n>', 'with --env self-play-critic, held-out steps (half correct, half attacked) the critic is measured on, exactly, before and after training and every --exact-every steps (0: none)', intOption('--eval-items'), 200)
    .option('--no-guided-choice', "with --env, sample the critic's verdict freely instead of among Correct and Incorrect")
    .option(
      '--role-prompts <set>',
      "with --env, the learner's prompts: compact (the critic's cut to the problem, the steps and which step to judge, when its verdict is a guided choice: the reference host's byte model reads 256 tokens, which the full prompt overflows) or full (every role's own prompt)",
      choice('--role-prompts', ['compact', 'full'] as const),
      'compact',
    )
    .option('--curriculum <name>', "with --env, how each match's task category is chosen (absolute-zero's task types, creator-solver's and sppo's families): uniform (the environment's own draw), or sec (the self-evolving curriculum: a bandit that favours the categories whose samples carry the largest advantages)", choice('--curriculum', ['uniform', 'sec'] as const), 'uniform')
    .option('--sec-alpha <x>', 'with --curriculum sec, the step size of each category\'s value update (0 to 1)', numberOption('--sec-alpha', 0), 0.5)
    .option('--sec-temperature <t>', 'with --curriculum sec, the temperature of the choice among categories (lower is greedier)', numberOption('--sec-temperature', 0), 0.25)
    .option(
      '--objective <name>',
      "what each step minimises. For a game: mmd (magnetic mirror descent: at every information state of the batch, the tabular learner's closed-form step from the model's move distribution on the moves' mean advantages, with a KL pull to a slowly moving magnet, fitted by --epochs steps on KL(target || model); the default for imperfect-information games, such as poker, where the reference host samples the games), exact-mmd (for games small enough to walk: no games played; every information state's MMD target on each move's exact value against the model itself, fitted in shuffled --minibatch minibatches, every version's exact exploitability measured) or policy-gradient (--loss on each turn's advantage; the default for perfect-information games, such as tic-tac-toe, whose states seldom recur, and with --tokenizer or --vllm). With --env: policy-gradient, sppo (SPPO's square loss on each response's log-ratio to the version that sampled it, towards --sppo-eta times its win rate minus 1/2; the default with --env sppo), spin (SPIN's logistic loss telling the data set's answers from the model's own, the version that answered being the reference; the default with --env spin), imitation (supervised cross-entropy on the moves the environment names: rest-mcts's best searched traces; the default with --env rest-mcts), or all-choices (for the critic's verdict, picked between Correct and Incorrect: the policy gradient's exact expectation over both, each weighted by the probability the pick gives it and scored by the return it would have got, instead of a sample of one; the other roles held by fixed agents)",
      choice('--objective', [...GAME_OBJECTIVES, ...ENV_OBJECTIVES.filter((o) => o !== 'policy-gradient')]),
    )
    .option('--step-size <x>', 'with --objective mmd or exact-mmd, the mirror-descent step size, on advantages in units of the game\'s largest return (and with --objective all-choices --choice-step mirror, in units of the returns)', numberOption('--step-size', 0), 1)
    .option(
      '--minibatch <n>',
      `the items of each optimizer step, a step's items shuffled and taken this many at a time: with --objective exact-mmd, information states (every epoch passes over all of them; default ${DEFAULT_STATES_PER_BATCH}); with --objective all-choices, critic turns (default: one step on the whole batch)`,
      intOption('--minibatch', 1),
    )
    .option('--magnet-strength <x>', 'with --objective mmd, exact-mmd, or all-choices --choice-step mirror, the strength of the KL pull toward the magnet', numberOption('--magnet-strength', 0), 0.5)
    .option('--magnet-rate <x>', 'with --objective mmd or exact-mmd, how far the magnet moves toward each new target (0 to 1)', numberOption('--magnet-rate', 0), 0.02)
    .option(
      '--choice-step <kind>',
      "with --objective all-choices, how each step moves the critic's verdicts: gradient (the expected return's exact policy gradient, with --choice-entropy) or mirror (fits each turn to magnetic mirror descent's target on both verdicts' returns, with --step-size in units of the returns and --magnet-strength toward uniform)",
      choice('--choice-step', ['gradient', 'mirror'] as const),
      'gradient',
    )
    .option('--choice-entropy <x>', "with --objective all-choices, the weight of each verdict distribution's entropy beside its expected return: it keeps the critic's bias toward one verdict, on which the expected return over a balanced batch does not depend, from drifting into certainty", numberOption('--choice-entropy', 0), DEFAULT_CHOICE_ENTROPY)
    .option('--sppo-eta <x>', 'with --objective sppo, the scale of the win-rate targets', numberOption('--sppo-eta', 0), 1)
    .option('--spin-beta <x>', "with --objective spin, the scale of the log-ratio margin in SPIN's loss", numberOption('--spin-beta', 0), 0.1)
    .option('--model-tokenizer <dir>', "with --env, the model's tokenizer files (tokenizer.json, tokenizer_config.json) for the text selfplay tokenizes itself: SPIN's reference answers, the choices all-choices trains, the SOAR student's pairs and held-out questions (default: the reference host's byte model, policy-host/tokenizer)")
    .option('--soar-student <kind>', "with --env teacher-student, who the teacher teaches: simulated (the environment's simulated learner), or host (a copy of the model itself, trained k steps on the teacher's pairs on the host, measured on the held-out hard questions, then restored: SOAR's student)", choice('--soar-student', ['simulated', 'host'] as const), 'simulated')
    .option('--student-lr <x>', 'with --soar-student host, the learning rate of the student\'s k steps', numberOption('--student-lr', 0), 1e-3)
    .option('--out <dir>', 'run folder (default runs/llm-<game>-seed<seed>)')
    .option('--resume <dir>', 'continue the run in this folder from its last checkpoint, with its settings')
    .option('--json', 'print one JSON object {before, after, iterations: [...]} at the end instead of progress lines')
    .addHelpText(
      'after',
      '\nThe run folder holds run.json, metrics.jsonl (one row per step), checkpoints/, episodes.msgpack and report.html.\nCtrl-C stops after the current step with a checkpoint; --resume DIR continues from it (a host started here is started again, and the league restored into it).',
    )
    .action(async (ref: string | undefined, options: TrainLlmOptions, command: Command) => {
      const given = (key: string) => command.getOptionValueSource(key) === 'cli';
      /** The option as it is written (`--no-guided-choice` for guidedChoice). */
      const flag = (key: string) => command.options.find((o) => o.attributeName() === key)!.long!;
      // run.json keeps it for --resume, which may run from another folder.
      if (options.tokenizer !== undefined) options.tokenizer = resolvePath(options.tokenizer);
      if (options.env !== undefined && ref !== undefined) throw new ConfigError(`name a game or --env ${options.env}, not both`);
      const envRun = options.env !== undefined || (options.resume !== undefined && isEnvRun(options.resume));
      const misplaced = (envRun ? GAME_ONLY : ENV_ONLY).filter(given);
      if (misplaced.length) throw new ConfigError(`${misplaced.map(flag).join(', ')} ${envRun ? 'apply to game runs, not to --env runs' : 'apply to --env runs only'}`);
      // An environment's roles are trained per task type and role (Absolute Zero's estimator) unless told.
      if (envRun && !given('algo') && !options.resume) options.algo = 'trr++';
      // Environments train synchronously unless told: SPIN needs it, and it keeps a seed's batches replayable.
      if (envRun && !given('maxStaleness') && !options.resume) options.maxStaleness = 0;
      // SPPO's, SPIN's and ReST-MCTS*'s environments train with their papers' losses unless told.
      if (envRun && !options.resume) options.objective ??= DEFAULT_OBJECTIVES[options.env ?? ''] ?? 'policy-gradient';
      if (envRun && !options.resume) {
        const allChoices = options.objective === 'all-choices';
        const unused = (allChoices ? [] : (['choiceStep', 'choiceEntropy', 'minibatch', 'stepSize', 'magnetStrength'] as const)).filter(given);
        if (unused.length) throw new ConfigError(`${unused.map(flag).join(', ')} ${unused.length > 1 ? 'apply' : 'applies'} to --objective all-choices, and this run trains with ${options.objective}`);
        const otherStep = (options.choiceStep === 'mirror' ? (['choiceEntropy'] as const) : (['stepSize', 'magnetStrength'] as const)).filter(given);
        if (allChoices && otherStep.length) throw new ConfigError(`${otherStep.map(flag).join(', ')} ${otherStep.length > 1 ? 'apply' : 'applies'} to --choice-step ${options.choiceStep === 'mirror' ? 'gradient' : 'mirror'}, and this run steps by ${options.choiceStep}`);
        if (allChoices && options.choiceStep === 'mirror') checkChoiceStep({ kind: 'mirror', stepSize: options.stepSize, magnetStrength: options.magnetStrength });
      }
      if (options.objective !== undefined && !(envRun ? ENV_OBJECTIVES : GAME_OBJECTIVES).some((o) => o === options.objective)) {
        throw new ConfigError(`--objective ${options.objective} trains ${envRun ? 'games, not --env runs' : 'in environments (--env)'}; ${envRun ? 'an environment' : 'a game'} trains with ${(envRun ? ENV_OBJECTIVES : GAME_OBJECTIVES).join(', ')}`);
      }
      // A new game run loads its game once, here, to choose the default objective.
      const named = !envRun && !options.resume && ref !== undefined ? await loadGame(ref) : undefined;
      if (!envRun && !options.resume) {
        // MMD fits the move distribution of the reference host's guided pick, which free text and vLLM do not have.
        // It is for imperfect-information games, whose equilibria are mixed and whose information states recur:
        // in tic-tac-toe most states of a batch are seen once, and mmd gives those no step.
        if (options.objective === undefined) {
          const freeText = options.tokenizer !== undefined || options.vllm !== undefined;
          options.objective = freeText || named?.perfectInformation ? 'policy-gradient' : 'mmd';
        }
        if (options.objective === 'mmd' && (options.tokenizer !== undefined || options.vllm !== undefined)) {
          throw new ConfigError(`--objective mmd fits the reference host's guided pick among the legal moves, which ${options.tokenizer !== undefined ? 'free-text sampling (--tokenizer)' : 'vLLM (--vllm)'} does not make: use --objective policy-gradient`);
        }
        const mirror = options.objective === 'mmd' || options.objective === 'exact-mmd';
        const unused = (mirror ? POLICY_GRADIENT_ONLY : MMD_ONLY).filter(given);
        if (unused.length) throw new ConfigError(`${unused.map(flag).join(', ')} apply to --objective ${mirror ? 'policy-gradient' : 'mmd or exact-mmd'}, and this run trains with ${options.objective}`);
        if (options.objective === 'exact-mmd') {
          const played = PLAYED_ONLY.filter(given);
          if (played.length) throw new ConfigError(`${played.map(flag).join(', ')} apply to runs that play games to train on; --objective exact-mmd plays none: it scores the model at every information state, against itself, and measures every version's exploitability`);
          if (!walkable(named!)) throw new ConfigError(`--objective exact-mmd walks the whole game, and ${named!.id} is too large to: use --objective mmd or policy-gradient`);
        }
        if (mirror && !given('epochs')) options.epochs = options.objective === 'mmd' ? MMD_EPOCHS : EXACT_MMD_EPOCHS;
        if (options.objective === 'mmd' && !given('games')) options.games = MMD_GAMES;
      }
      if (!envRun && !options.resume && options.objective !== 'exact-mmd') {
        if (given('minibatch')) throw new ConfigError(`--minibatch applies to --objective exact-mmd (and to all-choices in --env runs), and this run trains with ${options.objective}`);
        if (given('modelTokenizer')) throw new ConfigError(`--model-tokenizer applies to --env runs and to --objective exact-mmd, and this run trains with ${options.objective}`);
      }
      if (options.choiceScoring !== undefined && options.tinker !== undefined) {
        throw new ConfigError('--choice-scoring sets how the host started here scores guided choices; the host at --tinker scores them as its own --guided-choice-scoring says');
      }
      if (!options.resume && options.tinker === undefined) {
        const mirror = options.objective === 'mmd' || options.objective === 'exact-mmd';
        options.choiceScoring ??= mirror ? 'mean' : 'constrained';
      }
      if (options.modelTokenizer !== undefined) options.modelTokenizer = resolvePath(options.modelTokenizer);
      if (envRun) {
        if (options.env !== undefined) checkEnvironment(options.env);
        fixedRoles(options.role ?? []);
        const prepared = prepareRun<EnvRunConfig, EnvCheckpoint>(options.env === undefined ? undefined : `${ENV_PREFIX}${options.env}`, options as TrainLlmOptions & Record<string, unknown>, given, {
          command: 'train',
          runtime: ['json', 'tinker', 'python', 'hostArg', 'seconds', ...GAME_ONLY, 'env'],
          defaultDir: (target) => `runs/llm-${target.replace(/[^\w.-]+/g, '_')}-seed${options.seed}`,
          updates: (s) => s.state.iteration,
        });
        return trainEnvRun({ ...prepared, options, io });
      }
      const { open, config, state } = prepareRun<RunConfig, HostedCheckpoint>(ref, options as TrainLlmOptions & Record<string, unknown>, given, {
        command: 'train',
        runtime: ['json', 'tinker', 'python', 'hostArg', 'vllm', 'seconds', 'bus', 'localActors', 'lease', 'ackWait', ...ENV_ONLY, 'env'],
        defaultDir: (game) => `runs/llm-${game.replace(/[^\w.-]+/g, '_')}-seed${options.seed}`,
        updates: (s) => s.state.iteration,
      });
      const game = named ?? (await loadGame(config.game));
      const shares = parseOpponents(config.opponents);
      const anchors = anchorPlayers(shares, game);
      const evalOpponent = createPlayer(config.evalOpponent, game);
      const prompts = config.prompt === 'compact' ? COMPACT_GAME_PROMPTS : config.prompt === 'spiral' ? undefined : readPromptFile(config.prompt);
      // The exact policy is the guided pick's distribution, which free-text sampling (--tokenizer) does not follow.
      const exactEvery = config.exactEvery > 0 && walkable(game) && !config.tokenizer ? config.exactEvery : 0;
      if (config.exactEvery > 0 && exactEvery === 0) io.err(config.tokenizer ? 'free-text sampling over the Tinker API (--tokenizer): no exact exploitability' : `${game.id} is too large to walk: no exact exploitability`);
      const rateGames = game.seats === 2 ? config.rateGames : 0;
      const iterations = config.iterations ?? (options.seconds === undefined ? 10 : undefined);
      const modelTokenizer = config.objective === 'exact-mmd' ? await loadChatTokenizer(config.modelTokenizer ?? join(POLICY_HOST_DIR, 'tokenizer')) : undefined;
      const folder = open();
      const session = await openHostedRun({
        options,
        config,
        folder,
        io,
        ...(state ? { restore: { checkpoint: state, league: state.state.league.members } } : {}),
        ...(options.vllm ? { vllm: new VllmAdapters(options.vllm) } : {}),
      });
      const { host, backend, episodes, weights } = session;
      try {
        const evaluate = async () =>
          config.evalGames > 0
            ? (await playHosted({ game, model: backend.policy(), apiBase: backend.samplingBase, ...(backend.tinkerSampling ? { tinker: backend.tinkerSampling } : {}), prompts, temperature: config.temperature, policy: { id: backend.policyId, version: backend.version }, opponent: evalOpponent, games: config.evalGames, seed: 1_000_000 + config.seed, concurrency: config.concurrency })).record
            : undefined;
        const before = state ? undefined : await evaluate();
        const busRun = config.run ?? defaultBusRun(folder.dir);
        const link = options.bus ? await connectNatsLink({ url: options.bus, run: busRun, side: 'learner', spec: hostedJobSchema, leaseSeconds: options.lease, ackWaitSeconds: options.ackWait, log: io.err }) : undefined;
        let actorLink: NatsLink<HostedJob> | undefined;
        if (link) {
          const tinker = config.tokenizer ? { url: session.tinker.url, tokenizer: config.tokenizer, maxTokens: config.maxTokens } : undefined;
          await link.describe(describeHostedRun({ game: config.game, policy: backend.policyId, apiBase: backend.samplingBase, temperature: config.temperature, prompts, shares, tinker }));
          if (options.localActors) actorLink = await connectNatsLink({ url: options.bus!, run: busRun, side: 'actor', spec: hostedJobSchema, log: io.err });
          if (!options.json) io.out(`learner of run ${busRun} on ${options.bus}: start actors with  selfplay actor --bus ${options.bus} --run ${busRun}`);
        }
        if (!options.json) {
          io.out(`${state ? `resuming ${folder.dir} at step ${state.state.iteration}` : `training ${backend.policy()} on ${game.id}`}, opponents ${config.opponents}, run folder ${folder.dir}`);
          if (before) io.out(`before: ${backend.policy()} vs ${config.evalOpponent}: mean return ${before.meanReturn.toFixed(3)}, score ${before.score.toFixed(3)} over ${before.matches} games`);
        }
        const bar = progressBar('training', iterations ?? Math.ceil(options.seconds ?? 0), options.json ? () => undefined : io.out);
        let iterationsDone: HostedIteration[];
        const onIteration = async (it: HostedIteration, loopState: HostedRunState, played: readonly Episode[]) => {
          folder.appendMetrics(hostedMetricsRow(it));
          for (const episode of played.slice(0, config.keepEpisodes)) episodes.append(episode);
          await episodes.flush();
          await weights.save(it.update, it.version, (saved) =>
            folder.writeJson('checkpoints/state.json', { state: loopState, ...saved, outputs: { updates: it.update, episodeBytes: statSync(episodes.path).size } } satisfies HostedCheckpoint));
          const exact = it.exploitability === undefined ? '' : `, exploitability ${it.exploitability.toFixed(4)}`;
          bar.update(iterations === undefined ? Math.min(Math.ceil(it.seconds), Math.ceil(options.seconds!)) : it.update, `${it.model}${exact}`);
          const returns = Object.entries(it.returns).map(([label, r]) => `${label} ${r.meanReturn >= 0 ? '+' : ''}${r.meanReturn.toFixed(3)}`).join(', ');
          bar.log(`step ${it.update}: ${it.played}${returns ? ` returns ${returns}` : ''}, loss ${it.loss.toFixed(4)}, ${it.samples} samples (by seat ${it.samplesBySeat.join('/')}) -> ${it.model}${exact} (${(it.ms / 1000).toFixed(1)} s)`);
          if (it.ratings) bar.log(`  ratings: ${it.ratings.map((r) => `${r.name} ${Math.round(r.rating)} [${Math.round(r.low)}, ${Math.round(r.high)}], return ${r.meanReturn.toFixed(3)} [${r.returnLow.toFixed(3)}, ${r.returnHigh.toFixed(3)}]`).join('; ')}`);
        };
        const saveMember = (member: LeagueMember) => weights.saveMember(member);
        try {
          if (config.objective === 'exact-mmd') {
            iterationsDone = await trainExactMmd({
              game,
              backend,
              tokenizer: modelTokenizer!,
              statesPerBatch: config.minibatch,
              iterations,
              seconds: options.seconds,
              prompts,
              temperature: config.temperature,
              mmd: { stepSize: config.stepSize, magnetStrength: config.magnetStrength, magnetRate: config.magnetRate },
              leagueEvery: config.leagueEvery,
              rateEvery: config.rateEvery,
              rateGames,
              seed: config.seed,
              concurrency: config.concurrency,
              resume: state ? { ...state.state, league: { members: session.league } } : undefined,
              signal: session.signal,
              saveMember,
              onIteration,
            });
          } else iterationsDone = await trainHosted({
            game,
            backend,
            opponents: shares,
            anchors,
            iterations,
            seconds: options.seconds,
            gamesPerIteration: config.games,
            // A run saved before the option existed was synchronous.
            maxStaleness: config.maxStaleness ?? 0,
            ...(link ? { link, localActors: options.localActors ?? 0, actorLink } : {}),
            algo: config.algo,
            seed: config.seed,
            concurrency: config.concurrency,
            prompts,
            temperature: config.temperature,
            exactEvery,
            leagueEvery: config.leagueEvery,
            magnetMix: config.magnetMix,
            // A run saved before games had objectives trained with the policy gradient.
            objective: config.objective === 'mmd' ? 'mmd' : 'policy-gradient',
            mmd: { stepSize: config.stepSize, magnetStrength: config.magnetStrength, magnetRate: config.magnetRate },
            rateEvery: config.rateEvery,
            rateGames,
            resume: state ? { ...state.state, league: { members: session.league } } : undefined,
            signal: session.signal,
            saveMember,
            onIteration,
          });
        } finally {
          bar.stop();
          await actorLink?.close();
          await link?.close();
        }
        const interrupted = session.signal.aborted;
        const after = interrupted ? undefined : await evaluate();
        // The whole run's figures, a resumed one's earlier steps included.
        const rows = folder.metrics();
        const exploitability = rows.findLast((row) => typeof row.exploitability === 'number')?.exploitability;
        const summary = {
          game: game.id,
          baseModel: config.baseModel,
          model: backend.policy(),
          opponents: config.opponents,
          updates: rows.length,
          seconds: +Number(rows.at(-1)?.seconds ?? 0).toFixed(1),
          ...(exploitability === undefined ? {} : { exploitability: Number(exploitability) }),
          ...(before ? { [`before vs ${config.evalOpponent}`]: `mean return ${before.meanReturn.toFixed(3)}, score ${before.score.toFixed(3)}` } : {}),
          ...(after ? { [`after vs ${config.evalOpponent}`]: `mean return ${after.meanReturn.toFixed(3)}, score ${after.score.toFixed(3)}` } : {}),
          interrupted: String(interrupted),
          runFolder: folder.dir,
        };
        folder.writeText('report.html', renderReport(hostedReport(`selfplay: ${config.baseModel} trained on ${game.id}`, summary, rows)));
        if (options.json) return printJson(io, { game: game.id, baseModel: config.baseModel, model: backend.policy(), runFolder: folder.dir, interrupted, before, after, iterations: iterationsDone });
        if (interrupted) io.out(`stopped: checkpoint written; continue with  selfplay train-llm --resume ${folder.dir}`);
        if (after && before) io.out(`after: ${backend.policy()} vs ${config.evalOpponent}: mean return ${after.meanReturn.toFixed(3)}, score ${after.score.toFixed(3)} over ${after.matches} games (before: ${before.meanReturn.toFixed(3)})`);
        io.out(`run folder ${folder.dir}: metrics.jsonl, checkpoints/, episodes.msgpack, report.html`);
      } finally {
        await session.close();
      }
    });
}
