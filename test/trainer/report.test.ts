import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, summaryText, tickText } from '../../src/trainer/report.ts';
import { launchChromium } from '../browser.ts';

describe('report.html', () => {
  it('writes axis ticks short and never rounds a small one to 0', () => {
    expect([1e-5, 1e-4, 2.5e-4, 0.001, 0.01, 0.5, 1].map(tickText)).toEqual(['1e-5', '1e-4', '2.5e-4', '0.001', '0.01', '0.5', '1']);
    expect([0, 950, 12_000, 450_000, 1_200_000, -30_000].map(tickText)).toEqual(['0', '950', '12k', '450k', '1.2M', '-30k']);
  });

  it('gives summary figures 4 significant digits, integers whole', () => {
    expect([0.00023456789012345, 12.345678901234, 1_200_000, 'kuhn-poker'].map(summaryText)).toEqual(['0.0002346', '12.35', '1200000', 'kuhn-poker']);
  });

  describe('in chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(() => browser?.close());

    it('draws a chart per metric with no error in the page', async () => {
      const metrics = Array.from({ length: 30 }, (_, i) => ({ episodes: (i + 1) * 40_000, exploitability: 0.45 * Math.exp(-i / 3), entropy: 1 - i / 40, episodesPerSecond: 450_000 + i }));
      mkdirSync('test/.tmp', { recursive: true });
      const file = resolve('test/.tmp/report.html');
      writeFileSync(file, renderReport({ title: 'run', summary: { exploitability: 0.000123456 }, metrics }));
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(file).href);
      await page.locator('.chart canvas').nth(2).waitFor();
      expect(await page.locator('.chart canvas').count()).toBe(3);
      const titles = await page.locator('.chart').evaluateAll((boxes) => boxes.map((box) => box.getAttribute('data-title')));
      expect(titles).toEqual(['Exploitability', 'Policy entropy (nats, mean over information states)', 'Throughput (episodes per second)']);
      expect(await page.textContent('table')).toContain('0.0001235');
      expect(errors).toEqual([]);
    });
  });
});
