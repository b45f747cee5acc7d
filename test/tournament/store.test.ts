import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAgents } from '../../src/cli/commands/agents.ts';
import { resolveConfig, parseTournamentConfig } from '../../src/tournament/config.ts';
import { hashToken } from '../../src/tournament/tokens.ts';
import { Store } from '../../src/tournament/index.ts';
import { tempDb } from './helpers.ts';

let dbs: ReturnType<typeof tempDb>[] = [];
afterEach(() => {
  for (const db of dbs) db.remove();
  dbs = [];
});
const fresh = () => {
  const db = tempDb();
  dbs.push(db);
  return db.path;
};

async function cli(...args: string[]) {
  const out: string[] = [];
  const program = new Command().exitOverride();
  registerAgents(program, { out: (t) => out.push(t), err: (t) => out.push(t) });
  await program.parseAsync(args, { from: 'user' });
  return out.join('\n');
}

describe('agents and tokens', () => {
  it('stores only the hash of a token, finds the agent by its token, refuses a second agent of the same name', () => {
    const path = fresh();
    const store = new Store(path);
    try {
      const token = store.addAgent('ann');
      expect(token).toMatch(/^sp_[A-Za-z0-9_-]{43}$/);
      const row = store.db.prepare('SELECT * FROM agents').get() as Record<string, string>;
      expect(row.token_hash).toBe(hashToken(token));
      expect(JSON.stringify(row)).not.toContain(token.slice(3));
      expect(store.agentOfToken(token)).toBe('ann');
      expect(store.agentOfToken(`${token}x`)).toBeUndefined();
      expect(() => store.addAgent('ann')).toThrow(/already exists/);
    } finally {
      store.close();
    }
  });

  it('`selfplay agents add --json` prints the name and token; `agents list` lists them', async () => {
    const path = fresh();
    const added = JSON.parse(await cli('agents', 'add', 'bot-1', '--db', path, '--json'));
    expect(added).toEqual({ name: 'bot-1', token: expect.stringMatching(/^sp_/) });
    expect(await cli('agents', 'add', 'bot-2', '--db', path)).toMatch(/agent bot-2 added.*\ntoken: sp_/s);
    expect(JSON.parse(await cli('agents', 'list', '--db', path, '--json')).map((a: { name: string }) => a.name)).toEqual(['bot-1', 'bot-2']);
    await expect(cli('agents', 'add', 'no spaces', '--db', path)).rejects.toThrow(/bad agent name/);
  });
});

describe('tournaments', () => {
  it('creates a tournament once, and refuses another config under the same name', () => {
    const path = fresh();
    const store = new Store(path);
    try {
      for (const name of ['a', 'b', 'c']) store.addAgent(name);
      const registered = store.agents().map((a) => a.name);
      const config = resolveConfig(parseTournamentConfig({ name: 't', game: 'kuhn-poker', format: 'round-robin' }), registered);
      expect(config.agents).toEqual(['a', 'b', 'c']);
      const first = store.ensureTournament(config);
      expect(store.ensureTournament(config).id).toBe(first.id);
      expect(() => store.ensureTournament({ ...config, gamesPerPairing: 4 })).toThrow(/different config/);
      expect(() => resolveConfig(parseTournamentConfig({ name: 'u', game: 'kuhn-poker', format: 'round-robin', agents: ['a', 'zed'] }), registered)).toThrow(/unknown agent zed/);
      expect(() => resolveConfig(parseTournamentConfig({ name: 'u', game: 'no-such-game', format: 'round-robin' }), registered)).toThrow(/unknown game/);
    } finally {
      store.close();
    }
  });
});
