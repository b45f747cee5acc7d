import { resolve } from 'node:path';
import { completionDatum, startPolicyHost, TinkerClient } from '../agents/hosted/index.ts';
import { median, table } from './measure.ts';

/**
 * Issue 21's step figure: one training step of 256 samples on the Tinker wire
 * (forward_backward + optim_step) against the `/train/step` route it replaced,
 * both hosts started here, in alternating rounds. The old route lives only in
 * an older checkout:
 *
 *   git worktree add /tmp/old-host ca510c0 && ln -s "$PWD/node_modules" /tmp/old-host/
 *   node bin/run-ts.js bench/tinker-step-vs-train-step.ts /tmp/old-host [rounds] [distinct]
 *
 * `distinct` puts each prompt's number first, so that no two prompts share
 * more than the chat template's first tokens (the default, as in `npm run
 * bench -- policy-host`, puts it near the end, as a game's observation would).
 */
const [oldCheckout, roundsArg, variant] = process.argv.slice(2);
if (!oldCheckout) throw new Error('usage: bench/tinker-step-vs-train-step.ts OLD_CHECKOUT [rounds] [distinct]');
const rounds = Number(roundsArg ?? 9);
const distinct = variant === 'distinct';
const old = await import(resolve(oldCheckout, 'agents/hosted/index.ts'));
const python = process.env.SELFPLAY_PYTHON ?? '/usr/bin/python3';
const oldHost = await old.startPolicyHost({ python, args: [] });
const newHost = await startPolicyHost({ python, args: [] });
try {
  const observation = (i: number) => `Your card: ${'JQK'[i % 3]}\nActions: Player 0 ${i % 2 ? 'bet' : 'check'}\nYour move.`;
  const prompt = (i: number) => (distinct ? `(${i}) ${observation(i)}` : `${observation(i)} (${i})`) + '\nValid actions: [call], [fold]';
  type Answer = { prompt_token_ids: number[]; choices: { token_ids: number[]; logprobs: { content: { logprob: number }[] } }[] };
  const answers: Answer[] = [];
  for (let i = 0; i < 256; i++) {
    const body = { model: 'tiny', logprobs: true, return_token_ids: true, temperature: 1, messages: [{ role: 'user', content: prompt(i) }], guided_choice: ['[call]', '[fold]'] };
    const response = await fetch(`${newHost.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    answers.push((await response.json()) as Answer);
  }
  const logprobs = (a: Answer) => a.choices[0].logprobs.content.map((t) => t.logprob);
  const items = answers.map((a, i) => ({ prompt_token_ids: a.prompt_token_ids, completion_token_ids: a.choices[0].token_ids, logprobs: logprobs(a), advantages: i % 2 ? 1 : -1 }));
  const tokens = answers.reduce((n, a) => n + a.choices[0].token_ids.length, 0);
  const data = answers.map((a, i) => completionDatum(a.prompt_token_ids, a.choices[0].token_ids, { weight: 1 / tokens, logprobs: logprobs(a), advantages: a.choices[0].token_ids.map(() => (i % 2 ? 1 : -1)) }));
  const trainStep = new old.PolicyHostClient(oldHost.url, 'tiny');
  const tinker = await TinkerClient.connect(newHost.url);
  const model = await tinker.createModel({ baseModel: 'tiny' });
  const before: number[] = [];
  const after: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    await trainStep.trainStep({ loss: 'importance-sampling', learning_rate: 1e-4, items });
    before.push(performance.now() - t);
    t = performance.now();
    await Promise.all([model.forwardBackward(data, 'importance_sampling'), model.optimStep({ learning_rate: 1e-4, grad_clip_norm: 1 })]);
    after.push(performance.now() - t);
  }
  tinker.close();
  const promptTokens = items.reduce((n, it) => n + it.prompt_token_ids.length, 0) / items.length;
  console.log(table([
    { route: `/train/step (${oldCheckout})`, 'median ms': median(before), rounds: before.map(Math.round).join(' ') },
    { route: 'Tinker forward_backward + optim_step', 'median ms': median(after), rounds: after.map(Math.round).join(' ') },
  ]));
  console.log(`\nratio ${(median(after) / median(before)).toFixed(3)}; 256 samples, ${promptTokens.toFixed(1)}-token prompts, ${distinct ? 'numbered first' : 'numbered last'}`);
} finally {
  await oldHost.close();
  await newHost.close();
}
