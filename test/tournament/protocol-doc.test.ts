import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomAgent } from '../../agents/random.ts';
import { builtinGames, createGame } from '../../games/index.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import type { TurnMessage } from '../../src/runtime/messages.ts';
import { playMatch } from '../../src/runtime/referee.ts';
import { WebSocket } from 'ws';
import { connect } from '../../src/tournament/index.ts';
import { testServer, waitFor } from './helpers.ts';

/**
 * The samples in docs/protocol.md are real: each follows a marker naming the
 * game, the match's seed and the moves played, and must be what the referee
 * sends at the turn after those moves. With SELFPLAY_UPDATE_DOCS=1 the `view`
 * samples are written from the code instead (then review the diff).
 */
const DOC = new URL('../../docs/protocol.md', import.meta.url);
const SAMPLE = /<!-- (view|turn) (\{.*?\}) -->\n([\s\S]*?)```json\n([\s\S]*?)```/g;

interface Marker {
  readonly game: string;
  readonly seed: number;
  /** The actions played, in order, by whichever seat is to move. */
  readonly moves: readonly string[];
}

/** The turn the referee sends after `moves` in a match of the marker's game and seed (chance deals as the seed says). */
async function turnAfter({ game, seed, moves }: Marker): Promise<TurnMessage> {
  const left = [...moves];
  let found: TurnMessage | undefined;
  const agent = policyAgent((turn) => {
    if (found === undefined && left.length === 0) found = turn;
    const move = left.shift() ?? turn.legal[0];
    if (found === undefined && !turn.legal.includes(move)) throw new Error(`${move} is not legal at this turn of ${game}; legal: ${turn.legal.join(' ')}`);
    return move;
  });
  const played = createGame(game);
  await playMatch({ game: played, players: Array.from({ length: played.seats }, (_, seat) => ({ name: `p${seat}`, agent })), seed, matchId: 'doc' });
  if (!found) throw new Error(`the ${game} match with seed ${seed} ended before a turn after ${moves.join(' ')}`);
  // As it crosses the wire.
  return JSON.parse(JSON.stringify(found));
}

const samples = () => [...readFileSync(DOC, 'utf8').matchAll(SAMPLE)].map((m) => ({ kind: m[1], marker: JSON.parse(m[2]) as Marker, json: m[4], whole: m[0], before: m[0].slice(0, m[0].length - m[4].length - 3) }));

/** JSON on one line with a space after each colon and comma (outside strings). */
function oneLine(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oneLine).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

/** JSON for people: an object or array that fits in a line stays on one, others break one entry a line. */
function readable(value: unknown, indent = ''): string {
  const flat = oneLine(value);
  if (typeof value !== 'object' || value === null || flat.length + indent.length <= 100) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + readable(v, inner)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${readable(v, inner)}`).join(',\n')}\n${indent}}`;
}

describe('docs/protocol.md', () => {
  if (process.env.SELFPLAY_UPDATE_DOCS === '1') {
    it('writes its view samples from the code', async () => {
      let doc = readFileSync(DOC, 'utf8');
      for (const sample of samples().filter((s) => s.kind === 'view')) {
        doc = doc.replace(sample.whole, `${sample.before}${readable((await turnAfter(sample.marker)).view)}\n\`\`\``);
      }
      writeFileSync(DOC, doc);
    });
  }

  it("documents every built-in game's view with a sample", () => {
    const documented = samples().filter((s) => s.kind === 'view').map((s) => s.marker.game);
    expect(documented.sort()).toEqual(Object.keys(builtinGames).sort());
  });

  it('gives, for each sample, what the referee really sends at that turn', async () => {
    for (const { kind, marker, json } of samples()) {
      const turn = await turnAfter(marker);
      const written = JSON.parse(json);
      if (kind === 'view') expect(written, `${marker.game} after ${marker.moves.join(' ')}`).toEqual(turn.view);
      else {
        // The match id and the time are the tournament's, not the game's.
        const { matchId: _id, timeoutMs: _ms, ...fromGame } = turn;
        const { matchId: _docId, timeoutMs: _docMs, ...documented } = written;
        expect(documented, `the turn of ${marker.game} after ${marker.moves.join(' ')}`).toEqual(fromGame);
      }
    }
  });
});

/** Python with the websockets library the doc's client names (CI may have neither; then the client is not run). */
const python = spawnSync('python3', ['-c', 'import websockets, sys; sys.exit(0 if int(websockets.__version__.split(".")[0]) >= 14 else 1)']).status === 0;

describe("docs/protocol.md's minimal Python client", () => {
  it.skipIf(!python)('plays a tournament as written, against a real server', async () => {
    const client = /## A minimal client[\s\S]*?```python\n([\s\S]*?)```/.exec(readFileSync(DOC, 'utf8'))![1];
    expect(client).toContain('asyncio.run(play("ws://127.0.0.1:8080", "sp_…"))');
    const t = await testServer(['py', 'ts'], { tournaments: [{ name: 'doc', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 4 }] });
    const program = client.replace('"ws://127.0.0.1:8080"', JSON.stringify(t.server.url.replace(/^http/, 'ws'))).replace('"sp_…"', JSON.stringify(t.tokens.py));
    const child = spawn('python3', ['-c', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const other = connect(t.server.url, t.tokens.ts, randomAgent());
    try {
      await t.server.runner('doc')!.done;
      const results = t.server.store.results();
      expect(results.map((r) => r.outcome), output).toEqual(['normal', 'normal', 'normal', 'normal']);
      // Every reply of the Python agent was a legal move, and the server told it of no error.
      for (const r of results) expect(t.server.store.match(r.matchId)!.episode!.steps.every((s) => s.valid)).toBe(true);
      expect(output).toBe('');
    } finally {
      child.kill('SIGKILL');
      await other.close();
      await t.stop();
    }
  }, 30_000);
});

describe("docs/protocol.md's /live", () => {
  it('watches running matches only: a finished match gets a bad-message error that says where to read it', async () => {
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'w', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1 }] });
    const clients = [connect(t.server.url, t.tokens.ann, policyAgent((turn) => turn.legal[0])), connect(t.server.url, t.tokens.bob, policyAgent((turn) => turn.legal[0]))];
    const ws = new WebSocket(`${t.server.url.replace(/^http/, 'ws')}/live`);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    try {
      await t.server.runner('w')!.done;
      await new Promise((resolve) => (ws.readyState === WebSocket.OPEN ? resolve(undefined) : ws.once('open', resolve)));
      ws.send(JSON.stringify({ type: 'watch', matchId: 'w:ann:bob:0' }));
      const error = await waitFor(() => messages.find((m) => m.type === 'error'), 5000, 'the error');
      expect(error).toEqual({ type: 'error', v: 1, code: 'bad-message', message: 'match w:ann:bob:0 is not running (it may have ended: GET /api/matches/w%3Aann%3Abob%3A0)' });
    } finally {
      ws.terminate();
      await Promise.all(clients.map((c) => c.close()));
      await t.stop();
    }
  });
});
