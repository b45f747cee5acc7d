import type { Command } from 'commander';
import { Rng, sampleChance } from '../../core/index.ts';
import { loadGame } from '../load-game.ts';
import { intOption, printJson, type CliIO } from '../output.ts';

export function registerPlay(program: Command, io: CliIO): void {
  program
    .command('play')
    .description('play one game with uniformly random legal moves, printing what each seat observed and did')
    .argument('<game>', 'a built-in game id (with parameters: kuhn-poker:hands=3) or a path to a module exporting a game')
    .option('--seed <n>', 'seed for the random moves and chance outcomes', intOption('--seed'), 0)
    .option('--json', 'print one JSON object {game, seed, steps, history, returns}')
    .action(async (ref: string, options: { seed: number; json?: boolean }) => {
      const game = await loadGame(ref);
      const rng = new Rng(options.seed);
      const steps: { turn: number | 'chance'; observation?: string; action: string }[] = [];
      let state = game.initial();
      for (let turn = game.turn(state); turn !== 'terminal'; turn = game.turn(state)) {
        const action = turn === 'chance' ? sampleChance(game.chanceOutcomes(state), rng) : rng.pick(game.legalActions(state));
        steps.push({ turn, observation: turn === 'chance' ? undefined : game.observationText(state, turn), action: game.actionText(state, action) });
        state = game.apply(state, action);
      }
      const returns = game.returns(state);
      if (options.json) {
        return printJson(io, { game: game.id, params: game.params, seed: options.seed, steps, history: game.history(state), returns });
      }
      io.out(`${game.id} (seed ${options.seed}): ${game.description}\n`);
      for (const step of steps) {
        if (step.turn === 'chance') {
          io.out(`chance: ${step.action}\n`);
          continue;
        }
        io.out(`seat ${step.turn} observes:\n${indent(step.observation ?? '')}\nseat ${step.turn} plays ${step.action}\n`);
      }
      for (let seat = 0; seat < game.seats; seat++) io.out(`final view of seat ${seat}:\n${indent(game.observationText(state, seat))}\n`);
      io.out(`returns: ${returns.map((r, seat) => `seat ${seat} ${r > 0 ? '+' : ''}${r}`).join(', ')}`);
    });
}

const indent = (text: string) => text.split('\n').map((line) => `  ${line}`).join('\n');
