import { benchAnalysis } from './analysis.ts';
import { benchArena } from './arena.ts';
import { benchBus } from './bus.ts';
import { benchBusFaults } from './bus-faults.ts';
import { benchCheck } from './check.ts';
import { benchCli } from './cli.ts';
import { benchEnvironments } from './environments.ts';
import { benchEpisodes } from './episodes.ts';
import { benchExecutor } from './executor.ts';
import { benchLlm } from './llm.ts';
import { benchPlayOut } from './play-out.ts';
import { benchPlayouts } from './playouts.ts';
import { benchPolicyHost } from './policy-host.ts';
import { benchStp } from './stp.ts';
import { benchTokenizer } from './tokenizer.ts';
import { benchTournament } from './tournament.ts';
import { benchTrainLlm } from './train-llm.ts';
import { benchTrainer } from './trainer.ts';

/** `npm run bench [-- name...]`: prints each benchmark's table. Timings only, no assertions. */
const benches: Record<string, { title: string; run: () => string | Promise<string> }> = {
  playouts: { title: 'Random playouts (start to terminal, uniform legal actions, sampled chance)', run: () => benchPlayouts() },
  cli: { title: 'Command start-up (wall ms, median of 10; the installed package and the checkout)', run: benchCli },
  check: { title: 'Rule checker, default runs (`selfplay check <game>`)', run: benchCheck },
  analysis: { title: 'Game-theory toolkit (milliseconds, median of rounds)', run: benchAnalysis },
  arena: { title: 'In-process arena: matches through the actor runtime', run: benchArena },
  trainer: { title: 'Trainer: fast path, tabular updates, time to a target exploitability', run: () => benchTrainer() },
  llm: { title: 'Language-model agents against the stub server', run: () => benchLlm() },
  tournament: { title: 'Tournament server over WebSocket (loopback, server in a child process)', run: benchTournament },
  'policy-host': { title: 'Policy host: sampling and training steps (the reference host on this machine, or POLICY_HOST_URL)', run: benchPolicyHost },
  'train-llm': { title: 'Language-model self-play on the reference host: synchronous against asynchronous training (Kuhn poker, and self-play-critic; the same wall time)', run: benchTrainLlm },
  bus: { title: 'The actor/learner link: NATS JetStream against in-process (episodes/s at the learner, version propagation)', run: benchBus },
  'bus-faults': { title: 'Tabular training over NATS through faults: 10 actor, 3 learner and 1 server SIGKILLs (Leduc poker)', run: benchBusFaults },
  episodes: { title: 'Episode files: write, reopen for append, stream back 1M Kuhn poker episodes', run: () => benchEpisodes() },
  'play-out': { title: '`selfplay play kuhn-poker` with and without --out: matches/s, peak RSS, time from a match to the disk', run: () => benchPlayOut() },
  tokenizer: { title: "Qwen3's chat template and tokenizer on SPIRAL's Kuhn poker prompts (one core)", run: () => benchTokenizer() },
  stp: { title: 'STP: the Hilbert proof checker (one core)', run: () => benchStp() },
  environments: { title: 'Asymmetric environments: 200 matches each, every role scripted (default options, one process)', run: () => benchEnvironments() },
  executor: { title: 'Code executor: small programs in a fresh QuickJS context each (`selfplay exec`, Absolute Zero)', run: () => benchExecutor() },
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
console.log(`node ${process.version}, ${new Date().toISOString()}\n`);
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  console.log(`## ${benches[name].title}\n`);
  console.log(`${await benches[name].run()}\n`);
}
