import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGame } from '../../games/index.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, type GameResolver, type RemoteClient } from '../../src/tournament/index.ts';
import { launchChromium } from '../browser.ts';
import threeBids from './fixtures/three-bids.ts';
import { testServer, type TestServer } from './helpers.ts';

const games: GameResolver = (ref, params) => (ref === 'three-bids' ? threeBids : createGame(ref, params));
/** Bids `bid` ("[1]" to "[3]") after `ms`: slow enough to watch. */
const bidder = (bid: number, ms: number) => policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal.find((a) => a === `[${bid}]`)!), ms)));

describe('the live page in chromium, a three-seat game', () => {
  let t: TestServer;
  let clients: RemoteClient[];
  let browser: Browser;

  beforeAll(async () => {
    t = await testServer(['ann', 'bob', 'cat', 'dan'], { games, tournaments: [{ name: 'bids', game: 'three-bids', format: 'round-robin', gamesPerPairing: 30, concurrency: 4, matchesPerAgent: 4 }] });
    clients = ['ann', 'bob', 'cat', 'dan'].map((n, i) => connect(t.server.url, t.tokens[n], bidder((i % 3) + 1, 150)));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(clients.map((c) => c.close()));
    await t.stop();
  });

  it('shows every seat: the tables, the running match, the recent results and the replay', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(t.server.url);

    // The four groups play at once: both tables soon have a row for each agent.
    await expect.poll(() => page.locator('#leaderboard tr.agent-row').count(), { timeout: 30_000 }).toBe(4);
    await expect.poll(() => page.locator('#live-ratings tbody tr').count(), { timeout: 15_000 }).toBe(4);

    await page.locator('#running li').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('#running li').first().textContent()).toMatch(/^\w+ vs \w+ vs \w+ · three-bids/);
    // Watch a running match: its three players, then its moves. (A match may end between the list's
    // refresh and the click; then watch the next one.)
    const live = page.locator('#live-match');
    await expect
      .poll(async () => {
        await page.locator('#running li').first().click();
        await page.waitForTimeout(100);
        return /^seat 0: \w+.*\nseat 1: \w+.*\nseat 2: \w+/.test((await live.textContent()) ?? '');
      }, { timeout: 15_000 })
      .toBe(true);

    await page.locator('#recent li').first().waitFor();
    expect(await page.locator('#recent li').first().textContent()).toMatch(/^\w+ vs \w+ vs \w+ · \d \/ \d \/ \d · normal$/);
    await page.locator('#recent li').first().click();
    await page.locator('#replay').filter({ hasText: /step 1 · seat 0/ }).waitFor();
    expect(await page.locator('#replay').textContent()).toMatch(/seat 0: \w+\nseat 1: \w+\nseat 2: \w+/);
    await page.locator('#replay-next').click();
    await page.locator('#replay-next').click();
    expect(await page.locator('#replay').textContent()).toMatch(/step 3 · seat 2/);

    expect(problems).toEqual([]);
  });
});
