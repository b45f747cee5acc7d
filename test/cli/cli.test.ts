import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const run = runCli;

const fixture = (name: string) => `test/cli/fixtures/${name}`;

describe('selfplay games', () => {
  it('lists every built-in game with seats and a description', async () => {
    const { code, out } = await run('games', '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(out);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(['tic-tac-toe', 'kuhn-poker']));
    expect(rows.find((r: { id: string }) => r.id === 'kuhn-poker')).toMatchObject({ seats: 2, perfectInformation: false });
    expect((await run('games')).out).toMatch(/kuhn-poker +2 seats +hidden info/);
  });
});

describe('selfplay play', () => {
  it('plays one random game, the same for the same seed', async () => {
    const a = await run('play', 'kuhn-poker', '--seed', '5');
    expect(a.code).toBe(0);
    expect((await run('play', 'kuhn-poker', '--seed', '5')).out).toBe(a.out);
    expect(a.out).toMatch(/chance: \[deal [JQK]\]/);
    expect(a.out).toMatch(/returns: seat 0 [+-]\d, seat 1 [+-]\d/);
  });

  it('prints what each seat observed and did', async () => {
    const { code, out } = await run('play', 'tic-tac-toe', '--seed', '2');
    expect(code).toBe(0);
    expect(out).toMatch(/seat 0 sees:\n {4}You are X\. Board:/);
    expect(out).toMatch(/seat 1 plays \[\d\]/);
  });

  it('takes game parameters in the spec', async () => {
    const { out } = await run('play', 'kuhn-poker:hands=3', '--seed', '1');
    expect(out).toMatch(/episode seed1-0: kuhn-poker \{"hands":3,"scoring":"match"\}/);
    expect(out).toMatch(/Hand 3 of 3/);
  });

  it('explains an unknown game or bad parameters with exit status 2', async () => {
    const unknown = await run('play', 'chess');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown game "chess"; built-in games: tic-tac-toe, connect-four, kuhn-poker, leduc-poker, simple-negotiation, nim/);
    const bad = await run('play', 'kuhn-poker:hands=0');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/kuhn-poker: bad parameters \(hands:/);
    expect((await run('play', 'kuhn-poker', '--seed', 'x')).code).toBe(2);
  });
});

describe('selfplay check', () => {
  it('passes a built-in game with exit status 0', async () => {
    const { code, out } = await run('check', 'kuhn-poker', '--runs', '30');
    expect(code).toBe(0);
    expect(out).toMatch(/kuhn-poker .*: 13 of 13 invariants hold \(30 random games each, seed 42/);
  });

  it("checks a user's game from a module path", async () => {
    const { code, out } = await run('check', fixture('countdown.ts'), '--runs', '30', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, games: [{ game: 'countdown', ok: true }] });
  });

  it('fails with exit status 1 and a report naming the invariant and history', async () => {
    const { code, out } = await run('check', fixture('countdown-broken.ts'), '--runs', '30');
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL {2}returns/);
    expect(out).toMatch(/history \(\d+ actions, shrunk\)/);
    const json = JSON.parse((await run('check', fixture('countdown-broken.ts'), '--runs', '30', '--json')).out);
    expect(json.ok).toBe(false);
    expect(json.games[0].results.find((r: { name: string }) => r.name === 'returns').ok).toBe(false);
  });

  it('explains a missing file or a module without a game', async () => {
    const missing = await run('check', './nowhere/game.ts');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no such file: .*nowhere\/game\.ts/);
    const empty = await run('check', fixture('no-game.ts'));
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/exports no game/);
  });

  it('rejects a bad --runs', async () => {
    const { code, err } = await run('check', 'kuhn-poker', '--runs', '0');
    expect(code).toBe(2);
    expect(err).toMatch(/--runs must be an integer >= 1/);
  });
});

describe('the installed bin', () => {
  it('runs as a separate process', () => {
    const out = execFileSync(process.execPath, ['bin/selfplay.js', 'play', 'tic-tac-toe', '--seed', '3', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ matches: 1, agents: [{ agent: 'random' }, { agent: 'random #2' }] });
  });
});
