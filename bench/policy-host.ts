import { completionDatum, PolicyHostClient, startPolicyHost, TinkerClient, type PolicyHostProcess, type TinkerModel } from '../agents/hosted/index.ts';
import { loadChatTokenizer } from '../agents/llm/chat-tokenizer.ts';
import { median, table } from './measure.ts';

/**
 * The policy host's speed: free sampling (tokens/s), guided choice among
 * legal moves (samples/s), training steps on 256 samples over the Tinker API,
 * and a future's round trip. It starts the
 * reference host (SELFPLAY_PYTHON, default /usr/bin/python3, with
 * POLICY_HOST_ARGS such as "--device cuda --d-model 256"), or measures one
 * already running at POLICY_HOST_URL: unchanged on a GPU machine.
 */
const SAMPLES_PER_STEP = 256;
const STEP_ROUNDS = 5;
const FREE_REQUESTS = 40;

interface ChatAnswer {
  model: string;
  prompt_token_ids: number[];
  choices: { token_ids: number[]; logprobs: { content: { logprob: number }[] } }[];
  usage: { completion_tokens: number };
}

async function chat(apiBase: string, body: Record<string, unknown>): Promise<ChatAnswer> {
  const response = await fetch(`${apiBase}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`chat completion: ${response.status} ${await response.text()}`);
  return (await response.json()) as ChatAnswer;
}

/** A Kuhn-poker-like observation of about 60 bytes, different each time. */
const prompt = (i: number) => `Your card: ${'JQK'[i % 3]}\nActions: Player 0 ${i % 2 ? 'bet' : 'check'}\nYour move. (${i})\nValid actions: [call], [fold]`;

/** Runs `requests` at `concurrency`; returns the wall seconds and the answers. */
async function timed(requests: number, concurrency: number, make: (i: number) => Promise<ChatAnswer>): Promise<{ seconds: number; answers: ChatAnswer[] }> {
  const answers: ChatAnswer[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) answers.push(await make(next++));
    }),
  );
  return { seconds: (performance.now() - started) / 1000, answers };
}

/**
 * Guided picks with 32 in flight on the host, against the same requests on a second host started with `args`,
 * alternating rounds (median of 3 each); only for a host started here. Rows: `measure` for the host, then
 * `other` for the second one.
 */
async function guidedAgainst(host: PolicyHostClient, base: Record<string, unknown>, args: readonly string[], measure: string, other: string): Promise<Record<string, string | number>[]> {
  if (process.env.POLICY_HOST_URL) return [];
  const second = await startPolicyHost({ python: process.env.SELFPLAY_PYTHON ?? '/usr/bin/python3', args: [...args, ...(process.env.POLICY_HOST_ARGS ?? '').split(/\s+/).filter(Boolean)] });
  try {
    const rate = async (apiBase: string) =>
      SAMPLES_PER_STEP / (await timed(SAMPLES_PER_STEP, 32, (i) => chat(apiBase, { ...base, messages: [{ role: 'user', content: prompt(i) }], guided_choice: ['[call]', '[fold]', '[raise]'] }))).seconds;
    const first: number[] = [];
    const then: number[] = [];
    for (let round = 0; round < 3; round++) {
      first.push(await rate(host.apiBase));
      then.push(await rate(`${second.url}/v1`));
    }
    const [a, b] = [median(first), median(then)];
    return [
      { measure: `guided choice of 3 moves, 32 in flight, ${measure} (median of 3)`, requests: SAMPLES_PER_STEP, 'per second': a, unit: `samples/s (${(a / b).toFixed(2)}x ${other.split(' (')[0]})`, target: '' },
      { measure: `... the same, ${other}`, requests: SAMPLES_PER_STEP, 'per second': b, unit: 'samples/s', target: '' },
    ];
  } finally {
    await second.close();
  }
}

/** A Leduc-poker-like observation of about 200 bytes, different each time. */
const longPrompt = (i: number) =>
  `You are Player ${i % 2}.\nYour card: ${'JQK'[i % 3]}\nPublic card: ${'JQK'[(i >> 1) % 3]}\nRound 1: Player 0 check, Player 1 bet, Player 0 raise, Player 1 call\n` +
  `Round 2: Player 0 ${i % 4 ? 'bet' : 'check'}\nPot: ${i} chips (you put in ${i >> 1}, your opponent ${i - (i >> 1)}).\nYour move.\nValid actions: [fold], [call], [raise]`;

/**
 * A step that fits every move of 64 states, as mmd and exact-mmd do (three datums share each prompt, which the
 * host runs once), against the same number of datums and tokens with every prompt different; alternating rounds.
 */
async function sharedPrompts(trained: TinkerModel): Promise<Record<string, string | number>[]> {
  const tokenizer = await loadChatTokenizer(new URL('../policy-host/tokenizer', import.meta.url).pathname);
  const moves = ['[fold]', '[call]', '[raise]'].map((move) => [...tokenizer.encode(move), tokenizer.stopTokenIds[0]]);
  const prompt = (i: number) => tokenizer.encodeChat([{ role: 'user', content: longPrompt(i) }]);
  const states = 64;
  const datum = (p: number[], move: number[], i: number) => completionDatum(p, move, { weight: 1 / (states * move.length), logprobs: move.map(() => -1.1), advantages: move.map(() => (i % 2 ? 1 : -1)) });
  const shared = Array.from({ length: states }, (_, i) => moves.map((move, k) => datum(prompt(i), move, i * 3 + k))).flat();
  const distinct = Array.from({ length: states }, (_, i) => moves.map((move, k) => datum(prompt(1000 + i * 3 + k), move, i * 3 + k))).flat();
  const times: [number[], number[]] = [[], []];
  for (let round = 0; round < STEP_ROUNDS; round++) {
    for (const [which, data] of [shared, distinct].entries()) {
      const t = performance.now();
      await Promise.all([trained.forwardBackward(data, 'importance_sampling'), trained.optimStep({ learning_rate: 1e-4, grad_clip_norm: 1 })]);
      times[which].push((performance.now() - t) / 1000);
    }
  }
  const [together, apart] = times.map(median);
  const promptTokens = prompt(0).length;
  return [
    { measure: `training step, ${states} prompts (~${promptTokens} tokens) x ${moves.length} moves, each prompt run once for its moves: median of ${STEP_ROUNDS}`, requests: STEP_ROUNDS, 'per second': shared.length / together, unit: `datums/s (${together.toFixed(2)} s a step, ${(apart / together).toFixed(2)}x distinct prompts)`, target: '' },
    { measure: `... the same ${distinct.length} datums with ${distinct.length} distinct prompts`, requests: STEP_ROUNDS, 'per second': distinct.length / apart, unit: `datums/s (${apart.toFixed(2)} s a step)`, target: '' },
  ];
}

export async function benchPolicyHost(): Promise<string> {
  let started: PolicyHostProcess | undefined;
  const url = process.env.POLICY_HOST_URL ?? (started = await startPolicyHost({ python: process.env.SELFPLAY_PYTHON ?? '/usr/bin/python3', args: (process.env.POLICY_HOST_ARGS ?? '').split(/\s+/).filter(Boolean) })).url;
  try {
    const host = new PolicyHostClient(url);
    const health = await host.health();
    const model = process.env.POLICY_HOST_POLICY ?? 'tiny';
    const base = { model, logprobs: true, return_token_ids: true, temperature: 1 };
    const rows: Record<string, string | number>[] = [];

    const free = await timed(FREE_REQUESTS, 1, (i) => chat(host.apiBase, { ...base, messages: [{ role: 'user', content: prompt(i) }], max_tokens: 64, seed: i }));
    const freeTokens = free.answers.reduce((n, a) => n + a.usage.completion_tokens, 0);
    rows.push({ measure: 'free sampling, n=1, 64 tokens max', requests: FREE_REQUESTS, 'per second': freeTokens / free.seconds, unit: 'tokens/s', target: '>= 200' });

    const wide = await timed(FREE_REQUESTS / 4, 1, (i) => chat(host.apiBase, { ...base, messages: [{ role: 'user', content: prompt(i) }], max_tokens: 64, n: 8, seed: i }));
    const wideTokens = wide.answers.reduce((n, a) => n + a.usage.completion_tokens, 0);
    rows.push({ measure: 'free sampling, n=8', requests: FREE_REQUESTS / 4, 'per second': wideTokens / wide.seconds, unit: 'tokens/s', target: '' });

    const guided = await timed(SAMPLES_PER_STEP, 8, (i) => chat(host.apiBase, { ...base, messages: [{ role: 'user', content: prompt(i) }], guided_choice: ['[call]', '[fold]'] }));
    rows.push({ measure: 'guided choice of 2 moves, 8 in flight', requests: SAMPLES_PER_STEP, 'per second': SAMPLES_PER_STEP / guided.seconds, unit: 'samples/s', target: '' });
    rows.push(...(await guidedAgainst(host, base, ['--max-choice-batch', '1'], 'scored together as they queue', 'each scored alone (--max-choice-batch 1)')));
    rows.push(...(await guidedAgainst(host, base, ['--no-malloc-tuning'], "malloc's thresholds raised (the host's default)", "glibc's default malloc (--no-malloc-tuning)")));

    const tinker = await TinkerClient.connect(url);
    const trained = await tinker.createModel({ baseModel: model });
    const tokens = guided.answers.reduce((n, a) => n + a.choices[0].token_ids.length, 0);
    const data = guided.answers.map((a, i) => completionDatum(a.prompt_token_ids, a.choices[0].token_ids, {
      weight: 1 / tokens,
      logprobs: a.choices[0].logprobs.content.map((t) => t.logprob),
      advantages: a.choices[0].token_ids.map(() => (i % 2 ? 1 : -1)),
    }));
    const stepSeconds: number[] = [];
    for (let round = 0; round < STEP_ROUNDS; round++) {
      const t = performance.now();
      await Promise.all([trained.forwardBackward(data, 'importance_sampling'), trained.optimStep({ learning_rate: 1e-4, grad_clip_norm: 1 })]);
      stepSeconds.push((performance.now() - t) / 1000);
    }
    const step = median(stepSeconds);
    const promptTokens = guided.answers.reduce((n, a) => n + a.prompt_token_ids.length, 0) / guided.answers.length;
    rows.push({ measure: `training step, ${SAMPLES_PER_STEP} samples (~${Math.round(promptTokens)}-token prompts): forward_backward + optim_step, median of ${STEP_ROUNDS}`, requests: STEP_ROUNDS, 'per second': SAMPLES_PER_STEP / step, unit: `samples/s (${step.toFixed(2)} s a step)`, target: '< 2 s a step' });
    rows.push(...(await sharedPrompts(trained)));
    const trivial = [completionDatum([257, 260], [65])];
    const roundTrips: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await trained.forward(trivial);
      roundTrips.push(performance.now() - t);
    }
    rows.push({ measure: 'future round trip: forward of a 2-token datum, submit to result (loopback), median of 200', requests: 200, 'per second': 1000 / median(roundTrips), unit: `calls/s (${median(roundTrips).toFixed(2)} ms)`, target: '< 5 ms' });
    tinker.close();
    return `policy host at ${url}, device ${health.device}, base model ${model}\n\n${table(rows)}`;
  } finally {
    await started?.close();
  }
}
