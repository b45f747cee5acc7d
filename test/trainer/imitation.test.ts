import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { createRestMcts } from '../../environments/rest-mcts/index.ts';
import { createSpin } from '../../environments/spin/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';
import { imitationSequences } from '../../src/trainer/imitation.ts';

/** Scripted rest-mcts episodes as if the policy `p` had played them: move i of each carries prompt [i] and completion [1000 + i]. */
async function searches(matches: number) {
  const environment = createRestMcts({ reasonerSkill: 0.6 });
  const played = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches, seed: 4 }).pipe(toArray()));
  const episodes: Episode[] = played.map((episode) => {
    let move = 0;
    return {
      ...episode,
      players: episode.players.map((p) => ({ ...p, policy: { id: 'p', version: 0 } })),
      steps: episode.steps.map((step) => (step.valid ? { ...step, meta: { promptTokenIds: [move], completionTokenIds: [1000 + move++], logprobs: [-1] } } : step)),
    };
  });
  return { environment, episodes };
}

describe('the moves imitated', () => {
  it("are the best trace's moves of each solved search, as the tokens they were sampled with", async () => {
    const { environment, episodes } = await searches(12);
    const sequences = imitationSequences(episodes, environment, 'p');
    const expected = episodes.flatMap((episode) => {
      const { imitate } = environment.trainingTargets!(episode.game, episode.history);
      return imitate.map((i) => ({ episodeId: episode.id, prompt: [i], completion: [1000 + i] }));
    });
    expect(sequences).toEqual(expected);
    expect(new Set(sequences.map((s) => s.episodeId)).size).toBe(episodes.filter((e) => e.returns[0] === 1).length);
    expect(sequences.length).toBeGreaterThan(12);
  });

  it("leave out another policy's seats, moves without token ids and matches cut short", async () => {
    const { environment, episodes } = await searches(4);
    expect(imitationSequences(episodes, environment, 'someone-else')).toEqual([]);
    const bare = episodes.map((e) => ({ ...e, steps: e.steps.map(({ meta: _, ...step }) => step) }));
    expect(imitationSequences(bare, environment, 'p')).toEqual([]);
    expect(imitationSequences(episodes.map((e) => ({ ...e, outcome: 'error' as const })), environment, 'p')).toEqual([]);
  });

  it('need an environment that names them', async () => {
    const { episodes } = await searches(1);
    expect(() => imitationSequences(episodes, createSpin(), 'p')).toThrow(/spin names no moves to imitate/);
  });
});
