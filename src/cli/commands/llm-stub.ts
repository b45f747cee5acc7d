import { InvalidArgumentError, type Command } from 'commander';
import { startLlmStub } from '../../../agents/llm/stub/server.ts';
import { intOption, type CliIO } from '../output.ts';

interface StubCommandOptions {
  port: number;
  model: string;
  latencyMs: number;
  failRate: number;
  failStatus: number;
  failFirst: number;
  invalidRate: number;
  invalidFirst: number;
  policy: 'random' | 'first';
  seed: number;
  json?: boolean;
}

const rateOption = (name: string) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1, got "${value}"`);
  return n;
};

const statusOption = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 400 || n > 599) throw new InvalidArgumentError(`--fail-status must be an HTTP error status from 400 to 599 (429, 500, 503...), got "${value}"`);
  return n;
};

const policyOption = (value: string): 'random' | 'first' => {
  if (value !== 'random' && value !== 'first') throw new InvalidArgumentError(`--policy must be random or first, got "${value}"`);
  return value;
};

/** Resolves on Ctrl-C or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `selfplay llm-stub`: a chat-completions server on 127.0.0.1 that plays legal moves, for tests and GPU-less pipelines. */
export function registerLlmStub(program: Command, io: CliIO, stopped: () => Promise<void> = untilSignal): void {
  program
    .command('llm-stub')
    .description('serve an OpenAI-compatible chat-completions API on 127.0.0.1 that answers with a legal move read from the prompt (for tests and pipelines without a GPU)')
    .option('--port <n>', 'port to listen on; 0 picks a free one', intOption('--port', 0), 0)
    .option('--model <name>', 'the model name it serves; other names get a 404', 'stub')
    .option('--latency-ms <ms>', 'milliseconds before each completion', intOption('--latency-ms', 0), 0)
    .option('--fail-rate <x>', 'share of completion requests that fail with --fail-status', rateOption('--fail-rate'), 0)
    .option('--fail-status <code>', 'status of a failed request: 429, 500, 503...', statusOption, 500)
    .option('--fail-first <n>', 'fail the first N completion requests', intOption('--fail-first', 0), 0)
    .option('--invalid-rate <x>', 'share of samples that answer with an illegal move', rateOption('--invalid-rate'), 0)
    .option('--invalid-first <n>', 'the first N samples answer with an illegal move', intOption('--invalid-first', 0), 0)
    .option('--policy <name>', 'how the legal move is chosen: random or first', policyOption, 'random')
    .option('--seed <n>', 'seed of the random choices', intOption('--seed', 0), 0)
    .option('--json', 'print {url, model, port} as one JSON line instead of a sentence')
    .action(async (options: StubCommandOptions) => {
      const stub = await startLlmStub(options);
      if (options.json) io.out(JSON.stringify({ url: stub.url, model: stub.model, port: stub.port }));
      else io.out(`llm-stub: serving model "${stub.model}" at ${stub.url}`);
      io.err('llm-stub: Ctrl-C stops it');
      await stopped();
      await stub.close();
      io.err(`llm-stub: stopped after ${stub.stats.requests} completion requests (${stub.stats.failures} failed on purpose, ${stub.stats.invalidSamples} illegal samples)`);
    });
}
