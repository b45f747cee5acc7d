import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { completionDatum, TinkerClient, TinkerError } from '../../agents/hosted/tinker-client.ts';
import { testHost } from './host-fixture.ts';

const PROMPT = [257, 259, 72, 105, 256, 260];
const fixture = testHost('tinker-client-', ['--d-model', '32', '--layers', '1', '--heads', '2', '--context', '64']);

describe('TinkerClient against the reference host', () => {
  const clients: TinkerClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  const connect = async () => {
    const client = await TinkerClient.connect(fixture.host.url);
    clients.push(client);
    return client;
  };

  it('trains a model and samples what it saved, through futures', async () => {
    const client = await connect();
    expect((await client.capabilities()).supported_models.map((m) => m.model_name)).toEqual(['tiny']);
    const model = await client.createModel({ baseModel: 'tiny' });
    expect(model.id).toMatch(/^model_[0-9a-f]{8}$/);
    const sampled = await client.sample({ baseModel: 'tiny' }, PROMPT, { max_tokens: 4, seed: 3 }, { numSamples: 2 });
    expect(sampled.sequences).toHaveLength(2);
    const { tokens, logprobs } = sampled.sequences[0];

    const datum = completionDatum(PROMPT, tokens, { logprobs, advantages: tokens.map(() => 1) });
    const passed = await model.forwardBackward([datum], 'importance_sampling');
    const scored = passed.loss_fn_outputs[0].logprobs.data.slice(PROMPT.length - 1);
    // The training weights are the base's: each token's logprob is the one it was sampled with.
    scored.forEach((value, i) => expect(value).toBeCloseTo(logprobs[i], 4));
    expect((await model.optimStep({ learning_rate: 1e-2 })).metrics?.version).toBe(1);

    const named = await model.saveWeightsForSampler('after-one');
    expect(named.path).toBe(`tinker://${model.id}/after-one`);
    const again = await client.sample({ modelPath: named.path! }, PROMPT, { max_tokens: 4, seed: 3 }, { numSamples: 2 });
    expect(again.sequences).toHaveLength(2);
    const ephemeral = await model.saveWeightsForSampler();
    expect(ephemeral.path).toBeNull();
    const fromSession = await client.sample({ samplingSessionId: ephemeral.sampling_session_id! }, PROMPT, { max_tokens: 4, seed: 3 }, { numSamples: 2 });
    // The same weights and seed: the same tokens, whichever way they are named.
    expect(fromSession.sequences).toEqual(again.sequences);
  }, 60_000);

  it('submits in the order requests are made, without waiting for results', async () => {
    const client = await connect();
    const model = await client.createModel({ baseModel: 'tiny', loraRank: 2 });
    const datum = completionDatum(PROMPT, [65, 256]);
    const [pass1, step1, pass2, step2] = await Promise.all([
      model.forwardBackward([datum], 'cross_entropy'),
      model.optimStep({ learning_rate: 1e-3 }),
      model.forwardBackward([datum], 'cross_entropy'),
      model.optimStep({ learning_rate: 1e-3 }),
    ]);
    expect([step1.metrics?.version, step2.metrics?.version]).toEqual([1, 2]);
    // Each pass scored the weights as they were then: the second after one step on the same datum.
    expect(pass2.loss_fn_outputs[0].logprobs.data.at(-1)!).toBeGreaterThan(pass1.loss_fn_outputs[0].logprobs.data.at(-1)!);
  }, 60_000);

  it('sends a batch larger than a request may carry as several, whose gradients add up to the one step', async () => {
    const whole = await connect();
    const split = await TinkerClient.connect(fixture.host.url, { maxDatumsPerRequest: 3 });
    clients.push(split);
    const data = Array.from({ length: 10 }, (_, i) => completionDatum(PROMPT, [65 + i, 66, 256], { weight: 0.1, advantages: [1, 1, 1].map(() => (i % 2 ? 1 : -1)), logprobs: [-5, -5, -5] }));
    const [a, b] = [await whole.createModel({ baseModel: 'tiny' }), await split.createModel({ baseModel: 'tiny' })];
    const [one, parts] = [await a.forwardBackward(data, 'importance_sampling'), await b.forwardBackward(data, 'importance_sampling')];
    expect(parts.loss_fn_outputs).toHaveLength(10);
    parts.loss_fn_outputs.forEach((out, i) => out.logprobs.data.forEach((lp, k) => expect(lp).toBeCloseTo(one.loss_fn_outputs[i].logprobs.data[k], 5)));
    expect(Object.keys(parts.metrics).sort()).toEqual(Object.keys(one.metrics).sort());
    for (const [key, value] of Object.entries(one.metrics)) expect(parts.metrics[key]).toBeCloseTo(value, 4);
    await Promise.all([a.optimStep({ learning_rate: 1e-2 }), b.optimStep({ learning_rate: 1e-2 })]);
    // The same step: the trained weights score every datum the same.
    const [after, afterParts] = [await a.forward(data), await b.forward(data)];
    afterParts.loss_fn_outputs.forEach((out, i) => out.logprobs.data.forEach((lp, k) => expect(lp).toBeCloseTo(after.loss_fn_outputs[i].logprobs.data[k], 5)));
    expect(after.loss_fn_outputs[1].logprobs.data.at(-3)).not.toBeCloseTo(one.loss_fn_outputs[1].logprobs.data.at(-3)!, 3);
    // More than the reference host takes in one request (4096 datums).
    const many = await whole.createModel({ baseModel: 'tiny' }).then((m) => m.forward(Array.from({ length: 4100 }, () => data[0])));
    expect(many.loss_fn_outputs).toHaveLength(4100);
    many.loss_fn_outputs[4099].logprobs.data.slice(-3).forEach((lp, k) => expect(lp).toBeCloseTo(many.loss_fn_outputs[0].logprobs.data.slice(-3)[k], 5));
    await expect(TinkerClient.connect(fixture.host.url, { maxDatumsPerRequest: 0 })).rejects.toThrow(/maxDatumsPerRequest must be a whole number >= 1/);
  }, 60_000);

  it('does not apply a step when part of a split batch failed, and takes no more steps', async () => {
    const split = await TinkerClient.connect(fixture.host.url, { maxDatumsPerRequest: 3 });
    clients.push(split);
    const good = (i: number) => completionDatum(PROMPT, [65 + i, 66, 256], { weight: 0.1, advantages: [1, 1, 1], logprobs: [-5, -5, -5] });
    // A behaviour logprob this low makes the importance ratio infinite: the host rejects that request's loss as not finite.
    const data = Array.from({ length: 10 }, (_, i) => (i === 4 ? completionDatum(PROMPT, [65, 66, 256], { advantages: [1, 1, 1], logprobs: [-3e38, -5, -5] }) : good(i)));
    const model = await split.createModel({ baseModel: 'tiny' });
    const probe = [good(0), good(7)];
    const before = await model.forward(probe);
    const [passed, stepped] = await Promise.allSettled([model.forwardBackward(data, 'importance_sampling'), model.optimStep({ learning_rate: 1e-2 })]);
    expect(passed.status === 'rejected' && String(passed.reason)).toMatch(/forward_backward \(request \d+\): 400 the loss is not finite/);
    expect(stepped.status === 'rejected' && String(stepped.reason)).toMatch(
      new RegExp(`optim_step on ${model.id} was not sent: part 2 of the 4 forward_backward requests of its gradients failed \\(forward_backward \\(request \\d+\\): 400 the loss is not finite.*this model takes no more steps`),
    );
    // Parts 1, 3 and 4 computed gradients, but no step applied them.
    expect((await model.forward(probe)).loss_fn_outputs).toEqual(before.loss_fn_outputs);
    await model.forwardBackward([good(1)], 'importance_sampling');
    await expect(model.optimStep({ learning_rate: 1e-2 })).rejects.toThrow(/was not sent: part 2 of the 4 .* takes no more steps/);
    expect((await model.forward(probe)).loss_fn_outputs).toEqual(before.loss_fn_outputs);
  }, 60_000);

  it('saves and loads weights through tinker:// paths', async () => {
    const client = await connect();
    const source = await client.createModel({ baseModel: 'tiny' });
    await source.forwardBackward([completionDatum(PROMPT, [65, 256])], 'cross_entropy');
    await source.optimStep({ learning_rate: 1e-2 });
    const path = await source.saveWeights('one');
    expect(path).toBe(`tinker://${source.id}/weights/one`);
    const target = await client.createModel({ baseModel: 'tiny' });
    await target.loadWeights(path);
    const probe = [completionDatum(PROMPT, [66, 67, 256])];
    expect((await target.forward(probe)).loss_fn_outputs).toEqual((await source.forward(probe)).loss_fn_outputs);
  }, 60_000);

  it('says what the server refused, and what failed while it ran', async () => {
    const client = await connect();
    const model = await client.createModel({ baseModel: 'tiny' });
    const refused = await model.forwardBackward([completionDatum(PROMPT, [65, 256])], 'importance_sampling').catch((error) => error);
    expect(refused).toBeInstanceOf(TinkerError);
    expect(refused).toMatchObject({ status: 422, category: 'user' });
    expect(refused.message).toContain('loss_fn_inputs.logprobs: Field required');
    const failed = await model.optimStep({ learning_rate: 1e-3 }).catch((error) => error);
    expect(failed).toMatchObject({ status: 400, category: 'unknown' });
    expect(failed.message).toContain('no accumulated gradients');
    const missing = await client.createModel({ baseModel: 'Qwen/Qwen3-4B' }).catch((error) => error);
    expect(missing).toMatchObject({ status: 400 });
    expect(missing.message).toContain("base model 'Qwen/Qwen3-4B' is not served here; this host serves: tiny");
  }, 60_000);
});

/** A Tinker server on loopback that answers as a script says, and records what it was sent. */
async function scriptedServer(answer: (route: string, body: Record<string, unknown>, n: number) => [number, unknown] | 'drop' | 'cut'): Promise<{ url: string; seen: { route: string; body: Record<string, unknown> }[]; server: Server }> {
  const seen: { route: string; body: Record<string, unknown> }[] = [];
  const counts = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      const route = (request.url ?? '').replace('/api/v1/', '');
      const body = raw ? JSON.parse(raw) : {};
      seen.push({ route, body });
      const n = (counts.get(route) ?? 0) + 1;
      counts.set(route, n);
      const reply = answer(route, body, n);
      if (reply === 'drop') return request.socket.destroy();
      // A status line and the start of a body, then the connection breaks (a server killed mid-answer).
      if (reply === 'cut') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' }).write('{"request_id": "2', () => request.socket.destroy());
        return;
      }
      response.writeHead(reply[0], { 'content-type': 'application/json' }).end(JSON.stringify(reply[1]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('TinkerClient retries and heartbeats (a scripted server)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const fast = { retry: { retries: 5, backoffMs: 5, maxBackoffMs: 20 } };

  it('retries lost connections, 503 and 408 with the same seq_id, and polls through 408 and try_again', async () => {
    const result = { loss_fn_output_type: 'scalar', loss_fn_outputs: [], metrics: { 'loss:sum': 1.5 } };
    const { url, seen, server } = await scriptedServer((route, _body, n) => {
      if (route === 'create_session') return [200, { session_id: 'session_00000001' }];
      if (route === 'create_model') return [200, { model_id: 'model_00000001', request_id: '1' }];
      if (route === 'forward_backward') return n === 1 ? 'drop' : n === 2 ? [503, { detail: 'busy' }] : n === 3 ? [408, { detail: 'slow' }] : [200, { request_id: '2' }];
      if (route === 'retrieve_future') {
        const id = seen.at(-1)!.body.request_id;
        if (id === '1') return [200, { model_id: 'model_00000001' }];
        return n === 2 ? [408, { detail: 'Timeout waiting for result' }] : n === 3 ? [200, { type: 'try_again', request_id: id, queue_state: 'active' }] : [200, result];
      }
      return [404, { detail: 'Not Found' }];
    });
    servers.push(server);
    const client = await TinkerClient.connect(url, { ...fast, heartbeatMs: 0 });
    const model = await client.createModel({ baseModel: 'tiny' });
    expect(await model.forwardBackward([completionDatum(PROMPT, [65, 256])], 'cross_entropy')).toEqual(result);
    const submits = seen.filter((s) => s.route === 'forward_backward');
    expect(submits).toHaveLength(4);
    expect(new Set(submits.map((s) => s.body.seq_id))).toEqual(new Set([1]));
    expect(seen.filter((s) => s.route === 'retrieve_future' && s.body.request_id === '2')).toHaveLength(3);
    client.close();
  });

  it('retries an answer cut off after its status line, instead of reading it as empty', async () => {
    const { url, seen, server } = await scriptedServer((route, _body, n) => {
      if (route === 'create_session') return [200, { session_id: 'session_00000001' }];
      if (route === 'create_model') return n === 1 ? 'cut' : [200, { request_id: '1' }];
      if (route === 'retrieve_future') return [200, { model_id: 'model_00000001' }];
      return [404, { detail: 'Not Found' }];
    });
    servers.push(server);
    const client = await TinkerClient.connect(url, { ...fast, heartbeatMs: 0 });
    expect((await client.createModel({ baseModel: 'tiny' })).id).toBe('model_00000001');
    expect(seen.filter((s) => s.route === 'create_model')).toHaveLength(2);
    client.close();
  });

  it('gives up after its retries with every reason, and fails a request the server failed', async () => {
    const { url, server } = await scriptedServer((route) => {
      if (route === 'create_session') return [200, { session_id: 'session_00000001' }];
      if (route === 'get_server_capabilities') return [502, { detail: 'bad gateway' }];
      if (route === 'create_model') return [200, { request_id: '7' }];
      if (route === 'retrieve_future') return [200, { error: 'out of memory', category: 'server' }];
      return [404, { detail: 'Not Found' }];
    });
    servers.push(server);
    const client = await TinkerClient.connect(url, { ...fast, heartbeatMs: 0 });
    const gaveUp = await client.capabilities().catch((error) => error);
    expect(gaveUp).toBeInstanceOf(TinkerError);
    expect(gaveUp).toMatchObject({ status: 502, category: 'server' });
    expect(gaveUp.message).toContain('get_server_capabilities on the Tinker server at http://127.0.0.1:');
    expect(gaveUp.message).toContain('502 bad gateway (6 tries: 502 bad gateway)');
    const failed = await client.createModel({ baseModel: 'tiny' }).catch((error) => error);
    expect(failed).toMatchObject({ category: 'server' });
    expect(failed.message).toBe('create_model failed: out of memory');
    client.close();
    const nobody = await TinkerClient.connect('http://127.0.0.1:9', fast).catch((error) => error);
    expect(nobody).toMatchObject({ status: 0 });
    expect(nobody.message).toMatch(/create_session on the Tinker server at http:\/\/127\.0\.0\.1:9: cannot reach it .*6 tries/);
  });

  it('heartbeats while open, and stops when closed', async () => {
    const { url, seen, server } = await scriptedServer((route) => (route === 'create_session' ? [200, { session_id: 'session_00000002' }] : [200, { type: 'session_heartbeat' }]));
    servers.push(server);
    const client = await TinkerClient.connect(url, { heartbeatMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    client.close();
    const beats = seen.filter((s) => s.route === 'session_heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats[0].body).toEqual({ session_id: 'session_00000002' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.filter((s) => s.route === 'session_heartbeat').length).toBe(beats.length);
    expect(client.heartbeatFailures).toBe(0);
  });
});
