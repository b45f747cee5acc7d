import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { runCli } from './run-cli.ts';

const silent = { out: () => {}, err: () => {} };

describe('the command table', () => {
  it('lists each command as its module declares it (name, arguments, description)', async () => {
    const help = new Help();
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const program = new Command('selfplay');
      (await entry.load())(program, silent, () => {});
      const command = program.commands.find((c) => c.name() === name);
      expect(command, `${name} is registered by its module`).toBeDefined();
      expect(help.subcommandTerm(command!)).toBe(entry.term);
      expect(command!.description()).toBe(entry.summary);
    }
  });

  it('top-level help lists every command without loading any', async () => {
    const { out, code } = await runCli('--help');
    expect(code).toBe(0);
    for (const entry of Object.values(COMMANDS)) expect(out.replace(/\s+/g, ' ')).toContain(entry.summary.split(' ').slice(0, 4).join(' '));
  });

  it('`help X` and `X --help` show the command in full', async () => {
    for (const args of [['help', 'check'], ['check', '--help']]) {
      const { out, code } = await runCli(...args);
      expect(code).toBe(0);
      expect(out).toMatch(/--runs/);
    }
  });

  it('an unknown command is a usage error with a suggestion', async () => {
    const { err, code } = await runCli('chek', 'nim');
    expect(code).toBe(2);
    expect(err).toMatch(/unknown command 'chek'/);
    expect(err).toMatch(/check/);
  });

  it('--version prints the package version', async () => {
    const { out, code } = await runCli('--version');
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
