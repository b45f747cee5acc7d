import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PolicyHostClient, startPolicyHost, TinkerClient, type PolicyHostProcess } from '../../agents/hosted/index.ts';
import { TinkerBackend, type TinkerBackendOptions } from '../../src/trainer/tinker-backend.ts';

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

/**
 * A model of its own on a running host (or any Tinker server), as the trainer's backend; `close` ends its session.
 * Models start from the base model's weights, so tests that each create one do not disturb one another.
 */
export async function tinkerBackend(url: string, options: TinkerBackendOptions = {}, base: { baseModel?: string; loraRank?: number } = {}): Promise<{ readonly backend: TinkerBackend; readonly tinker: TinkerClient; close(): void }> {
  const tinker = await TinkerClient.connect(url);
  const backend = await TinkerBackend.start(tinker, new PolicyHostClient(url), { baseModel: base.baseModel ?? 'tiny', loraRank: base.loraRank ?? 0 }, options);
  return { backend, tinker, close: () => tinker.close() };
}
