import type { Command } from 'commander';
import {
  CfrSolver,
  compile,
  evaluatePolicy,
  loadPolicy,
  MccfrSolver,
  minimax,
  savePolicy,
  uniformPolicy,
  type PolicyEvaluation,
  type TabularPolicy,
} from '../../analysis/index.ts';
import { ConfigError, GameTooLargeError, type Game } from '../../core/index.ts';
import { GAME_HELP, loadGame } from '../load-game.ts';
import { intOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

const round = (x: number) => Number(x.toPrecision(12));
const format = (values: readonly number[]) => `[${values.map((v) => round(v)).join(', ')}]`;

export function registerAnalysis(program: Command, io: CliIO): void {
  program
    .command('solve')
    .description('solve a two-player zero-sum perfect-information game exactly by minimax: its value and number of distinct states')
    .argument('<game>', GAME_HELP)
    .option('--prune', 'alpha-beta pruning: faster, but `states` then counts only the states searched')
    .option('--max-states <n>', 'give up past this many distinct states', intOption('--max-states', 1), 5_000_000)
    .option('--json', 'print one JSON object {game, params, value, states}')
    .action(async (ref: string, options: { prune?: boolean; maxStates: number; json?: boolean }) => {
      const game = await loadGame(ref);
      const start = performance.now();
      const { values, states } = minimax(game, { pruning: options.prune ?? false, maxStates: options.maxStates });
      const seconds = (performance.now() - start) / 1000;
      if (options.json) return printJson(io, { game: game.id, params: game.params, value: values, states, pruned: options.prune ?? false, seconds });
      io.out(`${game.id}: value ${format(values)} (seat 0, seat 1) under optimal play`);
      io.out(`${states} distinct states ${options.prune ? 'searched (alpha-beta)' : 'in the game'}, ${seconds.toFixed(2)} s`);
    });

  program
    .command('exploitability')
    .description("how far a tabular policy is from a Nash equilibrium: each seat's best-response value, NashConv and exploitability")
    .argument('<game>', GAME_HELP)
    .option('--policy <policy>', '"uniform" or a policy file written by `selfplay cfr --out`', 'uniform')
    .option('--model <name>', "instead of --policy: a language model's sampling policy, exactly, from the policy host that serves it (`tiny`, or `tiny@3` for a version)")
    .option('--host <url>', 'with --model: the policy host, e.g. http://127.0.0.1:8100')
    .option('--temperature <t>', 'with --model: the temperature it samples at', Number, 1)
    .option('--prompt <prompt>', 'with --model: the prompts it plays with: compact (the reference host\'s byte model), spiral, or a prompt file', 'compact')
    .option('--scoring <how>', "with --model: how the host scores guided choices, sum, mean or constrained (default: the host's)")
    .option('--out <file>', "with --model: write the model's policy as a policy file")
    .option('--json', 'print one JSON object {game, params, policy, nashConv, exploitability, bestResponseValues, returns} (with --model: model, informationStates, prompts (the distinct ones scored), against, seconds)')
    .action(async (ref: string, options: ExploitabilityOptions) => {
      const game = await loadGame(ref);
      if (options.model !== undefined) return modelExploitability(game, options, io);
      if (options.host !== undefined) throw new ConfigError('--host goes with --model');
      const policy: TabularPolicy = options.policy === 'uniform' ? uniformPolicy(game) : (await loadPolicy(options.policy, game)).policy;
      const evaluation = evaluatePolicy(game, policy);
      if (options.json) return printJson(io, { game: game.id, params: game.params, policy: options.policy, ...evaluation });
      io.out(`${game.id}, policy ${options.policy}:`);
      io.out(printEvaluation(evaluation));
    });

  program
    .command('cfr')
    .description('compute an approximate Nash equilibrium with counterfactual regret minimisation (CFR, CFR+, or sampled MCCFR)')
    .argument('<game>', GAME_HELP)
    .requiredOption('--iterations <n>', 'iterations to run', intOption('--iterations', 1))
    .option('--plus', 'CFR+: regrets floored at zero and linearly weighted averaging (converges much faster)')
    .option('--sampling', 'external-sampling Monte Carlo CFR, for games too large to walk every iteration')
    .option('--seed <n>', 'seed of the sampling (with --sampling)', intOption('--seed'), 0)
    .option('--every <k>', 'evaluate the average policy every k iterations (default: 10 points over the run)', intOption('--every', 1))
    .option('--out <file>', 'write the average policy as a policy file (JSON)')
    .option('--json', 'print one JSON object {game, params, algorithm, iterations, curve, exploitability, nashConv, value, out}')
    .action(async (ref: string, options: { iterations: number; plus?: boolean; sampling?: boolean; seed: number; every?: number; out?: string; json?: boolean }) => {
      if (options.plus && options.sampling) throw new ConfigError('--plus and --sampling cannot be combined: MCCFR here is plain external-sampling CFR');
      const game = await loadGame(ref);
      const algorithm = options.sampling ? 'mccfr' : options.plus ? 'cfr+' : 'cfr';
      const run = runSolver(game, { ...options, algorithm }, io);
      const final = run.evaluate();
      if (options.out) await savePolicy(options.out, game, run.policy(), { algorithm, iterations: options.iterations, exploitability: final?.exploitability });
      const result = {
        game: game.id,
        params: game.params,
        algorithm,
        iterations: options.iterations,
        curve: run.curve,
        exploitability: final?.exploitability,
        nashConv: final?.nashConv,
        value: final?.returns,
        out: options.out,
      };
      if (options.json) return printJson(io, result);
      if (run.curve.length) {
        io.out('iteration  exploitability');
        for (const point of run.curve) io.out(`${String(point.iteration).padStart(9)}  ${point.exploitability.toPrecision(6)}`);
      }
      io.out(`${game.id}, ${algorithm}, ${options.iterations} iterations:`);
      if (final) io.out(printEvaluation(final));
      else io.out('  (the game is too large to evaluate exactly; no exploitability)');
      if (options.out) io.out(`average policy written to ${options.out}`);
    });
}

function printEvaluation(e: PolicyEvaluation): string {
  return [
    `  expected returns      ${format(e.returns)}`,
    `  best-response values  ${format(e.bestResponseValues)}`,
    `  NashConv              ${round(e.nashConv)}`,
    `  exploitability        ${round(e.exploitability)}`,
  ].join('\n');
}

interface SolverRun {
  readonly curve: { iteration: number; exploitability: number; nashConv: number }[];
  policy(): TabularPolicy;
  /** The average policy's evaluation, or undefined for a game too large to compile. */
  evaluate(): PolicyEvaluation | undefined;
}

interface ExploitabilityOptions {
  policy: string;
  model?: string;
  host?: string;
  temperature: number;
  prompt: string;
  scoring?: string;
  out?: string;
  json?: boolean;
}

async function modelExploitability(game: Game, options: ExploitabilityOptions, io: CliIO): Promise<void> {
  if (options.host === undefined) throw new ConfigError('--model needs --host, the policy host that serves it');
  if (options.policy !== 'uniform') throw new ConfigError('give --policy or --model, not both');
  if (!(options.temperature >= 0 && options.temperature <= 2)) throw new ConfigError(`--temperature must be a number from 0 to 2, got ${options.temperature}`);
  // The model's side is loaded only here: solve, cfr and --policy need none of it.
  const [{ CHOICE_SCORINGS, PolicyHostClient }, { COMPACT_GAME_PROMPTS }, { readPromptFile }, { evaluateModel }] = await Promise.all([
    import('../../../agents/hosted/host-client.ts'),
    import('../../../agents/llm/game-prompt.ts'),
    import('../../../agents/llm/spec.ts'),
    import('../../trainer/model-policy.ts'),
  ]);
  const scoring = CHOICE_SCORINGS.find((s) => s === options.scoring);
  if (options.scoring !== undefined && !scoring) throw new ConfigError(`--scoring must be one of ${CHOICE_SCORINGS.join(', ')}, got ${options.scoring}`);
  const prompts = options.prompt === 'compact' ? COMPACT_GAME_PROMPTS : options.prompt === 'spiral' ? undefined : readPromptFile(options.prompt);
  const started = performance.now();
  const evaluation = await evaluateModel(game, {
    host: new PolicyHostClient(options.host.replace(/\/+$/, '')),
    model: options.model!,
    prompts,
    temperature: options.temperature,
    scoring,
  });
  const seconds = (performance.now() - started) / 1000;
  if (options.out) await savePolicy(options.out, game, evaluation.policy, { model: evaluation.model, temperature: options.temperature, exploitability: evaluation.exploitability });
  const { policy, ...figures } = evaluation;
  if (options.json) return printJson(io, { game: game.id, params: game.params, ...figures, seconds, ...(options.out ? { out: options.out } : {}) });
  io.out(`${game.id}, model ${evaluation.model} at temperature ${options.temperature} (${evaluation.informationStates} information states${evaluation.prompts < evaluation.informationStates ? ` reading as ${evaluation.prompts} distinct prompts` : ''}, exact, ${seconds.toFixed(1)} s):`);
  io.out(printEvaluation(evaluation));
  for (const { opponent, bySeat, mean } of evaluation.against) io.out(`against ${opponent}: expected return ${round(mean)} (by seat ${format(bySeat)})`);
}

function runSolver(game: Game, options: { iterations: number; every?: number; seed: number; algorithm: string }, io: CliIO): SolverRun {
  const { iterations } = options;
  const every = options.every ?? Math.max(1, Math.floor(iterations / 10));
  const sampled = options.algorithm === 'mccfr';
  const solver = sampled ? new MccfrSolver(game, { seed: options.seed }) : new CfrSolver(game, { plus: options.algorithm === 'cfr+' });
  let tooLarge = false;
  const evaluate = (): PolicyEvaluation | undefined => {
    if (solver instanceof CfrSolver) return solver.evaluate();
    if (tooLarge) return undefined;
    try {
      compile(game);
    } catch (error) {
      if (!(error instanceof GameTooLargeError)) throw error;
      tooLarge = true;
      return undefined;
    }
    return evaluatePolicy(game, solver.averagePolicy());
  };

  const curve: SolverRun['curve'] = [];
  const bar = progressBar(options.algorithm, iterations);
  try {
    for (let i = 1; i <= iterations; i++) {
      solver.iterate();
      if (i % every === 0 || i === iterations) {
        const e = evaluate();
        if (e) curve.push({ iteration: i, exploitability: e.exploitability, nashConv: e.nashConv });
      }
      const latest = curve[curve.length - 1];
      bar.update(i, latest ? `exploitability ${latest.exploitability.toPrecision(4)}` : '');
    }
  } finally {
    bar.stop();
  }
  if (curve.length === 0) io.err(`${game.id} is too large to evaluate exactly: no exploitability curve`);
  return { curve, policy: () => solver.averagePolicy(), evaluate };
}
