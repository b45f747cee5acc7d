import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startPolicyHost, type PolicyHostProcess } from '../../agents/hosted/index.ts';

/** Debian's python3-torch installs for the system Python. */
export const python = process.env.SELFPLAY_PYTHON ?? '/usr/bin/python3';

/**
 * The reference host for a test file: started before its tests with `args`
 * (its checkpoints in `dir`/host), stopped after them, and `dir`, a fresh
 * folder for the file's own outputs too, removed.
 */
export function testHost(prefix: string, args: readonly string[]): { readonly dir: string; readonly host: PolicyHostProcess } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let host: PolicyHostProcess | undefined;
  beforeAll(async () => {
    host = await startPolicyHost({ python, args: ['--guided-choice-scoring', 'mean', '--checkpoint-dir', join(dir, 'host'), ...args] });
  }, 90_000);
  afterAll(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    get host() {
      if (!host) throw new Error('the test host has not started');
      return host;
    },
  };
}
