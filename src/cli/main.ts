import { Command, CommanderError } from 'commander';
import { SelfplayError } from '../core/index.ts';
import { registerAgents } from './commands/agents.ts';
import { registerAnalysis } from './commands/analysis.ts';
import { registerCheck } from './commands/check.ts';
import { registerConnect } from './commands/connect.ts';
import { registerEnv } from './commands/env.ts';
import { registerExec } from './commands/exec.ts';
import { registerGames } from './commands/games.ts';
import { registerLlmStub } from './commands/llm-stub.ts';
import { registerPlay } from './commands/play.ts';
import { registerReplay } from './commands/replay.ts';
import { registerServe } from './commands/serve.ts';
import { registerTrain } from './commands/train.ts';
import { registerTrainLlm } from './commands/train-llm.ts';
import { registerTrainerServe } from './commands/trainer-serve.ts';
import { processIO, type CliIO } from './output.ts';

export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('selfplay')
    .description('Multi-agent self-play: define games, property-test their rules, play, analyse and train.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerGames(program, io);
  registerPlay(program, io);
  registerReplay(program, io);
  registerCheck(program, io, setExit);
  registerExec(program, io, setExit);
  registerAnalysis(program, io);
  registerTrain(program, io);
  registerTrainerServe(program, io);
  registerTrainLlm(program, io);
  registerLlmStub(program, io);
  registerServe(program, io);
  registerAgents(program, io);
  registerConnect(program, io);
  registerEnv(program, io);
  return program;
}

/** Runs the CLI; resolves to the exit status (0 ok, 1 a check failed, 2 bad usage or input). */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof SelfplayError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
