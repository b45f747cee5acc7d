import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../core/index.ts';
import { DEFAULT_EXEC_LIMITS, EXEC_LIMIT_RANGES, Executor, type JsonValue } from '../../../environments/absolute-zero/executor.ts';
import { printJson, type CliIO } from '../output.ts';

/** Parses a whole-number option within a range, with an error naming the option. */
function boundedInt(name: string, [min, max]: readonly [number, number]) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

/** Parses --input: a JSON array, f's arguments. */
function argumentsOption(value: string): JsonValue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`--input must be a JSON array of f's arguments, e.g. '[1, "two"]': ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new InvalidArgumentError(`--input must be a JSON array of f's arguments, e.g. '[1, "two"]', not ${value}`);
  return parsed as JsonValue[];
}

export function registerExec(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('exec')
    .description("run a JavaScript program's f(...input) in the QuickJS sandbox (fresh context, time and memory limits, run twice to catch nondeterminism)")
    .argument('<file>', 'a JavaScript file that defines a function f')
    .option('--input <json>', "JSON array of f's arguments", argumentsOption, [] as JsonValue[])
    .option('--timeout-ms <ms>', 'time limit for one run', boundedInt('--timeout-ms', EXEC_LIMIT_RANGES.timeoutMs), DEFAULT_EXEC_LIMITS.timeoutMs)
    .option('--memory-mb <mb>', 'memory limit', boundedInt('--memory-mb', EXEC_LIMIT_RANGES.memoryMb), DEFAULT_EXEC_LIMITS.memoryMb)
    .option('--json', 'print {ok, value} or {ok: false, error: {kind, message}}')
    .addHelpText(
      'after',
      `
Example: selfplay exec prog.js --input '[3, 4]'   (prog.js: function f(a, b) { return a * b; })
Error kinds: timeout, memory, syntax, runtime, output-limit, nondeterministic.
Exit status: 0 when f returned a JSON value, 1 when the program failed, 2 on bad usage.`,
    )
    .action(async (file: string, options: { input: JsonValue[]; timeoutMs: number; memoryMb: number; json?: boolean }) => {
      let source: string;
      try {
        source = readFileSync(file, 'utf8');
      } catch (error) {
        throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
      }
      const executor = await Executor.create({ timeoutMs: options.timeoutMs, memoryMb: options.memoryMb });
      let result;
      try {
        result = executor.runChecked(source, options.input);
      } finally {
        executor.dispose();
      }
      if (options.json) printJson(io, result);
      else io.out(result.ok ? JSON.stringify(result.value, null, 2) : `error (${result.error.kind}): ${result.error.message}`);
      setExit(result.ok ? 0 : 1);
    });
}
