import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packAndInstall } from '../test/package/install.ts';
import { median, table } from './measure.ts';

const RUNS = 10;
const COMMANDS: readonly (readonly string[])[] = [['--help'], ['games'], ['check', 'nim', '--runs', '1']];

/** Wall milliseconds of one run of `args` (a process, from spawn to exit). */
function wallMs(args: readonly string[], cwd: string): number {
  const start = performance.now();
  const { status, stderr } = spawnSync(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (status !== 0) throw new Error(`node ${args.join(' ')} failed (${status}): ${stderr}`);
  return performance.now() - start;
}

/**
 * Start-up of the selfplay command against `node -e 0`, median of RUNS runs
 * each, the runs of all rows interleaved so that a busy spell of the machine
 * falls on all of them: the installed package (the build), and the checkout
 * (its TypeScript, compiled once and cached).
 */
export function benchCli(): string {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-bench-cli-'));
  try {
    const installed = packAndInstall(dir);
    const packageBin = join(installed.project, 'node_modules', 'selfplay', 'bin', 'selfplay.js');
    const checkoutBin = resolve('bin/selfplay.js');
    const rows = [
      { name: 'node -e 0', args: ['-e', '0'] },
      ...COMMANDS.map((command) => ({ name: `installed: selfplay ${command.join(' ')}`, args: [packageBin, ...command] })),
      ...COMMANDS.map((command) => ({ name: `checkout: selfplay ${command.join(' ')}`, args: [checkoutBin, ...command] })),
    ];
    for (const row of rows) wallMs(row.args, installed.project); // warm-up, and the checkout's compile cache
    const times = rows.map(() => [] as number[]);
    for (let run = 0; run < RUNS; run++) rows.forEach((row, i) => times[i].push(wallMs(row.args, installed.project)));
    const baseline = median(times[0]);
    const startRows = rows.map((row, i) => ({ command: row.name, 'median ms': median(times[i]), 'x node -e 0': median(times[i]) / baseline }));
    return `${table(startRows)}\n\nnpm pack: ${(installed.size / 1024).toFixed(0)} kB packed, ${(installed.unpackedSize / 1024).toFixed(0)} kB unpacked; installed into an empty project with npm install <tarball>`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
