import type { Command } from 'commander';
import type { CliIO } from './output.ts';

/** Adds one command (with its subcommands) to the program. */
export type RegisterCommand = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

/**
 * A top-level command as `selfplay --help` lists it, and how to load it. Only
 * the command that runs is imported, so a command's dependencies (LangChain,
 * SQLite, QuickJS, the tournament server) cost nothing to the others.
 * `term` and `summary` repeat what the command's module declares; a test holds
 * them equal.
 */
export interface CommandEntry {
  readonly term: string;
  readonly summary: string;
  load(): Promise<RegisterCommand>;
}

const analysis = async (): Promise<RegisterCommand> => (await import('./commands/analysis.ts')).registerAnalysis;

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  games: {
    term: 'games [options]',
    summary: 'list the built-in games: id, seats, information and a one-line description',
    load: async () => (await import('./commands/games.ts')).registerGames,
  },
  play: {
    term: 'play [options] <game>',
    summary: 'play matches between agents (random, mcts, tabular, llm, human), printing the game or a results table',
    load: async () => (await import('./commands/play.ts')).registerPlay,
  },
  replay: {
    term: 'replay [options] <file>',
    summary: 'print an episode of a .msgpack or .jsonl file readably, or list them',
    load: async () => (await import('./commands/replay.ts')).registerReplay,
  },
  check: {
    term: 'check [options] [games...]',
    summary: "property-test games' rules: random legal play against every invariant, shrinking any failure to its shortest history",
    load: async () => (await import('./commands/check.ts')).registerCheck,
  },
  exec: {
    term: 'exec [options] <file>',
    summary: "run a JavaScript program's f(...input) in the QuickJS sandbox (fresh context, time and memory limits, run twice to catch nondeterminism)",
    load: async () => (await import('./commands/exec.ts')).registerExec,
  },
  solve: {
    term: 'solve [options] <game>',
    summary: 'solve a two-player zero-sum perfect-information game exactly by minimax: its value and number of distinct states',
    load: analysis,
  },
  exploitability: {
    term: 'exploitability [options] <game>',
    summary: 'how far a tabular policy is from a Nash equilibrium: each seat\'s best-response value, NashConv and exploitability',
    load: analysis,
  },
  cfr: {
    term: 'cfr [options] <game>',
    summary: 'compute an approximate Nash equilibrium with counterfactual regret minimisation (CFR, CFR+, or sampled MCCFR)',
    load: analysis,
  },
  train: {
    term: 'train [options] [game]',
    summary: 'learn a policy by self-play: episodes in, magnetic-mirror-descent updates out, exploitability measured as it falls',
    load: async () => (await import('./commands/train.ts')).registerTrain,
  },
  trainer: {
    term: 'trainer',
    summary: 'the trainer as a service for arenas in other processes',
    load: async () => (await import('./commands/trainer-serve.ts')).registerTrainerServe,
  },
  actor: {
    term: 'actor [options]',
    summary: "play a training run's matches from a NATS JetStream server until stopped: the learner is `selfplay train --bus` or `selfplay train-llm --bus` in another process or on another machine",
    load: async () => (await import('./commands/actor.ts')).registerActor,
  },
  'train-llm': {
    term: 'train-llm [options] [game]',
    summary: 'train a language model over the Tinker API by self-play (or against an opponent), or in every role of an environment (--env): play a batch, one training step, publish, repeat',
    load: async () => (await import('./commands/train-llm.ts')).registerTrainLlm,
  },
  'llm-stub': {
    term: 'llm-stub [options]',
    summary: 'serve an OpenAI-compatible chat-completions API on 127.0.0.1 that answers with a legal move read from the prompt (for tests and pipelines without a GPU)',
    load: async () => {
      const { registerLlmStub } = await import('./commands/llm-stub.ts');
      return (program, io) => registerLlmStub(program, io);
    },
  },
  serve: {
    term: 'serve [options]',
    summary: 'run the tournament server: agents connect over WebSocket, spectators open the live page',
    load: async () => (await import('./commands/serve.ts')).registerServe,
  },
  agents: {
    term: 'agents',
    summary: 'agents of a tournament server: register them and issue their tokens',
    load: async () => (await import('./commands/agents.ts')).registerAgents,
  },
  connect: {
    term: 'connect [options] <url>',
    summary: 'play an agent on a tournament server until interrupted, reconnecting when the connection drops',
    load: async () => (await import('./commands/connect.ts')).registerConnect,
  },
  env: {
    term: 'env [options] [name]',
    summary: 'run an asymmetric self-play environment (absolute-zero, self-play-critic, teacher-student, creator-solver, stp, sppo, spin, rest-mcts) with scripted or language-model roles',
    load: async () => (await import('./commands/env.ts')).registerEnv,
  },
};
