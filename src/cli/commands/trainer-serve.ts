import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { policyFile } from '../../analysis/index.ts';
import { ConfigError } from '../../core/index.ts';
import { EPISODE_ALGORITHMS, EpisodeTrainer, type EpisodeAlgorithm } from '../../trainer/episode-trainer.ts';
import { startTrainerService } from '../../trainer/service.ts';
import { TabularSoftmax } from '../../trainer/tabular-softmax.ts';
import { GAME_HELP, loadGame } from '../load-game.ts';
import { intOption, type CliIO } from '../output.ts';

interface ServeOptions {
  port: number;
  host: string;
  algo: EpisodeAlgorithm;
  policyId?: string;
  batchEpisodes: number;
  maxStaleness: number;
  out?: string;
}

export function registerTrainerServe(program: Command, io: CliIO): void {
  const trainer = program.command('trainer').description('the trainer as a service for arenas in other processes');
  trainer
    .command('serve')
    .description('accept episode streams over WebSocket (standard msgpack), learn a tabular policy, and serve its latest version')
    .argument('<game>', `the game whose episodes it learns from: ${GAME_HELP}`)
    .option('--port <n>', 'port (0: any free port)', intOption('--port'), 0)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--algo <name>', `advantage estimator: ${EPISODE_ALGORITHMS.join(', ')}`, 'rae')
    .option('--policy-id <id>', 'the policy id whose turns it learns from (default <game>-learner)')
    .option('--batch-episodes <n>', 'accepted episodes per update', intOption('--batch-episodes', 1), 1000)
    .option('--max-staleness <k>', 'drop episodes played by a version more than k updates old', intOption('--max-staleness'), 2)
    .option('--out <dir>', 'write policy.json there at every new version')
    .addHelpText('after', '\nThe protocol is in src/trainer/service.ts; connectTrainer(url) is the TypeScript client. Ctrl-C stops it.')
    .action(async (ref: string, options: ServeOptions) => {
      if (!EPISODE_ALGORITHMS.includes(options.algo)) throw new ConfigError(`--algo must be one of ${EPISODE_ALGORITHMS.join(', ')}, got "${options.algo}"`);
      const game = await loadGame(ref);
      const policyId = options.policyId ?? `${game.id}-learner`;
      const learner = new TabularSoftmax(game);
      const episodeTrainer = new EpisodeTrainer(game, learner, { policyId, algo: options.algo, batchEpisodes: options.batchEpisodes, maxStaleness: options.maxStaleness });
      const service = await startTrainerService(episodeTrainer, { port: options.port, host: options.host });
      if (options.out) mkdirSync(options.out, { recursive: true });
      episodeTrainer.versions$.subscribe((m) => {
        const { stats } = episodeTrainer;
        io.out(`version ${m.version}: ${m.samples} samples; episodes accepted ${stats.accepted}, stale ${stats.stale}, duplicates ${stats.duplicates}`);
        if (options.out) {
          const file = join(options.out, 'policy.json');
          writeFileSync(`${file}.tmp`, JSON.stringify(policyFile(game, learner.currentPolicy(), { policyId, version: m.version })));
          renameSync(`${file}.tmp`, file);
        }
      });
      io.out(`trainer for ${game.id} (policy id ${policyId}) listening on ${service.url}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await service.close();
      io.out(`stopped at version ${learner.version}`);
    });
}
