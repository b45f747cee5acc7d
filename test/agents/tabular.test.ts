import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { randomAgent } from '../../agents/random.ts';
import { readPolicyFile, tabularAgent } from '../../agents/tabular.ts';
import { kuhnPoker, leducPoker } from '../../games/index.ts';
import { policyFile, type TabularPolicy } from '../../src/analysis/index.ts';
import { ConfigError, replay } from '../../src/core/index.ts';
import type { Agent } from '../../src/runtime/agent.ts';
import { runArena } from '../../src/runtime/arena.ts';
import { PROTOCOL_VERSION, type FromAgent, type ToAgent } from '../../src/runtime/messages.ts';

const kuhn = kuhnPoker();

/** The agent's replies to `count` turns at information state `infoKey` with actions `legal`. */
function replies(agent: Agent, infoKey: string, legal: string[], count: number): string[] {
  const inbox = new Subject<ToAgent>();
  const out: string[] = [];
  agent(inbox).subscribe((message: FromAgent) => {
    if (message.type === 'action') out.push(message.action);
  });
  const matchId = 'm';
  inbox.next({ type: 'start', v: PROTOCOL_VERSION, matchId, game: 'test', params: {}, seat: 0, seats: 2, seed: 42, rules: '' });
  for (let step = 0; step < count; step++) {
    inbox.next({ type: 'turn', v: PROTOCOL_VERSION, matchId, step, seat: 0, observation: '', legal, view: { observation: null, infoKey }, timeoutMs: 1000 });
  }
  inbox.complete();
  return out;
}

/** Pearson's chi-square statistic of the counts of `legal` in `draws` against `expected` probabilities. */
function chiSquare(draws: string[], legal: string[], expected: number[]): number {
  return legal.reduce((sum, action, i) => {
    const observed = draws.filter((d) => d === action).length;
    const wanted = expected[i] * draws.length;
    return sum + (observed - wanted) ** 2 / wanted;
  }, 0);
}

// 99.9% quantile of chi-square with 2 degrees of freedom.
const CHI2_DF2_999 = 13.82;

describe('tabularAgent', () => {
  it('follows a deterministic policy exactly, through the referee', async () => {
    const policy: TabularPolicy = {
      '0|J': { '[check]': 1, '[bet]': 0 },
      '0|Q': { '[check]': 1, '[bet]': 0 },
      '0|K': { '[check]': 0, '[bet]': 1 },
      '0|Jpb': { '[fold]': 1, '[call]': 0 },
      '0|Qpb': { '[fold]': 0, '[call]': 1 },
      '0|Kpb': { '[fold]': 0, '[call]': 1 },
      '1|Jp': { '[check]': 1, '[bet]': 0 },
      '1|Qp': { '[check]': 0, '[bet]': 1 },
      '1|Kp': { '[check]': 0, '[bet]': 1 },
      '1|Jb': { '[fold]': 1, '[call]': 0 },
      '1|Qb': { '[fold]': 0, '[call]': 1 },
      '1|Kb': { '[fold]': 0, '[call]': 1 },
    };
    const players = [
      { name: 'tabular', agent: tabularAgent(policy) },
      { name: 'random', agent: randomAgent() },
    ];
    const episodes = await lastValueFrom(runArena({ game: kuhn, players, matches: 40, seed: 3 }).pipe(toArray()));
    let checked = 0;
    for (const episode of episodes) {
      const seat = episode.players.findIndex((p) => p.name === 'tabular');
      for (let i = 0; i < episode.history.length; i++) {
        const state = replay(kuhn, episode.history.slice(0, i));
        if (kuhn.turn(state) !== seat) continue;
        const entry = policy[kuhn.infoKey(state, seat)];
        const chosen = kuhn.actionText(state, episode.history[i] as number);
        expect(entry[chosen]).toBe(1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('draws by the probabilities of a mixed policy', () => {
    const legal = ['[a]', '[b]', '[c]'];
    const draws = replies(tabularAgent({ k: { '[a]': 0.2, '[b]': 0.5, '[c]': 0.3 } }), 'k', legal, 3000);
    expect(chiSquare(draws, legal, [0.2, 0.5, 0.3])).toBeLessThan(CHI2_DF2_999);
  });

  it('plays uniformly at information states the policy does not list', () => {
    const legal = ['[a]', '[b]', '[c]'];
    const draws = replies(tabularAgent({ other: { '[a]': 1 } }), 'unknown', legal, 3000);
    expect(chiSquare(draws, legal, [1 / 3, 1 / 3, 1 / 3])).toBeLessThan(CHI2_DF2_999);
  });

  it('is deterministic for a seed', () => {
    const agent = tabularAgent({ k: { '[a]': 0.5, '[b]': 0.5 } });
    expect(replies(agent, 'k', ['[a]', '[b]'], 50)).toEqual(replies(agent, 'k', ['[a]', '[b]'], 50));
  });
});

describe('tabular policy files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-tabular-'));
  const kuhnFile = join(dir, 'kuhn.json');
  writeFileSync(kuhnFile, JSON.stringify(policyFile(kuhn, { '0|K': { '[check]': 0, '[bet]': 1 } })));

  it('loads a policy file from a spec', () => {
    expect(readPolicyFile(kuhnFile, kuhn)).toEqual({ '0|K': { '[check]': 0, '[bet]': 1 } });
    expect(replies(createPlayer(`tabular:policy=${kuhnFile}`, kuhn).agent, '0|K', ['[check]', '[bet]'], 20)).toEqual(Array(20).fill('[bet]'));
  });

  it('rejects a policy file for another game, naming the file', () => {
    expect(() => createPlayer(`tabular:policy=${kuhnFile}`, leducPoker())).toThrow(ConfigError);
    expect(() => createPlayer(`tabular:policy=${kuhnFile}`, leducPoker())).toThrow(`policy file ${kuhnFile} holds a policy for game "kuhn-poker", not "leduc-poker"`);
    expect(() => createPlayer(`tabular:policy=${kuhnFile}`, kuhnPoker({ hands: 3 }))).toThrow(/with parameters/);
  });

  it('names a missing or malformed file, and a missing option', () => {
    const missing = join(dir, 'missing.json');
    expect(() => createPlayer(`tabular:policy=${missing}`, kuhn)).toThrow(`cannot read policy file ${missing}`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "something else"}');
    expect(() => createPlayer(`tabular:policy=${bad}`, kuhn)).toThrow(`policy file ${bad} is not a valid`);
    expect(() => createPlayer('tabular', kuhn)).toThrow(/needs a policy file/);
    expect(() => createPlayer(`tabular:file=${kuhnFile}`, kuhn)).toThrow(/unknown option "file"/);
  });
});
