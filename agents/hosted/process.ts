import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/index.ts';
import { packageRoot } from '../../src/core/package-files.ts';

/** Where the reference host's Python package lives: in the checkout, or shipped beside the build. */
export const POLICY_HOST_DIR = join(packageRoot(), 'policy-host');

export interface PolicyHostProcessOptions {
  /** The Python with PyTorch (default `python3`; Debian's python3-torch lives at /usr/bin/python3). */
  readonly python?: string;
  /** More command-line options of the host, e.g. `['--policy', 'tiny', '--seed', '1']`. */
  readonly args?: readonly string[];
  /** Milliseconds to wait for the host to listen (default 60 s: importing torch is slow). */
  readonly startTimeoutMs?: number;
}

export interface PolicyHostProcess {
  /** The host's root URL; its OpenAI API is at `${url}/v1`. */
  readonly url: string;
  readonly device: string;
  /** Its process id. */
  readonly pid: number;
  /** Stops the host (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  close(): Promise<void>;
  /** Resolves when the host exits, however it ends, with how (`SIGKILL`, `status 1`) and the end of what it wrote to stderr. */
  readonly exited: Promise<string>;
}

/**
 * Starts the reference policy host (`python3 -m selfplay_host`) on a free
 * loopback port and resolves once it prints the line that says where it listens.
 */
export function startPolicyHost(options: PolicyHostProcessOptions = {}): Promise<PolicyHostProcess> {
  const python = options.python ?? 'python3';
  // Its stdin is a pipe from this process: when this process dies, even by SIGKILL, the pipe closes and the host stops.
  const child = spawn(python, ['-m', 'selfplay_host', '--host', '127.0.0.1', '--port', '0', '--exit-with-stdin', ...(options.args ?? [])], {
    cwd: POLICY_HOST_DIR,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      child.kill('SIGKILL');
      const output = stderr.join('').trim();
      const hint = output.includes("No module named 'torch'") ? `\n${python} has no PyTorch: give the Python that has it (Debian's python3-torch installs for /usr/bin/python3)` : '';
      reject(new ConfigError(`the policy host did not start: ${why}${hint}${output ? `\n${output.slice(-2000)}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${options.startTimeoutMs ?? 60_000} ms`), options.startTimeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(`${python}: ${error.message} (is Python with PyTorch installed? On Debian: apt-get install python3-torch)`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`it exited (${signal ?? `status ${code}`}) before listening`);
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      let ready: { listening?: unknown; device?: unknown };
      try {
        ready = JSON.parse(line);
      } catch {
        return fail(`its first line is not JSON: ${line.slice(0, 200)}`);
      }
      if (typeof ready.listening !== 'string') return fail(`its first line has no "listening" URL: ${line.slice(0, 200)}`);
      const exited = new Promise<string>((done) =>
        child.once('exit', (code, signal) => {
          const output = stderr.join('').trim();
          done(`${signal ?? `status ${code}`}${output ? `; its last words: ${output.slice(-500)}` : ''}`);
        }),
      );
      resolve({ url: ready.listening, device: String(ready.device), pid: child.pid!, close: () => stop(child), exited });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
