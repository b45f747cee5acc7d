import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leducPoker } from '../games/index.ts';
import { FastTrainer } from '../src/trainer/fast-loop.ts';
import { faultedTrainingRun } from '../test/trainer/bus-train-faults.ts';
import { table } from './measure.ts';

/**
 * The issue's fault run: Leduc poker trained by `selfplay train --bus` with
 * two actor processes while 10 actors, 3 learners and the server are
 * SIGKILLed (actors replaced, learners resumed, the server restarted), against
 * the same run without faults and in-process training of as many episodes.
 * Episodes: SELFPLAY_BENCH_EPISODES (default 100,000,000: about three
 * minutes for the faulted run on a 2-core machine, six for the whole bench).
 */
export async function benchBusFaults(): Promise<string> {
  const episodes = Number(process.env.SELFPLAY_BENCH_EPISODES ?? 100_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-bench-faults-'));
  try {
    const run = await faultedTrainingRun({ dir, game: 'leduc-poker', train: ['--episodes', String(episodes), '--seed', '1'], actors: 2, actorKills: 10, learnerKills: 3, serverRestarts: 1, log: (line) => console.error(line) });
    const local = await new FastTrainer(leducPoker(), { episodes, seed: 1 }).run();
    const same = run.faulted.policy === run.reference.policy && run.faulted.policyLast === run.reference.policyLast;
    const repeated = run.faulted.updates.length - new Set(run.faulted.updates).size;
    const rows = [
      { run: 'over NATS, faults', episodes: run.faulted.summary.episodes, updates: run.faulted.summary.updates, exploitability: run.faulted.summary.exploitability, 'same policy as without faults': same ? 'yes, bit for bit' : 'NO' },
      { run: 'over NATS, no faults', episodes: run.reference.summary.episodes, updates: run.reference.summary.updates, exploitability: run.reference.summary.exploitability, 'same policy as without faults': '' },
      { run: 'in-process (selfplay train)', episodes: local!.episodes, updates: local!.update, exploitability: local!.exploitability!, 'same policy as without faults': '' },
    ];
    return `${table(rows)}\n\nThe faulted run took ${run.faultedSeconds.toFixed(0)} s; its metrics hold ${run.faulted.updates.length} updates, ${repeated} repeated. Faults:\n${run.events.map((e) => `- ${e}`).join('\n')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
