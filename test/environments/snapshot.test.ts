import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { createAbsoluteZero } from '../../environments/absolute-zero/index.ts';
import { createCreatorSolver } from '../../environments/creator-solver/index.ts';
import { createStp } from '../../environments/stp/index.ts';
import { ConfigError, type Environment } from '../../src/core/index.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

const play = (environment: Environment, matches: number, seed: number) =>
  lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches, seed, runId: `s${seed}` }).pipe(toArray()));

const cases: [string, () => Environment | Promise<Environment>][] = [
  ['absolute-zero', () => createAbsoluteZero({ solvers: 2 })],
  ['creator-solver', () => createCreatorSolver({ samples: 3 })],
  ['stp', () => createStp()],
];

describe('an environment restored from its snapshot', () => {
  it.each(cases)('%s goes on exactly as the one it was taken from', async (_, make) => {
    const original = await make();
    await play(original, 60, 1);
    const saved = JSON.parse(JSON.stringify(original.snapshot!()));
    const restored = await make();
    restored.restore!(saved);
    expect(restored.stats()).toEqual(original.stats());
    // The same matches from here: the same episodes and the same state after them.
    const [a, b] = [await play(original, 30, 2), await play(restored, 30, 2)];
    expect(b.map((e) => [e.game.params, e.returns])).toEqual(a.map((e) => [e.game.params, e.returns]));
    expect(JSON.parse(JSON.stringify(restored.snapshot!()))).toEqual(JSON.parse(JSON.stringify(original.snapshot!())));
  }, 60_000);

  it.each(cases)('%s refuses a state that is not its own, changing nothing', async (id, make) => {
    const environment = await make();
    await play(environment, 10, 3);
    const before = JSON.stringify(environment.snapshot!());
    for (const bad of [null, {}, { ...JSON.parse(before), extra: 1 }, [1, 2]]) {
      expect(() => environment.restore!(bad), JSON.stringify(bad)).toThrow(ConfigError);
      expect(() => environment.restore!(bad)).toThrow(new RegExp(`^${id}: the saved environment state cannot be restored`));
    }
    expect(JSON.stringify(environment.snapshot!())).toBe(before);
  }, 60_000);
});
