import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createGame } from '../../games/index.ts';
import { startServer, Store, type ServerOptions, type TournamentServer } from '../../src/tournament/index.ts';

/** A fresh database path in its own temporary folder; `remove()` deletes the folder. */
export function tempDb(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-tournament-'));
  return { path: join(dir, 'test.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Registers agents in a database; returns their tokens by name. */
export function addAgents(path: string, names: readonly string[]): Record<string, string> {
  const store = new Store(path);
  try {
    return Object.fromEntries(names.map((name) => [name, store.addAgent(name)]));
  } finally {
    store.close();
  }
}

export interface TestServer {
  readonly server: TournamentServer;
  readonly tokens: Record<string, string>;
  readonly db: string;
  stop(): Promise<void>;
}

/** A server on 127.0.0.1 and a free port, over a fresh database with the given agents, playing the built-in games. */
export async function testServer(agents: readonly string[], options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = tempDb();
  const tokens = addAgents(db.path, agents);
  const server = await startServer({ db: db.path, port: 0, host: '127.0.0.1', log: () => undefined, ...options, games: options.games ?? createGame });
  return {
    server,
    tokens,
    db: db.path,
    async stop() {
      await server.close();
      db.remove();
    },
  };
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw WebSocket that records every frame (parsed JSON) and how it closed. */
export class RawSocket {
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent`, options.protocols ?? [], { headers: options.headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? data : JSON.parse(data.toString()));
      this.notify();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    this.ws.on('error', () => undefined);
  }

  /** Sends a string as it is, anything else as JSON. */
  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  private readonly waiters = new Set<() => void>();

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** Takes the first frame (received or to come) that matches. */
  next(predicate: (frame: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.frames.findIndex(predicate);
        if (index < 0) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(this.frames.splice(index, 1)[0]);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching frame within ${timeoutMs} ms (have ${JSON.stringify(this.frames).slice(0, 300)})`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the close code and reason once the connection is closed. */
  async closing(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed, timeoutMs, 'the connection to close');
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  return response.json();
}
