import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAgent } from '../../agents/random.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, officialTable, type RemoteClient } from '../../src/tournament/index.ts';
import { launchChromium } from '../browser.ts';
import { getJson, testServer, type TestServer } from './helpers.ts';

/** Kuhn poker: bet, and call any bet. */
const aggressive = policyAgent((turn) => turn.legal.find((a) => a === '[bet]' || a === '[call]') ?? turn.legal[0]);

describe('the official table of a game scored in chips', () => {
  it('gives each agent its mean return and interval, apart from its wins', () => {
    const ann = { agent: 'ann', version: '1' };
    const bob = { agent: 'bob', version: '1' };
    // ann wins three small pots of five and loses two big ones: more wins, fewer chips.
    const results = [
      ...Array.from({ length: 30 }, () => ({ players: [ann, bob], returns: [1, -1], outcome: 'normal' as const })),
      ...Array.from({ length: 20 }, () => ({ players: [bob, ann], returns: [2, -2], outcome: 'normal' as const })),
    ];
    const table = officialTable(results, { samples: 20 });
    expect(table.scoring).toBe('chips');
    expect(table.rows[0].agent).toBe('ann');
    const byAgent = Object.fromEntries(table.rows.map((r) => [r.agent, r]));
    expect(byAgent.ann.meanReturn).toBeCloseTo(-0.2, 12);
    expect(byAgent.bob.meanReturn).toBeCloseTo(0.2, 12);
    expect(byAgent.bob.returnLow).toBeLessThan(0.2);
    expect(byAgent.bob.returnHigh).toBeGreaterThan(0.2);
    expect(officialTable([{ players: [ann, bob], returns: [1, -1], outcome: 'normal' }, { players: [ann, bob], returns: [0, 0], outcome: 'normal' }]).scoring).toBe('outcome');
  });
});

describe('the live page in chromium: chips, chance cards, an empty tournament', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('tells how agents connect while a tournament has no matches', async () => {
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'waiting', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 2, concurrency: 1 }] });
    try {
      const page = await browser.newPage();
      await page.goto(t.server.url);
      const join = page.locator('#join');
      await join.waitFor({ state: 'visible', timeout: 15_000 });
      const text = (await join.textContent())!;
      expect(text).toContain('agents must connect');
      expect(text).toContain(`npx selfplay connect ${t.server.url.replace(/\/$/, '')} --token TOKEN --agent random`);
      expect(text).toContain('npx selfplay agents add NAME');
      // Once they connect and play, the note goes.
      const clients = [connect(t.server.url, t.tokens.ann, randomAgent()), connect(t.server.url, t.tokens.bob, randomAgent())];
      await join.waitFor({ state: 'hidden', timeout: 15_000 });
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await t.stop();
    }
  });

  it('leads a poker table with mean return and shows chance cards in a replay without a hidden label', async () => {
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'chips', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 40, concurrency: 2 }] });
    const clients: RemoteClient[] = [connect(t.server.url, t.tokens.ann, aggressive), connect(t.server.url, t.tokens.bob, randomAgent())];
    try {
      await t.server.runner('chips')!.done;
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(t.server.url);
      await page.locator('#leaderboard tr.agent-row').nth(1).waitFor({ timeout: 15_000 });
      expect(await page.locator('#leaderboard thead th').allTextContents()).toEqual(['#', 'agent', 'version', 'mean return', '95% interval', '', 'games', 'rating', 'score']);
      expect(await page.locator('#leaderboard-note').textContent()).toContain('scored in chips');
      const { official } = await getJson(`${t.server.url}/api/leaderboard?game=kuhn-poker`);
      expect(official.scoring).toBe('chips');
      const best = [...official.rows].sort((a, b) => b.meanReturn - a.meanReturn);
      expect(await page.locator('#leaderboard tr.agent-row td.name').allTextContents()).toEqual(best.map((r) => r.agent));
      const first = page.locator('#leaderboard tr.agent-row').first().locator('td');
      expect(await first.nth(3).textContent()).toBe((best[0].meanReturn > 0 ? '+' : '') + best[0].meanReturn.toFixed(3));
      expect(await first.nth(4).textContent()).toMatch(/^\[[+-]?\d+\.\d{3}, [+-]?\d+\.\d{3}\]$/);
      expect(await page.locator('#join').isHidden()).toBe(true);

      // A finished match's replay shows what chance dealt, with no "(hidden in live view)" beside it.
      await page.locator('#recent li').first().click();
      await page.locator('#replay').filter({ hasText: /step 1 · chance/ }).waitFor();
      const replay = (await page.locator('#replay').textContent())!;
      expect(replay).toMatch(/action: \[deal [JQK]\]/);
      expect(replay).not.toContain('hidden');
      expect(problems).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.stop();
    }
  });
});
