import { Command, CommanderError } from 'commander';
import { SelfplayError } from '../core/errors.ts';
import { packageVersion } from '../core/package-files.ts';
import { COMMANDS } from './command-table.ts';
import { processIO, type CliIO } from './output.ts';

/** The command that `argv` runs (`selfplay help X` asks for X's help), if it names one. */
function commandNamed(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

/**
 * The program for `argv`: the command it runs is loaded in full; without one
 * (`--help`, a typo) every command is listed from the table, unloaded.
 */
export async function buildProgram(argv: readonly string[], io: CliIO, setExit: (code: number) => void): Promise<Command> {
  const program = new Command('selfplay')
    .description('Multi-agent self-play: define games, property-test their rules, play, analyse and train.')
    .version(packageVersion(), '-V, --version', 'print the version of selfplay')
    .showHelpAfterError()
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const name = commandNamed(argv);
  if (name !== undefined) {
    const register = await COMMANDS[name].load();
    register(program, io, setExit);
    return program;
  }
  const terms = new Map<Command, string>();
  for (const [commandName, entry] of Object.entries(COMMANDS)) terms.set(program.command(commandName).description(entry.summary), entry.term);
  program.configureHelp({ subcommandTerm: (command) => terms.get(command) ?? command.name() });
  return program;
}

/** A file the user named that cannot be read or written, in one line; undefined for any other error. */
function fileProblem(error: unknown): string | undefined {
  const { code, path } = error as { code?: unknown; path?: unknown };
  if (typeof path !== 'string') return undefined;
  if (code === 'ENOENT') return `no such file: ${path}`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied: ${path}`;
  if (code === 'EISDIR') return `${path} is a folder, not a file`;
  if (code === 'ENOTDIR') return `${path}: a part of the path is not a folder`;
  return undefined;
}

/** Runs the CLI; resolves to the exit status (0 ok, 1 a check failed, 2 bad usage or input). */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  try {
    const program = await buildProgram(argv, io, (c) => (code = c));
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const problem = error instanceof SelfplayError ? error.message : fileProblem(error);
    if (problem === undefined) throw error;
    io.err(`error: ${problem}`);
    return 2;
  }
}
