import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, type RemoteClient } from '../../src/tournament/index.ts';
import { launchChromium } from '../browser.ts';
import { testServer, type TestServer } from './helpers.ts';

/** Plays the first legal square after `ms`: slow enough to watch. */
const deliberate = (ms: number) => policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), ms)));

describe('the live page in chromium', () => {
  let t: TestServer;
  let clients: RemoteClient[];
  let browser: Browser;

  beforeAll(async () => {
    t = await testServer(['ann', 'bob'], {
      tournaments: [
        { name: 'cards', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 2, concurrency: 1 },
        { name: 'show', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 50, concurrency: 1 },
      ],
    });
    clients = [connect(t.server.url, t.tokens.ann, deliberate(100)), connect(t.server.url, t.tokens.bob, deliberate(100))];
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(clients.map((c) => c.close()));
    await t.stop();
  });

  it('shows the leaderboard, a match as it is played, and a replay', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(t.server.url);

    await page.locator('#leaderboard tr.agent-row').nth(1).waitFor({ timeout: 15_000 });
    const names = await page.locator('#leaderboard tr.agent-row td.name').allTextContents();
    expect(names.sort()).toEqual(['ann', 'bob']);
    expect(await page.locator('#leaderboard tr.agent-row').first().locator('td').nth(4).textContent()).toMatch(/^\[-?\d+, -?\d+\]$/);
    await page.locator('#live-ratings tbody tr').nth(1).waitFor();
    expect(await page.locator('#tournaments tbody').textContent()).toContain('show');

    // Watch a running match: its moves appear as they are played. (A match may end between the
    // list's refresh and the click; then watch the next one.)
    const live = page.locator('#live-match');
    const moves = async () => ((await live.textContent())!.match(/seat \d: \[\d\]/g) ?? []).length;
    await expect
      .poll(async () => {
        await page.locator('#running li').first().click();
        await page.waitForTimeout(150);
        const seen = await moves();
        await page.waitForTimeout(400);
        return (await moves()) > seen;
      }, { timeout: 15_000 })
      .toBe(true);
    expect(await live.textContent()).toMatch(/seat 0: (ann|bob)/);

    // Replay a finished match step by step.
    await page.locator('#recent li').first().click();
    await page.locator('#replay').filter({ hasText: /step 1 · seat 0/ }).waitFor();
    await page.locator('#replay-next').click();
    expect(await page.locator('#replay').textContent()).toMatch(/step 2 · seat 1/);
    expect(await page.locator('#replay-position').textContent()).toMatch(/^2 \/ \d+$/);

    expect(problems).toEqual([]);
  });

  it('shows the ratings of one game, or of one tournament, at a time', async () => {
    const page = await browser.newPage();
    await page.goto(t.server.url);
    // The newest tournament's game first.
    await expect.poll(() => page.locator('#scope').inputValue(), { timeout: 15_000 }).toBe('game:tic-tac-toe');
    expect(await page.locator('#scope option').allTextContents()).toEqual(['kuhn-poker (all tournaments)', 'tic-tac-toe (all tournaments)', 'kuhn-poker · tournament cards', 'tic-tac-toe · tournament show']);
    await t.server.runner('cards')!.done;
    await page.locator('#scope').selectOption('tournament:cards');
    // Kuhn poker's two games, not tic-tac-toe's: the games column and the live table say so.
    await expect.poll(async () => page.locator('#leaderboard tr.agent-row td:nth-child(7)').allTextContents(), { timeout: 10_000 }).toEqual(['2', '2']);
    // The live table re-renders on its own message after the scope changes: it is polled too.
    await expect.poll(async () => page.locator('#live-ratings tbody tr td:nth-child(6)').allTextContents(), { timeout: 10_000 }).toEqual(['2', '2']);
    await expect.poll(() => page.locator('#live-scope').textContent(), { timeout: 10_000 }).toBe('tournament cards');
  });

  it('watches the same match again after its live connection drops', async () => {
    const page = await browser.newPage();
    await page.goto(t.server.url);
    const live = page.locator('#live-match');
    // The match listed first may end before the watch request arrives (on a loaded machine); then watch the next one.
    await expect
      .poll(async () => {
        await page.locator('#running li').first().click();
        await page.waitForTimeout(300);
        return /seat 0: (ann|bob)/.test((await live.textContent())!);
      }, { timeout: 15_000 })
      .toBe(true);
    // A mark the page's answer to a new watch request removes (the match again) or follows (it has ended).
    await page.evaluate("document.getElementById('live-match').textContent += 'MARK\\n'; socket.close();");
    await page.locator('#status').filter({ hasText: 'disconnected' }).waitFor();
    await page.locator('#status').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    await expect.poll(async () => {
      const text = (await live.textContent())!;
      return !text.includes('MARK') || /MARK\n(.|\n)*is not running/.test(text);
    }, { timeout: 10_000 }).toBe(true);
  });
});
