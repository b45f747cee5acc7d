import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { lastValueFrom, toArray } from 'rxjs';
import { llmAgent } from '../agents/llm/agent.ts';
import { LlmClient } from '../agents/llm/llm-client.ts';
import type { ModelCompletion } from '../agents/llm/completion.ts';
import { GamePrompter } from '../agents/llm/game-prompt.ts';
import { fitMeta, turnMeta } from '../agents/llm/meta.ts';
import { resolveLlmOptions } from '../agents/llm/options.ts';
import { kuhnPoker } from '../games/index.ts';
import { Rng, sampleChance, type Game } from '../src/core/index.ts';
import { policyAgent, PROTOCOL_VERSION, runArena, type StartMessage, type TurnMessage } from '../src/runtime/index.ts';
import { median, table } from './measure.ts';

const LATENCY_MS = 50;
const CONCURRENCIES = [32, 128, 256];
/** Matches per run, as a multiple of the matches in flight. */
const ROUNDS = 12;

/** A TypeScript module body run in a child process with the repository's loader, spoken to over IPC. */
function child(body: string) {
  const code = ["import { register } from 'node:module';", "register('./bin/ts-hooks.mjs', new URL(`file://${process.cwd()}/`));", body].join('\n');
  const spawned = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited: ((error: Error) => void) | undefined;
  spawned.once('exit', (status) => exited?.(new Error(`a benchmark process exited (${status})`)));
  return {
    next: <T>() =>
      new Promise<T>((resolve, reject) => {
        exited = reject;
        spawned.once('message', (message) => resolve(message as T));
      }),
    send: (message: unknown) => spawned.send(message as never),
    stop: () => spawned.kill(),
  };
}

/** The stub server in its own process, as a model server would be; it reports its CPU time (microseconds) when asked. */
async function stubProcess() {
  const stub = child(`
    const { startLlmStub } = await import('./agents/llm/stub/server.ts');
    const stub = await startLlmStub({ latencyMs: ${LATENCY_MS} });
    process.on('message', () => { const { user, system } = process.cpuUsage(); process.send(user + system); });
    process.send(stub.url);`);
  const url = await stub.next<string>();
  return {
    url,
    cpu: async () => {
      const answer = stub.next<number>();
      stub.send('cpu');
      return answer;
    },
    stop: stub.stop,
  };
}

export interface ShardResult {
  readonly turns: number;
  readonly seconds: number;
  /** This process's CPU time during the run. */
  readonly cpuUs: number;
}

/** Kuhn poker between two llm agents sharing one client: `matches` of them, `concurrency` at once. */
export async function runShard(url: string, concurrency: number, matches: number): Promise<ShardResult> {
  const client = new LlmClient(resolveLlmOptions({ model: 'stub', baseURL: url, concurrency }, {}));
  const agent = llmAgent({ client });
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const episodes = await lastValueFrom(
      runArena({ game: kuhnPoker(), players: [{ name: 'a', agent }, { name: 'b', agent }], matches, concurrency, seed: matches }).pipe(toArray()),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const failed = episodes.filter((e) => e.outcome !== 'normal');
    if (failed.length) throw new Error(`${failed.length} of ${matches} matches did not end normally, e.g. ${failed[0].reason}`);
    const turns = episodes.reduce((n, e) => n + e.steps.filter((s) => s.seat !== 'chance').length, 0);
    return { turns, seconds, cpuUs: used.user + used.system };
  } finally {
    client.close();
  }
}

/** The same matches with agents that answer after the latency without calling a model: what the runtime alone allows. */
async function withoutModel(concurrency: number): Promise<Row> {
  const agent = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), LATENCY_MS)));
  const play = (matches: number) =>
    lastValueFrom(runArena({ game: kuhnPoker(), players: [{ name: 'a', agent }, { name: 'b', agent }], matches, concurrency, seed: matches }).pipe(toArray()));
  await play(Math.max(512, concurrency * 2));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const episodes = await play(concurrency * ROUNDS);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const turns = episodes.reduce((n, e) => n + e.steps.filter((s) => s.seat !== 'chance').length, 0);
  return { agents: 'no model call (answers after 50 ms)', processes: 1, concurrency, turns, seconds, clientUs: used.user + used.system, stubUs: 0 };
}

interface Row {
  /** What played: llm agents, or agents that make no model call. */
  readonly agents: string;
  readonly processes: number;
  readonly concurrency: number;
  readonly turns: number;
  readonly seconds: number;
  readonly clientUs: number;
  readonly stubUs: number;
}

/** One client (this process) against one stub process. */
async function singleProcess(concurrency: number): Promise<Row> {
  const stub = await stubProcess();
  try {
    await runShard(stub.url, concurrency, Math.max(512, concurrency * 2)); // warm-up: sockets, JIT
    const stubCpu = await stub.cpu();
    const run = await runShard(stub.url, concurrency, concurrency * ROUNDS);
    return { agents: 'llm agents', processes: 1, concurrency, turns: run.turns, seconds: run.seconds, clientUs: run.cpuUs, stubUs: (await stub.cpu()) - stubCpu };
  } finally {
    stub.stop();
  }
}

/** `shards` client processes, each with its own stub process, `concurrency / shards` matches at once in each; started together. */
async function sharded(shards: number, concurrency: number): Promise<Row> {
  const each = Math.ceil(concurrency / shards);
  const stubs = await Promise.all(Array.from({ length: shards }, stubProcess));
  const clients = Array.from({ length: shards }, () =>
    child(`
      const { runShard } = await import('./bench/llm.ts');
      const { url, concurrency, matches } = await new Promise((resolve) => process.once('message', resolve));
      await runShard(url, concurrency, concurrency * 2);
      process.send('ready');
      await new Promise((resolve) => process.once('message', resolve));
      process.send(await runShard(url, concurrency, matches));`),
  );
  try {
    const ready = clients.map((c) => c.next());
    clients.forEach((c, i) => c.send({ url: stubs[i].url, concurrency: each, matches: each * ROUNDS }));
    await Promise.all(ready);
    const stubCpu = await Promise.all(stubs.map((s) => s.cpu()));
    const results = clients.map((c) => c.next<ShardResult>());
    for (const c of clients) c.send('go');
    const runs = await Promise.all(results);
    const stubUsed = (await Promise.all(stubs.map((s) => s.cpu()))).reduce((sum, cpu, i) => sum + cpu - stubCpu[i], 0);
    return {
      agents: 'llm agents',
      processes: shards,
      concurrency: each * shards,
      turns: runs.reduce((n, r) => n + r.turns, 0),
      seconds: Math.max(...runs.map((r) => r.seconds)),
      clientUs: runs.reduce((n, r) => n + r.cpuUs, 0),
      stubUs: stubUsed,
    };
  } finally {
    for (const c of clients) c.stop();
    for (const s of stubs) s.stop();
  }
}

/** Turns from random deals and lines of play, with their states and the start messages of their seats. */
function sampleTurns<S>(game: Game<S>, count: number): { state: S; start: StartMessage; turn: TurnMessage }[] {
  const rng = new Rng(1);
  const turns: { state: S; start: StartMessage; turn: TurnMessage }[] = [];
  while (turns.length < count) {
    let state = game.initial();
    for (let turn = game.turn(state); turn !== 'terminal'; turn = game.turn(state)) {
      if (turn === 'chance') {
        state = game.apply(state, sampleChance(game.chanceOutcomes(state), rng));
        continue;
      }
      const legal = game.legalActions(state);
      const start: StartMessage = { type: 'start', v: PROTOCOL_VERSION, matchId: 'bench', game: game.id, params: {}, seat: turn, seats: 2, seed: 1, rules: game.rules(turn) };
      const message: TurnMessage = {
        type: 'turn', v: PROTOCOL_VERSION, matchId: 'bench', step: 0, seat: turn,
        observation: game.observationText(state, turn),
        legal: legal.map((a) => game.actionText(state, a)),
        view: { observation: null, infoKey: game.infoKey(state, turn) },
        timeoutMs: 60_000,
      };
      turns.push({ state, start, turn: message });
      state = game.apply(state, rng.pick(legal));
    }
  }
  return turns;
}

/** Microseconds per turn for the agent's own text work: the prompt, the meta record, and the referee's parse of the answer. */
function promptAndParse(rounds: number): number {
  const game = kuhnPoker();
  const prompter = new GamePrompter();
  const turns = sampleTurns(game, 2000);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    for (const { state, start, turn } of turns) {
      const messages = prompter.messages(start, turn);
      const answer = turn.legal[turns.length % turn.legal.length];
      const text = `Let me think step by step. I choose ${answer}.\n\\boxed{${answer.slice(1, -1)}}`;
      const completion: ModelCompletion = { model: 'stub', samples: [{ text, finishReason: 'stop', tokenIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], logprobs: [-0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -1] }], usage: { promptTokens: 120, completionTokens: 10, totalTokens: 130 }, latencyMs: 50, attempts: 1, failures: [] };
      fitMeta(turnMeta(messages, completion, 0));
      game.parseAction(state, text);
    }
    times.push(((performance.now() - started) * 1000) / turns.length);
  }
  return median(times);
}

/**
 * Language-model agents against the stub at 50 ms a request: Kuhn poker
 * turns per second against the ideal (matches in flight / latency), in one
 * process at several concurrencies and, on machines with the cores for it,
 * sharded over processes; and the per-turn cost of building prompts and parsing answers.
 */
export async function benchLlm(options: { shards?: number } = {}): Promise<string> {
  const shards = options.shards ?? Math.min(8, Math.floor(availableParallelism() / 2));
  const runs: Row[] = [];
  for (const concurrency of CONCURRENCIES) runs.push(await singleProcess(concurrency));
  if (shards > 1) runs.push(await sharded(shards, CONCURRENCIES[CONCURRENCIES.length - 1]));
  runs.push(await withoutModel(CONCURRENCIES[CONCURRENCIES.length - 1]));
  const rows = runs.map((r) => {
    const ideal = r.concurrency / (LATENCY_MS / 1000);
    const rate = r.turns / r.seconds;
    return {
      agents: r.agents,
      processes: r.processes,
      'matches at once': r.concurrency,
      'ideal turns/s': ideal,
      'turns/s': rate,
      'of ideal': `${((100 * rate) / ideal).toFixed(1)}%`,
      'client CPU us/turn': r.clientUs / r.turns,
      'stub CPU us/turn': r.stubUs ? r.stubUs / r.turns : '-',
    };
  });
  return [
    table(rows),
    '',
    `kuhn-poker, two llm agents sharing one client per process, each client process with its own stub process (${LATENCY_MS} ms per request); logprobs and token ids on.`,
    'The last row plays the same matches with agents that answer after the same delay without calling a model: the ceiling the runtime alone sets.',
    `Client CPU is all of a client process's work per turn: LangChain, the OpenAI client, HTTP, the agent, the referee. ${availableParallelism()} CPUs${shards > 1 ? '' : ': too few for a sharded run'}.`,
    '',
    table([{ measure: 'prompt building + meta + parsing the answer, per turn (us)', value: promptAndParse(5) }]),
  ].join('\n');
}
