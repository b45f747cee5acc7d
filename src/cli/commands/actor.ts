import type { Command } from 'commander';
import { createPlayer } from '../../../agents/index.ts';
import { hostedJobSchema, runHostedActors } from '../../trainer/hosted-loop.ts';
import { connectNatsLink } from '../../trainer/nats-link.ts';
import { readHostedRun } from '../bus-run.ts';
import { loadGame } from '../load-game.ts';
import { ConfigError } from '../../core/index.ts';
import { intOption, numberOption, printJson, type CliIO } from '../output.ts';

interface ActorOptions {
  bus: string;
  run: string;
  concurrency: number;
  wait: number;
  json?: boolean;
}

/** The actor's side of the run, waiting up to `seconds` for its learner to create it. */
async function joinRun(options: ActorOptions) {
  for (const deadline = Date.now() + options.wait * 1000; ; ) {
    try {
      return await connectNatsLink({ url: options.bus, run: options.run, side: 'actor', spec: hostedJobSchema });
    } catch (error) {
      if (!(error instanceof ConfigError) || !/^no run /.test(error.message) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export function registerActor(program: Command, io: CliIO): void {
  program
    .command('actor')
    .description("play a training run's matches from a NATS JetStream server until stopped: the learner is `selfplay train-llm --bus` in another process or on another machine")
    .requiredOption('--bus <url>', 'the NATS server with JetStream (nats://HOST:PORT)')
    .requiredOption('--run <name>', "the run's name on the bus (train-llm prints it)")
    .option('--concurrency <n>', 'matches in flight at once', intOption('--concurrency', 1), 8)
    .option('--wait <seconds>', "how long to wait for the run's learner to start", numberOption('--wait', 0), 30)
    .option('--json', 'print one JSON object {run, game, matches} when it stops')
    .addHelpText(
      'after',
      "\nThe learner writes what the matches need (the game, the policy and the host that samples it, prompts, fixed opponents); the host's URL must be reachable from here. Ctrl-C stops: matches under way are released to other actors.",
    )
    .action(async (options: ActorOptions) => {
      const link = await joinRun(options);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let matches = 0;
      let gameId = '';
      try {
        const run = readHostedRun(await link.description(), options.run);
        const game = await loadGame(run.game);
        gameId = game.id;
        const anchors = new Map(Object.entries(run.anchors).map(([label, spec]) => [label, createPlayer(spec, game)] as const));
        if (!options.json) io.err(`actor of run ${options.run}: ${game.id}, ${run.policy} sampled at ${run.apiBase}, ${options.concurrency} matches at once`);
        await runHostedActors(link, {
          game,
          sampling: { apiBase: run.apiBase, temperature: run.temperature, ...(run.prompts ? { prompts: run.prompts } : {}) },
          policyId: run.policy,
          anchors,
          concurrency: options.concurrency,
          signal: stop.signal,
          onReport: () => matches++,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await link.close();
      }
      if (options.json) return printJson(io, { run: options.run, game: gameId, matches });
      io.out(`stopped: ${matches} matches played for run ${options.run}`);
    });
}
