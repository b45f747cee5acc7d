import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

const fixture = (name: string) => `test/environments/fixtures/${name}`;

describe('selfplay exec', () => {
  it("prints f's value, pretty-printed, with exit status 0", async () => {
    const { code, out } = await runCli('exec', fixture('multiply.js'), '--input', '[6, 7]');
    expect(code).toBe(0);
    expect(out).toBe('{\n  "product": 42,\n  "text": "6 x 7"\n}');
  });

  it('prints {ok, value} with --json', async () => {
    const { code, out } = await runCli('exec', fixture('multiply.js'), '--input', '[2, 3]', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ ok: true, value: { product: 6, text: '2 x 3' } });
  });

  it("calls f with no arguments when --input is left out", async () => {
    const { code, out } = await runCli('exec', fixture('multiply.js'), '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({ ok: false, error: { kind: 'runtime', message: 'f\'s result is not JSON: it holds NaN at key "product"' } });
  });

  it('reports a failing program with its kind and exit status 1', async () => {
    const timeout = await runCli('exec', fixture('endless.js'), '--timeout-ms', '100');
    expect(timeout.code).toBe(1);
    expect(timeout.out).toMatch(/^error \(timeout\): timed out: the program ran longer than the 100 ms limit/);
    const syntax = await runCli('exec', fixture('broken.js'), '--json');
    expect(syntax.code).toBe(1);
    expect(JSON.parse(syntax.out)).toMatchObject({ ok: false, error: { kind: 'syntax', message: expect.stringMatching(/line 2/) } });
    const random = await runCli('exec', fixture('random.js'));
    expect(random.code).toBe(1);
    expect(random.out).toMatch(/^error \(runtime\): Error: Math\.random and Date are not available in the sandbox/);
  });

  it('passes the memory limit to the sandbox', async () => {
    const { code, out } = await runCli('exec', fixture('multiply.js'), '--memory-mb', '8', '--input', '[1, 1]', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out).value.product).toBe(1);
  });

  it('explains bad usage with exit status 2', async () => {
    const missing = await runCli('exec', 'test/environments/fixtures/nowhere.js');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/error: cannot read test\/environments\/fixtures\/nowhere\.js: ENOENT/);
    const notArray = await runCli('exec', fixture('multiply.js'), '--input', '{"a": 1}');
    expect(notArray.code).toBe(2);
    expect(notArray.err).toMatch(/--input must be a JSON array of f's arguments/);
    const notJson = await runCli('exec', fixture('multiply.js'), '--input', '[1,');
    expect(notJson.code).toBe(2);
    expect(notJson.err).toMatch(/--input must be a JSON array/);
    for (const [option, value] of [['--timeout-ms', '0'], ['--timeout-ms', 'soon'], ['--memory-mb', '1.5'], ['--memory-mb', '99999']]) {
      const bad = await runCli('exec', fixture('multiply.js'), option, value);
      expect(bad.code, `${option} ${value}`).toBe(2);
      expect(bad.err).toMatch(new RegExp(`${option} must be a whole number from 1 to \\d+, got "${value}"`));
    }
  });

  it('runs from the installed command with the same exit statuses', () => {
    const out = execFileSync(process.execPath, ['bin/selfplay.js', 'exec', fixture('multiply.js'), '--input', '[4, 5]', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: true, value: { product: 20, text: '4 x 5' } });
    let status = 0;
    try {
      execFileSync(process.execPath, ['bin/selfplay.js', 'exec', fixture('endless.js'), '--timeout-ms', '50'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(1);
  });
});
