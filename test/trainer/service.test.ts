import { lastValueFrom, toArray } from 'rxjs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';
import { tabularAgent } from '../../agents/tabular.ts';
import { msgpackPackr, msgpackUnpackr } from '../../src/episodes/codec.ts';
import { runArena } from '../../src/runtime/index.ts';
import { connectTrainer } from '../../src/trainer/trainer-client.ts';
import { EpisodeTrainer } from '../../src/trainer/episode-trainer.ts';
import { startTrainerService, type TrainerService } from '../../src/trainer/service.ts';
import { TabularSoftmax } from '../../src/trainer/tabular-softmax.ts';

const game = kuhnPoker();
const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn-learner', batchEpisodes: 200, maxStaleness: 1 });
let service: TrainerService;

beforeAll(async () => {
  service = await startTrainerService(trainer);
});
afterAll(async () => {
  await service.close();
});

/** Episodes of an arena in which both seats play `policy` as version `version` of the learner. */
async function playVersion(policy: Parameters<typeof tabularAgent>[0], version: number, matches: number, seed: number) {
  const player = (name: string) => ({ name, agent: tabularAgent(policy), policy: { id: 'kuhn-learner', version } });
  return lastValueFrom(runArena({ game, players: [player('a'), player('b')], matches, seed, runId: `v${version}-s${seed}` }).pipe(toArray()));
}

describe('selfplay trainer service over WebSocket', () => {
  it('takes episodes from a remote arena, updates, and serves and announces the new version', async () => {
    const client = await connectTrainer(service.url);
    const announced: number[] = [];
    client.versions$.subscribe((v) => announced.push(v.version));
    const { version, policy } = await client.policy();
    expect(version).toBe(0);
    for (const episode of await playVersion(policy, version, 200, 1)) expect((await client.send(episode)).accepted).toBe(true);
    const next = await client.policy();
    expect(next.version).toBe(1);
    expect(announced).toEqual([1]);
    expect(next.policy).not.toEqual(policy);

    const duplicate = await client.send((await playVersion(policy, 0, 1, 1))[0]);
    expect(duplicate).toMatchObject({ accepted: false, reason: 'duplicate' });
    client.close();
  });

  it('drops stale episodes and says so', async () => {
    const client = await connectTrainer(service.url);
    const { policy } = await client.policy();
    for (const episode of await playVersion(policy, 1, 200, 2)) await client.send(episode);
    expect((await client.policy()).version).toBe(2);
    for (const episode of await playVersion(policy, 1, 200, 3)) await client.send(episode);
    expect((await client.policy()).version).toBe(3);
    const [old] = await playVersion(policy, 1, 1, 4);
    expect(await client.send(old)).toMatchObject({ accepted: false, reason: 'stale', version: 3 });
    client.close();
  });

  it('answers malformed frames with an error and keeps serving', async () => {
    const raw = new WebSocket(service.url);
    await new Promise((resolve) => raw.once('open', resolve));
    const replies: unknown[] = [];
    raw.on('message', (data) => replies.push(msgpackUnpackr.unpack(data as Buffer)));
    raw.send('not binary');
    raw.send(Buffer.from([0xc1, 0x00]));
    raw.send(msgpackPackr.pack({ type: 'episode', episode: { schema: 1, id: 'x' } }));
    const [tttEpisode] = await lastValueFrom(runArena({ game: ticTacToe(), players: [{ name: 'a', agent: tabularAgent({}) }, { name: 'b', agent: tabularAgent({}) }], matches: 1 }).pipe(toArray()));
    raw.send(msgpackPackr.pack({ type: 'episode', episode: tttEpisode }));
    raw.send(msgpackPackr.pack({ type: 'policy' }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(replies.slice(0, 4).map((r) => (r as { type: string }).type)).toEqual(['error', 'error', 'error', 'error']);
    expect((replies[0] as { message: string }).message).toMatch(/frames are binary msgpack/);
    expect((replies[2] as { message: string }).message).toMatch(/bad episode: /);
    expect((replies[3] as { message: string }).message).toMatch(/learns kuhn-poker, not tic-tac-toe/);
    expect(replies[4]).toMatchObject({ type: 'policy' });
    raw.close();
  });
});
