import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, replay } from '../../src/core/index.ts';
import { actionProbabilities, cfr, loadPolicy, parsePolicyFile, policyFile, savePolicy, uniformPolicy } from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';
import { ticTacToe } from '../../games/tic-tac-toe/index.ts';

const kuhn = kuhnPoker();

describe('tabular policies', () => {
  it('the uniform policy lists every information state with readable action texts', () => {
    const policy = uniformPolicy(kuhn);
    expect(Object.keys(policy)).toHaveLength(12);
    expect(policy['0|K']).toEqual({ '[check]': 0.5, '[bet]': 0.5 });
    expect(policy['1|Qb']).toEqual({ '[fold]': 0.5, '[call]': 0.5 });
    expect(Object.keys(uniformPolicy(leducPoker()))).toHaveLength(936);
  });

  it('actionProbabilities follows legalActions order, plays unlisted information states uniformly', () => {
    const facing = replay(kuhn, [2, 0, 1]);
    expect(actionProbabilities(kuhn, { '1|Jb': { '[call]': 0.25, '[fold]': 0.75 } }, facing)).toEqual([0.75, 0.25]);
    expect(actionProbabilities(kuhn, {}, facing)).toEqual([0.5, 0.5]);
    expect(actionProbabilities(kuhn, { '1|Jb': { '[call]': 1 } }, facing)).toEqual([0, 1]);
  });

  it('actionProbabilities rejects an entry that does not fit the legal actions', () => {
    const facing = replay(kuhn, [2, 0, 1]);
    expect(() => actionProbabilities(kuhn, { '1|Jb': { '[check]': 1 } }, facing)).toThrow(
      'policy at information state "1|Jb" gives the legal actions [fold] [call] probabilities summing to 0; expected 1',
    );
    expect(() => actionProbabilities(kuhn, { '1|Jb': { '[fold]': 1.5, '[call]': -0.5 } }, facing)).toThrow(ConfigError);
    expect(() => actionProbabilities(kuhn, {}, replay(kuhn, []))).toThrow('kuhn-poker: no seat is to move in this state (chance)');
  });
});

describe('policy files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'selfplay-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a CFR+ policy with its metadata', async () => {
    const { averagePolicy } = cfr(kuhn, { iterations: 50, plus: true });
    const path = join(dir, 'kuhn.json');
    await savePolicy(path, kuhn, averagePolicy, { algorithm: 'cfr+', iterations: 50 });
    const file = await loadPolicy(path, kuhnPoker());
    expect(file.policy).toEqual(averagePolicy);
    expect(file.meta).toEqual({ algorithm: 'cfr+', iterations: 50 });
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json).toMatchObject({ format: 'selfplay.tabular-policy', version: 1, game: 'kuhn-poker', params: { hands: 1, scoring: 'chips' } });
  });

  it('rejects a file for another game, naming both games', async () => {
    const path = join(dir, 'tic-tac-toe.json');
    await savePolicy(path, ticTacToe(), { '[]': { '[4]': 1 } });
    await expect(loadPolicy(path, kuhn)).rejects.toThrow(ConfigError);
    await expect(loadPolicy(path, kuhn)).rejects.toThrow(`policy file ${path} holds a policy for game "tic-tac-toe", not "kuhn-poker"`);
  });

  it('rejects a file for the same game with other parameters', () => {
    const file = policyFile(kuhnPoker({ hands: 3 }), {});
    expect(() => parsePolicyFile(kuhn, file)).toThrow(
      'policy file holds a policy for kuhn-poker with parameters {"hands":3,"scoring":"match"}, not {"hands":1,"scoring":"chips"}',
    );
  });

  it('rejects negative probabilities and probabilities that do not sum to 1', () => {
    const negative = policyFile(kuhn, { '0|K': { '[check]': -0.5, '[bet]': 1.5 } });
    expect(() => parsePolicyFile(kuhn, negative)).toThrow(/policy\.0\|K\.\[check\]: Too small/);
    const short = policyFile(kuhn, { '0|K': { '[check]': 0.5, '[bet]': 0.4 } });
    expect(() => parsePolicyFile(kuhn, short)).toThrow(/policy\.0\|K: probabilities sum to 0\.9, not 1/);
  });

  it('rejects what is not a policy file, and refuses to save a bad policy', async () => {
    expect(() => parsePolicyFile(kuhn, { format: 'something-else' })).toThrow(/is not a valid selfplay\.tabular-policy version 1 file \(format:/);
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"format": ');
    await expect(loadPolicy(path, kuhn)).rejects.toThrow(`cannot read policy file ${path}`);
    await expect(loadPolicy(join(dir, 'missing.json'), kuhn)).rejects.toThrow(ConfigError);
    await expect(savePolicy(join(dir, 'bad.json'), kuhn, { '0|K': { '[bet]': 2 } })).rejects.toThrow(/the policy to save is not a valid/);
  });
});
