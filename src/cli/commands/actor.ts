import type { Command } from 'commander';
import { createPlayer } from '../../../agents/index.ts';
import type { Game } from '../../core/index.ts';
import { hostedJobSchema, runHostedActors } from '../../trainer/hosted-loop.ts';
import { connectNatsLink, readRunDescription } from '../../trainer/nats-link.ts';
import { terminalsCodec, runTabularActors, tabularJobSchema } from '../../trainer/tabular-bus.ts';
import { readBusRun, type HostedRunDescription } from '../bus-run.ts';
import { loadGame } from '../load-game.ts';
import { intOption, numberOption, printJson, type CliIO } from '../output.ts';

interface ActorOptions {
  bus: string;
  run: string;
  concurrency: number;
  wait: number;
  json?: boolean;
}

export function registerActor(program: Command, io: CliIO): void {
  program
    .command('actor')
    .description("play a training run's matches from a NATS JetStream server until stopped: the learner is `selfplay train --bus` or `selfplay train-llm --bus` in another process or on another machine")
    .requiredOption('--bus <url>', 'the NATS server with JetStream (nats://HOST:PORT)')
    .requiredOption('--run <name>', "the run's name on the bus (the learner prints it)")
    .option('--concurrency <n>', 'matches (train-llm) or chunks of episodes (train) in play at once', intOption('--concurrency', 1), 8)
    .option('--wait <seconds>', "how long to wait for the run's learner to start", numberOption('--wait', 0), 30)
    .option('--json', 'print one JSON object {run, game, jobs} when it stops')
    .addHelpText(
      'after',
      "\nThe learner writes what the matches need: the game, and for train-llm the policy and the host that samples it (its URL must be reachable from here), prompts and fixed opponents. Ctrl-C stops: jobs under way are released to other actors.",
    )
    .action(async (options: ActorOptions) => {
      const run = readBusRun(await readRunDescription({ url: options.bus, run: options.run, timeoutMs: options.wait * 1000 }), options.run);
      const game = await loadGame(run.game);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let jobs = 0;
      const onReport = () => jobs++;
      try {
        if (run.kind === 'train') {
          const link = await connectNatsLink({ url: options.bus, run: options.run, side: 'actor', spec: tabularJobSchema, result: terminalsCodec, log: io.err });
          if (!options.json) io.err(`actor of run ${options.run}: ${game.id} tabular self-play, ${options.concurrency} chunks at once`);
          await runTabularActors(link, { game, concurrency: options.concurrency, signal: stop.signal, onReport }).finally(() => link.close());
        } else await playHosted(run, game, options, stop.signal, onReport, io);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (options.json) return printJson(io, { run: options.run, game: game.id, jobs });
      io.out(`stopped: ${jobs} ${run.kind === 'train' ? 'chunks' : 'matches'} played for run ${options.run}`);
    });
}

async function playHosted(run: HostedRunDescription, game: Game, options: ActorOptions, signal: AbortSignal, onReport: () => void, io: CliIO): Promise<void> {
  const link = await connectNatsLink({ url: options.bus, run: options.run, side: 'actor', spec: hostedJobSchema, log: io.err });
  // The learner samples over the Tinker API (--tokenizer): so do its actors, with a session of their own.
  const tinker = run.tinker && {
    tokenizer: await (await import('../../../agents/llm/chat-tokenizer.ts')).loadChatTokenizer(run.tinker.tokenizer),
    client: await (await import('../../../agents/hosted/tinker-client.ts')).TinkerClient.connect(run.tinker.url, { tags: ['selfplay', 'actor'] }),
    ...(run.tinker.maxTokens ? { maxTokens: run.tinker.maxTokens } : {}),
  };
  try {
    const anchors = new Map(Object.entries(run.anchors).map(([label, spec]) => [label, createPlayer(spec, game)] as const));
    if (!options.json) io.err(`actor of run ${options.run}: ${game.id}, ${run.policy} sampled ${run.tinker ? `over the Tinker API at ${run.tinker.url}` : `at ${run.apiBase}`}, ${options.concurrency} matches at once`);
    await runHostedActors(link, {
      game,
      sampling: { apiBase: run.apiBase, temperature: run.temperature, ...(run.prompts ? { prompts: run.prompts } : {}), ...(tinker ? { tinker } : {}) },
      policyId: run.policy,
      anchors,
      concurrency: options.concurrency,
      signal,
      onReport,
    });
  } finally {
    tinker?.client.close();
    await link.close();
  }
}
