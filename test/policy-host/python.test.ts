import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const python = '/usr/bin/python3';

describe('the Python policy host (policy-host/)', () => {
  it('passes its unittest suite', () => {
    const run = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'policy-host/tests', '-t', 'policy-host'], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: join(root, 'policy-host'), PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 115_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (run.error) throw new Error(`could not run ${python} -m unittest: ${run.error.message}`);
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, `python unittest failed (status ${run.status}, signal ${run.signal}):\n${output}`).toBe(0);
    expect(run.stderr).toMatch(/\nOK/);
  }, 120_000);
});
