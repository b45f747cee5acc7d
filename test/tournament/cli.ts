// The selfplay command line with the tournament commands, for tests that run it as a child process
// (`node bin/run-ts.js test/tournament/cli.ts serve ...`): it adds `serve`, `agents` and `connect`
// when src/cli/main.ts does not register them itself.
import { CommanderError } from 'commander';
import { registerAgents } from '../../src/cli/commands/agents.ts';
import { registerConnect } from '../../src/cli/commands/connect.ts';
import { registerServe } from '../../src/cli/commands/serve.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { processIO } from '../../src/cli/output.ts';
import { SelfplayError } from '../../src/core/index.ts';

const program = buildProgram(processIO, (code) => (process.exitCode = code));
const registered = new Set(program.commands.map((command) => command.name()));
if (!registered.has('serve')) registerServe(program, processIO);
if (!registered.has('agents')) registerAgents(program, processIO);
if (!registered.has('connect')) registerConnect(program, processIO);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError || error instanceof SelfplayError)) throw error;
  if (error instanceof SelfplayError) processIO.err(`error: ${error.message}`);
  process.exitCode = error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
}
