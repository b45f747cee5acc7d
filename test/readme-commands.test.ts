import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The README's shell commands, run in order in a fresh folder as a reader would, except those
// that need what a test cannot have here (a model server, a person, minutes of training).
const readme = readFileSync('README.md', 'utf8');
const BIN = resolve('bin/selfplay.js');

/** Each command of the README's sh/bash blocks, continuation lines joined, with its comment. */
function readmeCommands(): { command: string; comment: string }[] {
  const commands: { command: string; comment: string }[] = [];
  for (const block of readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
    const text = block[1].replace(/\\\n\s*/g, '');
    for (const line of text.split('\n')) {
      const [command, ...comment] = line.split(/\s+#\s/);
      if (command.trim() && !command.trim().startsWith('#')) commands.push({ command: command.trim(), comment: comment.join(' # ') });
    }
  }
  return commands;
}

/** Why a command is not run here; every command the README shows is either run or named by one of these. */
const NOT_HERE: [RegExp, string][] = [
  [/^npm (ci|test|pack|install)|^cd |npm start/, 'set-up and packaging (CI runs them; test/package packs and installs)'],
  [/llm:|llm-stub|vllm|OPENAI_BASE_URL|train-llm|selfplay_host|--model /, 'needs a model server'],
  [/--agent human/, 'needs a person at the terminal'],
  [/selfplay (serve|connect)/, 'runs until stopped (test/tournament serves and connects)'],
  [/^nats-server|selfplay actor/, 'runs until stopped (test/policy-host/async.test.ts runs a learner and two actors over a NATS server)'],
  [/selfplay train /, 'trains for 40 s to 10 minutes (test/trainer runs short trainings)'],
  [/selfplay train --resume/, 'resumes a long training run'],
  [/SkyRL|^uv /, "SkyRL's Tinker server on a GPU node (not reachable here)"],
];

const dir = mkdtempSync(join(tmpdir(), 'selfplay-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the README's commands, in order, in a fresh folder", () => {
  const commands = readmeCommands();
  // The tutorial's file, saved as the README says.
  const nim = /The complete file, `my-nim\.ts`:\s*```ts\n([\s\S]*?)```/.exec(readme);

  it('finds the tutorial file and a command to run in each section', () => {
    expect(nim).not.toBeNull();
    expect(commands.length).toBeGreaterThan(30);
  });

  for (const { command, comment } of commands) {
    const skip = NOT_HERE.find(([pattern]) => pattern.test(command));
    it.skipIf(skip !== undefined)(`${command}${skip ? ` (not here: ${skip[1]})` : ''}`, () => {
      writeFileSync(join(dir, 'my-nim.ts'), nim![1]);
      const expected = Number(/exit status (\d)/.exec(comment)?.[1] ?? 0);
      const { status, stdout, stderr } = spawnSync('sh', ['-c', command.replaceAll('npx selfplay', `node ${BIN}`)], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      expect(status, `${stdout}\n${stderr}`).toBe(expected);
    }, 150_000);
  }
});
