import { describe, expect, it } from 'vitest';
import type { Episode, EpisodeStep } from '../../src/episodes/index.ts';
import { withDisconnects } from '../../src/tournament/runner.ts';

const step = (seat: number | 'chance', meta?: Record<string, unknown>): EpisodeStep => ({ seat, action: 'a', valid: true, ...(meta ? { meta } : {}) });
const episodeOf = (steps: EpisodeStep[]): Episode => ({ schema: 1, id: 'm', game: { id: 'g', params: {} }, seed: 1, players: [], steps, history: [], returns: [0, 0], outcome: 'normal' });

describe('disconnects recorded in an episode', () => {
  it("go on the seat's step they hit, or its last, all of a step's together", () => {
    const episode = episodeOf([step('chance'), step(0), step(1), step(0, { model: 'm' })]);
    const recorded = withDisconnects(episode, [[{ step: 0, downMs: 3 }, { step: 1, downMs: 40 }, { step: 1 }, { step: 9, downMs: 5 }], [{ step: 0, downMs: 8 }]]);
    expect(recorded.steps.map((s) => s.meta)).toEqual([
      undefined,
      { disconnects: [{ step: 0, downMs: 3 }] },
      { disconnects: [{ step: 0, downMs: 8 }] },
      { model: 'm', disconnects: [{ step: 1, downMs: 40 }, { step: 1, returned: false }, { step: 9, downMs: 5 }] },
    ]);
    expect(withDisconnects(episode, [[], []])).toBe(episode);
  });

  it('replace whatever the agent put under meta.disconnects, keeping the rest of its meta', () => {
    for (const spoof of [{ bogus: 1 }, 'text', [{ step: 0, downMs: 1 }]]) {
      const recorded = withDisconnects(episodeOf([step(0, { disconnects: spoof, model: 'm' }), step(1)]), [[{ step: 0, downMs: 7 }], []]);
      expect(recorded.steps[0].meta).toEqual({ disconnects: [{ step: 0, downMs: 7 }], model: 'm' });
    }
  });

  it('are never what an agent claims: its meta.disconnects goes from every step, with or without a disconnect', () => {
    const claimed = episodeOf([step(0, { disconnects: [{ step: 0, downMs: 1 }], model: 'm' }), step(1, { disconnects: 'x' }), step(0), step(1, { model: 'n' })]);
    expect(withDisconnects(claimed, [[], []]).steps.map((s) => s.meta)).toEqual([{ model: 'm' }, undefined, undefined, { model: 'n' }]);
    expect(withDisconnects(claimed, [[], [{ step: 1, downMs: 4 }]]).steps.map((s) => s.meta)).toEqual([{ model: 'm' }, undefined, undefined, { model: 'n', disconnects: [{ step: 1, downMs: 4 }] }]);
    expect(Object.hasOwn(withDisconnects(claimed, [[], []]).steps[1], 'meta')).toBe(false);
  });
});
