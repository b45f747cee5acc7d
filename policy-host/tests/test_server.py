"""The protocol, against a real server on 127.0.0.1: the OpenAI routes, and training through the Tinker API.
Each training test trains a Tinker model of its own (created from the base policy 'tiny'), so tests do not see
each other's updates."""

import copy
import itertools
import json
import os
import threading
import unittest
import unittest.mock

import torch

from selfplay_host import tokenizer
from selfplay_host.server import BusyClock

from .helpers import TEST_MODEL, RunningHost, datum, tensor

POLICIES = ['tiny', 'other']
MESSAGES = [{'role': 'system', 'content': 'You play Kuhn poker.'}, {'role': 'user', 'content': 'Valid actions: [check], [bet]'}]
CHOICES = ['[check]', '[bet]', '[fold]']
# Distinct seq ids for unnamed sampler weights.
SEQ = itertools.count(1)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = RunningHost(POLICIES, keep=3)

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def chat(self, **body):
        body.setdefault('messages', MESSAGES)
        return self.host.post('/v1/chat/completions', body)

    def ok_chat(self, **body):
        status, response = self.chat(**body)
        self.assertEqual(status, 200, response)
        return response

    def guided_sample(self, policy, temperature=1.0, seed=0):
        """A guided choice as a training item would record it."""
        r = self.ok_chat(model=policy, guided_choice=CHOICES, logprobs=True, return_token_ids=True, temperature=temperature, seed=seed)
        choice = r['choices'][0]
        return r, r['prompt_token_ids'], choice['token_ids'], [t['logprob'] for t in choice['logprobs']['content']]

    def model(self) -> str:
        """A fresh Tinker model trained from 'tiny': served on the OpenAI routes too, as `<id>` and `<id>@0`."""
        return self.host.create_model('tiny')

    def policy(self, model_id: str):
        return self.host.host.registry.policies[model_id]

    def forward_backward(self, model_id: str, data: list[dict], loss_fn: str = 'importance_sampling', **config) -> dict:
        body = {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': loss_fn, 'loss_fn_config': config}}
        return self.host.run('forward_backward', body)['metrics']

    def optim_step(self, model_id: str, lr: float) -> dict:
        return self.host.run('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': lr}})['metrics']

    def step(self, model_id: str, data: list[dict], loss_fn: str = 'importance_sampling', lr: float = 1e-2, **config) -> tuple[dict, dict]:
        """forward_backward then optim_step: the metrics of each."""
        return self.forward_backward(model_id, data, loss_fn, **config), self.optim_step(model_id, lr)

    def publish(self, model_id: str, name: str | None = None) -> dict:
        """save_weights_for_sampler: named (kept until deleted), or unnamed (among the newest --keep versions)."""
        seq = next(SEQ)
        body = {'model_id': model_id, 'path': name} if name else {'model_id': model_id, 'sampling_session_seq_id': seq, 'seq_id': seq}
        return self.host.run('save_weights_for_sampler', body)

    def delete(self, model_id: str, kind: str, name: str) -> int:
        return self.host.request('DELETE', f'/api/v1/training_runs/{model_id}/checkpoints/{kind}/{name}')[0]

    def published(self, model_id: str) -> dict:
        return next(p for p in self.host.get('/health')[1]['policies'] if p['id'] == model_id)

    def snapshot(self, model_id: str):
        policy = self.policy(model_id)
        return [p.detach().clone() for p in policy.model.parameters()], copy.deepcopy(policy.optimizer.state_dict()), policy.version

    def assert_unchanged(self, model_id: str, snapshot) -> None:
        params, state, version = snapshot
        policy = self.policy(model_id)
        self.assertEqual(policy.version, version)
        for p, saved in zip(policy.model.parameters(), params):
            self.assertTrue(torch.equal(p, saved))
        now = policy.optimizer.state_dict()
        self.assertEqual(now['state'].keys(), state['state'].keys())
        for key, values in state['state'].items():
            for name, value in values.items():
                self.assertTrue(torch.equal(torch.as_tensor(now['state'][key][name]), torch.as_tensor(value)))


class BusyClockShare(unittest.TestCase):
    def test_busy_time_never_grows_faster_than_up_time(self):
        # A clock that jumps unevenly between reads, as a thread switch delays a read: busy and up time
        # read at one instant keep every share between two snapshots within [0, 1].
        ticks = itertools.accumulate([0.0, 1.0, 0.5, 7.0, 0.25, 3.0, 11.0, 0.125, 2.0, 5.0, 0.5, 9.0, 1.0, 4.0])
        with unittest.mock.patch('selfplay_host.server.time.perf_counter', side_effect=list(ticks)):
            clock = BusyClock()
            snapshots = [clock.snapshot()]
            with clock():
                snapshots.append(clock.snapshot())
                with clock():
                    snapshots.append(clock.snapshot())
                snapshots.append(clock.snapshot())
            snapshots.append(clock.snapshot())
            snapshots.append(clock.snapshot())
            with clock():
                snapshots.append(clock.snapshot())
        for (busy0, up0), (busy1, up1) in itertools.pairwise(snapshots):
            self.assertGreater(up1, up0)
            self.assertGreaterEqual(busy1 - busy0, 0)
            self.assertLessEqual(busy1 - busy0, up1 - up0)
        self.assertEqual(snapshots[-2][0], snapshots[-3][0])  # idle between the spans: no busy time
        self.assertGreater(snapshots[-1][0], snapshots[-2][0])


class Discovery(ServerTest):
    def test_health(self):
        status, body = self.host.get('/health')
        self.assertEqual(status, 200)
        self.assertEqual(body['status'], 'ok')
        self.assertEqual(body['device'], 'cpu')
        self.assertEqual(body['policies'][0], {'id': 'tiny', 'version': 0, 'published': [0], 'pinned': []})
        self.assertEqual([p['id'] for p in body['policies']], POLICIES)
        self.assertGreaterEqual(body['uptime_seconds'], body['busy_seconds'])
        self.assertGreaterEqual(body['busy_seconds'], 0)

    def test_sampling_goes_on_while_the_training_weights_are_held(self):
        # What a training step holds (the training weights) does not stop samplers of published versions,
        # nor the health and model routes: an actor plays the newest version while the learner trains.
        _, before = self.host.get('/health')
        with self.host.host.lock:
            answers = []
            thread = threading.Thread(target=lambda: answers.extend([
                self.chat(model='tiny', guided_choice=CHOICES, seed=1),
                self.host.post('/v1/choice_probabilities', {'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': CHOICES}]}),
                self.host.get('/health'),
                self.host.get('/v1/models'),
            ]))
            thread.start()
            thread.join(30)
            self.assertFalse(thread.is_alive(), 'sampling waited for the training weights')
        self.assertEqual([status for status, _ in answers], [200, 200, 200, 200])
        # The sampling counted as busy time.
        self.assertGreater(answers[2][1]['busy_seconds'], before['busy_seconds'])

    def test_models(self):
        status, body = self.host.get('/v1/models')
        self.assertEqual(status, 200)
        self.assertEqual(body['object'], 'list')
        ids = [m['id'] for m in body['data']]
        self.assertIn('tiny@0', ids)
        self.assertIn('tiny', ids)
        for m in body['data']:
            self.assertEqual((m['object'], m['owned_by']), ('model', 'selfplay'))
        status, one = self.host.get('/v1/models/tiny@0')
        self.assertEqual((status, one['id']), (200, 'tiny@0'))

    def test_unknown_route(self):
        status, body = self.host.get('/v2/nothing')
        self.assertEqual(status, 404)
        self.assertIn('no route', body['error']['message'])
        # The host's own training routes are gone: training goes through the Tinker API.
        for path in ('/train/step', '/train/forward_backward', '/train/forward', '/policies/tiny/checkpoint', '/policies/tiny/publish'):
            with self.subTest(path=path):
                status, body = self.host.post(path, {'policy': 'tiny'})
                self.assertEqual(status, 404, body)
                self.assertIn('no route', body['error']['message'])


class Completions(ServerTest):
    def test_shape(self):
        r = self.ok_chat(model='tiny', n=3, max_tokens=20, logprobs=True, top_logprobs=2, return_token_ids=True)
        self.assertEqual(r['object'], 'chat.completion')
        self.assertEqual(r['model'], 'tiny@0')
        prompt = tokenizer.encode_chat([(m['role'], m['content']) for m in MESSAGES], TEST_MODEL.context)
        self.assertEqual(r['prompt_token_ids'], prompt)
        self.assertEqual(len(r['choices']), 3)
        total = 0
        for index, choice in enumerate(r['choices']):
            self.assertEqual(choice['index'], index)
            ids = choice['token_ids']
            content = choice['logprobs']['content']
            self.assertEqual(len(ids), len(content))
            self.assertLessEqual(len(ids), 20)
            self.assertEqual(tokenizer.decode(ids), choice['message']['content'])
            self.assertEqual(choice['message']['role'], 'assistant')
            self.assertEqual(choice['finish_reason'], 'stop' if ids[-1] == tokenizer.END else 'length')
            for token_id, entry in zip(ids, content):
                self.assertEqual(entry['token'], tokenizer.token_text(token_id))
                self.assertEqual(entry['bytes'], tokenizer.token_bytes(token_id))
                self.assertLess(entry['logprob'], 0)
                self.assertEqual(len(entry['top_logprobs']), 2)
                self.assertGreaterEqual(entry['top_logprobs'][0]['logprob'], entry['logprob'] - 1e-6 if entry['top_logprobs'][0]['token'] == entry['token'] else entry['top_logprobs'][1]['logprob'])
            total += len(ids)
        self.assertEqual(r['usage'], {'prompt_tokens': len(prompt), 'completion_tokens': total, 'total_tokens': len(prompt) + total})

    def test_logprobs_are_the_models(self):
        """Sampled logprobs equal what training recomputes (teacher forcing, a Tinker forward) on the same weights:
        a model created from 'tiny' has tiny's weights until it is trained."""
        r = self.ok_chat(model='tiny', max_tokens=12, logprobs=True, return_token_ids=True, seed=5)
        choice = r['choices'][0]
        recomputed = self.host.logprobs(self.model(), [(r['prompt_token_ids'], choice['token_ids'])])[0]
        sampled = [t['logprob'] for t in choice['logprobs']['content']]
        self.assertEqual(len(recomputed), len(sampled))
        for a, b in zip(recomputed, sampled):
            self.assertAlmostEqual(a, b, places=4)

    def test_plain_request_has_no_extras(self):
        r = self.ok_chat(model='tiny', max_tokens=4)
        self.assertIsNone(r['choices'][0]['logprobs'])
        self.assertNotIn('token_ids', r['choices'][0])
        self.assertNotIn('prompt_token_ids', r)

    def test_greedy_is_deterministic(self):
        a = self.ok_chat(model='tiny', temperature=0, n=2, max_tokens=16, return_token_ids=True)
        b = self.ok_chat(model='tiny@0', temperature=0, max_tokens=16, return_token_ids=True)
        self.assertEqual(a['choices'][0]['token_ids'], a['choices'][1]['token_ids'])
        self.assertEqual(a['choices'][0]['token_ids'], b['choices'][0]['token_ids'])

    def test_seed_reproduces(self):
        a = self.ok_chat(model='tiny', seed=42, n=2, max_tokens=16, return_token_ids=True)
        b = self.ok_chat(model='tiny', seed=42, n=2, max_tokens=16, return_token_ids=True)
        c = self.ok_chat(model='tiny', seed=43, n=2, max_tokens=16, return_token_ids=True)
        ids = lambda r: [ch['token_ids'] for ch in r['choices']]
        self.assertEqual(ids(a), ids(b))
        self.assertNotEqual(ids(a), ids(c))

    def test_stop_string(self):
        # A seeded sample draws the same tokens with or without a stop string, up to where it stops.
        free = self.ok_chat(model='tiny', seed=7, max_tokens=60, return_token_ids=True)['choices'][0]['token_ids']
        ascii_ids = [t for t in free[1:] if 32 <= t < 127]
        if not ascii_ids:
            self.skipTest('the sample has no printable ASCII byte to stop on')
        stop = chr(ascii_ids[0])
        first = free.index(ascii_ids[0])
        r = self.ok_chat(model='tiny', seed=7, max_tokens=60, return_token_ids=True, stop=['never', stop])
        choice = r['choices'][0]
        self.assertEqual(choice['finish_reason'], 'stop')
        # The tokens that were sampled (stop string included) are kept; the text ends before the stop string.
        self.assertEqual(choice['token_ids'], free[:first + 1])
        self.assertEqual(choice['message']['content'], tokenizer.decode(free[:first]))

    def test_guided_choice(self):
        r, prompt, ids, logprobs = self.guided_sample('tiny')
        choice = r['choices'][0]
        self.assertIn(choice['message']['content'], CHOICES)
        self.assertEqual(ids, tokenizer.encode_completion(choice['message']['content']))
        self.assertEqual(choice['finish_reason'], 'stop')
        self.assertEqual(r['model'], 'tiny@0')
        # Teacher-forced recomputation on training weights equal to tiny@0's.
        scored = self.host.logprobs(self.model(), [(prompt, tokenizer.encode_completion(c)) for c in CHOICES])
        self.assertEqual(len(scored[CHOICES.index(choice['message']['content'])]), len(logprobs))
        for a, b in zip(scored[CHOICES.index(choice['message']['content'])], logprobs):
            self.assertAlmostEqual(a, b, places=5)
        # Temperature 0 picks the choice with the highest sequence logprob.
        greedy = self.ok_chat(model='tiny', guided_choice=CHOICES, temperature=0, n=2)
        best = max(range(len(CHOICES)), key=lambda i: sum(scored[i]))
        self.assertEqual([c['message']['content'] for c in greedy['choices']], [CHOICES[best]] * 2)
        many = self.ok_chat(model='tiny', guided_choice=CHOICES, n=16, seed=1)
        self.assertTrue(all(c['message']['content'] in CHOICES for c in many['choices']))

    def test_guided_choice_mean_scoring(self):
        """Sum scoring favours short choices exponentially in a fresh byte model; mean and constrained scoring do not."""
        choices = ['[bet]', '[check]']
        summed = self.ok_chat(model='tiny', guided_choice=choices, n=16, seed=3)
        self.assertEqual({c['message']['content'] for c in summed['choices']}, {'[bet]'})
        for scoring in ('mean', 'constrained'):
            either = self.ok_chat(model='tiny', guided_choice=choices, guided_choice_scoring=scoring, n=16, seed=3)
            self.assertEqual({c['message']['content'] for c in either['choices']}, set(choices))
        status, r = self.host.post('/v1/choice_probabilities', {'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': choices}], 'guided_choice_scoring': 'constrained'})
        self.assertEqual((status, r['guided_choice_scoring']), (200, 'constrained'))
        # The two part at their second token only, where a fresh model's distribution is nearly flat.
        self.assertTrue(all(0.4 < p < 0.6 for p in r['probabilities'][0]), r)
        status, r = self.host.post('/v1/choice_probabilities', {'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': choices}], 'guided_choice_scoring': 'median'})
        self.assertEqual(status, 400)
        self.assertIn('guided_choice_scoring must be one of sum, mean, constrained', json.dumps(r))
        greedy = self.ok_chat(model='tiny', guided_choice=choices, guided_choice_scoring='mean', temperature=0, return_token_ids=True)
        prompt = greedy['prompt_token_ids']
        scored = self.host.logprobs(self.model(), [(prompt, tokenizer.encode_completion(c)) for c in choices])
        best = max(range(2), key=lambda i: sum(scored[i]) / len(scored[i]))
        self.assertEqual(greedy['choices'][0]['message']['content'], choices[best])

    def test_choice_probabilities(self):
        """The exact distribution of a guided pick: softmax(score / T) of each choice's sequence logprob (or mean)."""
        other = [{'role': 'user', 'content': 'Valid actions: [fold], [call]'}]
        body = {'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': CHOICES}, {'messages': other, 'choices': ['[fold]', '[call]']}]}
        for scoring in ('sum', 'mean'):
            for temperature in (1.0, 0.7):
                with self.subTest(scoring=scoring, temperature=temperature):
                    status, r = self.host.post('/v1/choice_probabilities', {**body, 'temperature': temperature, 'guided_choice_scoring': scoring})
                    self.assertEqual(status, 200, r)
                    self.assertEqual((r['model'], r['temperature'], r['guided_choice_scoring']), ('tiny@0', temperature, scoring))
                    for item, probabilities in zip(body['items'], r['probabilities']):
                        # Each choice's score from the sampling path: the picked choice's own token logprobs.
                        scores = []
                        for c in item['choices']:
                            lps = [t['logprob'] for t in self.ok_chat(model='tiny', messages=item['messages'], guided_choice=[c], logprobs=True)['choices'][0]['logprobs']['content']]
                            scores.append(sum(lps) / (len(lps) if scoring == 'mean' else 1))
                        expected = torch.softmax(torch.tensor(scores, dtype=torch.float64) / temperature, dim=0).tolist()
                        for a, b in zip(probabilities, expected):
                            self.assertAlmostEqual(a, b, places=5)
        greedy = self.host.post('/v1/choice_probabilities', {**body, 'temperature': 0})[1]['probabilities']
        self.assertTrue(all(sorted(p)[-1] == 1.0 and sum(p) == 1.0 for p in greedy))

    def test_choice_probabilities_bad_requests(self):
        item = {'messages': MESSAGES, 'choices': CHOICES}
        cases = [
            ({'model': 'tiny'}, 'items'),
            ({'model': 'tiny', 'items': []}, 'items'),
            ({'model': 'tiny', 'items': [item] * 4097}, 'items'),
            ({'model': 'tiny', 'items': [{'messages': MESSAGES}]}, 'items[0].choices'),
            ({'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': ['[bet]', '[bet]']}]}, 'twice'),
            ({'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': [3]}]}, 'items[0].choices'),
            ({'model': 'tiny', 'items': [{'messages': [], 'choices': CHOICES}]}, 'items[0].messages'),
            ({'model': 'tiny', 'items': [{'messages': MESSAGES, 'choices': ['x' * 200]}]}, 'fit the context'),
            ({'model': 'tiny', 'items': [item], 'temperature': 3}, 'temperature'),
            ({'model': 'tiny', 'items': [item], 'guided_choice_scoring': 'max'}, 'guided_choice_scoring'),
        ]
        for body, reason in cases:
            with self.subTest(reason=reason):
                status, response = self.host.post('/v1/choice_probabilities', body)
                self.assertEqual(status, 400, response)
                self.assertIn(reason, response['error']['message'])
        status, response = self.host.post('/v1/choice_probabilities', {'model': 'nobody', 'items': [item]})
        self.assertEqual(status, 404, response)

    def test_bad_requests(self):
        cases = [
            (b'{"model": "tiny", ', 'not valid JSON'),
            ({'model': 'tiny'}, 'messages'),
            ({'model': 'tiny', 'messages': []}, 'messages'),
            ({'model': 'tiny', 'messages': MESSAGES, 'n': 0}, 'n must be'),
            ({'model': 'tiny', 'messages': MESSAGES, 'n': 17}, 'n must be'),
            ({'model': 'tiny', 'messages': MESSAGES, 'temperature': 'hot'}, 'temperature'),
            ({'model': 'tiny', 'messages': MESSAGES, 'max_tokens': 0}, 'max_tokens'),
            ({'model': 'tiny', 'messages': MESSAGES, 'top_logprobs': 21}, 'top_logprobs'),
            ({'model': 'tiny', 'messages': MESSAGES, 'logprobs': 'yes'}, 'logprobs'),
            ({'model': 'tiny', 'messages': MESSAGES, 'stop': 5}, 'stop'),
            ({'model': 'tiny', 'messages': MESSAGES, 'stream': True}, 'stream'),
            ({'model': 'tiny', 'messages': [{'role': 'wizard', 'content': 'x'}]}, 'role'),
            ({'model': 'tiny', 'messages': MESSAGES, 'guided_choice': 'check'}, 'guided_choice'),
            ({'model': 'tiny', 'messages': MESSAGES, 'guided_choice': ['x' * 200]}, 'guided_choice'),
            ({'model': 7, 'messages': MESSAGES}, 'model'),
            ({'model': 'tiny', 'messages': MESSAGES, 'guided_choice': ['a'], 'guided_choice_scoring': 'max'}, 'guided_choice_scoring'),
            ([1, 2], 'object'),
            (b'{"model": "tiny", "messages": [], "temperature": NaN}', 'not valid JSON'),
        ]
        for body, reason in cases:
            with self.subTest(body=body):
                status, response = self.host.post('/v1/chat/completions', body)
                self.assertEqual(status, 400, response)
                self.assertEqual(response['error']['type'], 'invalid_request_error')
                self.assertIn(reason, response['error']['message'])

    def test_body_limit(self):
        big = json.dumps({'model': 'tiny', 'messages': [{'role': 'user', 'content': 'x' * (1024 * 1024)}]}).encode()
        status, response = self.host.post('/v1/chat/completions', big)
        self.assertEqual(status, 413)
        self.assertIn('limit', response['error']['message'])

    def test_unknown_models(self):
        for model in ('nope', 'tiny@99', 'tiny@x', 'tiny@', '@0'):
            with self.subTest(model=model):
                status, response = self.chat(model=model)
                self.assertEqual(status, 404)
                self.assertEqual(response['error']['code'], 'model_not_found')
                self.assertIn('does not exist', response['error']['message'])

    def test_concurrent_requests(self):
        results = []

        def worker(seed):
            for k in range(3):
                results.append(self.chat(model='tiny', seed=seed * 10 + k, max_tokens=8, n=2, return_token_ids=True))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 24)
        self.assertTrue(all(status == 200 and len(r['choices']) == 2 for status, r in results))

    def queued_together(self, bodies: list[dict]) -> dict[int, tuple]:
        """Sends the chat requests at once while the sampling lock is held, so that all of them queue before any
        is scored; returns each one's (status, response) by index."""
        batcher = self.host.host.choices
        answers: dict[int, tuple] = {}
        with self.host.host.sampling_lock:
            threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, self.chat(**bodies[i]))) for i in range(len(bodies))]
            for t in threads:
                t.start()
            for _ in range(1000):
                if len(batcher._waiting) == len(bodies):
                    break
                threading.Event().wait(0.01)
            self.assertEqual(len(batcher._waiting), len(bodies))
        for t in threads:
            t.join()
        self.assertEqual(sorted(answers), list(range(len(bodies))))
        return answers

    def test_concurrent_guided_choices_share_forward_passes(self):
        """Guided picks that wait while the model is busy are scored together, one batch per policy and
        top_logprobs, and each answer is what the request gets alone."""
        bodies = [dict(model=policy, messages=[{'role': 'user', 'content': f'Hand {i}. Valid actions: [check], [bet], [fold]'}],
                       guided_choice=CHOICES, n=3, seed=i, logprobs=True, top_logprobs=top, return_token_ids=True)
                  for i, (policy, top) in enumerate(list(itertools.product(['tiny', 'other'], [0, 2])) * 4)]
        before = self.host.get('/health')[1]
        answers = self.queued_together(bodies)
        after = self.host.get('/health')[1]
        self.assertEqual(after['guided_choice_requests'] - before['guided_choice_requests'], 16)
        # Two policies times two top_logprobs settings.
        self.assertEqual(after['guided_choice_batches'] - before['guided_choice_batches'], 4)
        # At most max_choice_batch together, oldest first: with 5, the 16 go as 5, 5, 5 and 1.
        batcher = self.host.host.choices
        batcher.limit = 5
        try:
            limited = self.queued_together([{**body, 'model': 'tiny', 'top_logprobs': 0} for body in bodies])
        finally:
            batcher.limit = 64
        self.assertEqual(self.host.get('/health')[1]['guided_choice_batches'] - after['guided_choice_batches'], 4)
        self.assertTrue(all(status == 200 for status, _ in limited.values()))
        for i, body in enumerate(bodies):
            status, together = answers[i]
            self.assertEqual(status, 200, together)
            alone = self.ok_chat(**body)
            self.assertEqual([c['message']['content'] for c in together['choices']], [c['message']['content'] for c in alone['choices']])
            for a, b in zip(together['choices'], alone['choices']):
                for x, y in zip(a['logprobs']['content'], b['logprobs']['content']):
                    self.assertAlmostEqual(x['logprob'], y['logprob'], places=5)
                    self.assertEqual([t['token'] for t in x['top_logprobs']], [t['token'] for t in y['top_logprobs']])

    def test_tolerates_openai_client_fields(self):
        r = self.ok_chat(model='tiny', max_tokens=None, max_completion_tokens=3, stream=False, top_p=0.9, user='me', frequency_penalty=0,
                         messages=[{'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}])
        self.assertLessEqual(r['usage']['completion_tokens'], 3)


class Training(ServerTest):
    def test_positive_advantage_raises_the_logprob(self):
        self.assert_step_moves(1.0, 1)

    def test_negative_advantage_lowers_the_logprob(self):
        self.assert_step_moves(-1.0, -1)

    def assert_step_moves(self, advantage, sign):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        passed, stepped = self.step(model_id, [datum(prompt, ids, logprobs, advantage)])
        self.assertEqual((stepped['version'], stepped['samples']), (1.0, 1.0))
        self.assertGreater(stepped['grad_norm'], 0)
        n = len(ids)
        self.assertEqual((passed['samples:sum'], passed['weights:sum']), (1.0, n))
        # The sampler's logprobs are the training weights': ratio 1, so the loss (a sum over tokens) is -sum(A).
        self.assertAlmostEqual(passed['kl_sampler:sum'], 0.0, places=5)
        self.assertAlmostEqual(passed['ratio:sum'], n, places=4)
        self.assertEqual((passed['clipped:sum'], passed['truncated:sum']), (0.0, 0.0))
        self.assertAlmostEqual(passed['loss:sum'], -advantage * n, places=4)
        self.assertGreater(passed['entropy:sum'], 0)
        self.assertNotIn('kl:sum', passed)
        after = self.host.logprobs(model_id, [(prompt, ids)])[0]
        self.assertGreater(sign * (sum(after) - sum(logprobs)), 0.1)

    def test_ppo_clip_fraction(self):
        model_id = self.model()
        _, prompt, ids, before = self.guided_sample(model_id)
        data = [datum(prompt, ids, before, 1.0)]
        n = len(ids)
        r = self.forward_backward(model_id, data, 'ppo')
        self.assertEqual(r['clipped:sum'], 0.0)
        self.assertAlmostEqual(r['ratio:sum'] / r['weights:sum'], 1.0, places=5)
        self.assertEqual(self.policy(model_id).pending_samples, 1)
        stepped = self.optim_step(model_id, 0.05)
        self.assertEqual((stepped['version'], stepped['samples']), (1.0, 1.0))
        # Judged against the old logprobs, the moved tokens now lie outside [0.8, 1.2] on the side the advantage pushed.
        r = self.forward_backward(model_id, data, 'ppo')
        self.assertGreater(r['ratio:sum'] / n, 1.2)
        self.assertGreater(r['clipped:sum'] / n, 0.5)
        ppo = self.optim_step(model_id, 0.0)
        # The thresholds are the request's: with a wide range nothing is clipped.
        r = self.forward_backward(model_id, data, 'ppo', clip_low_threshold=0.0, clip_high_threshold=1e6)
        self.assertEqual(r['clipped:sum'], 0.0)
        wide = self.optim_step(model_id, 0.0)
        # Plain importance sampling is not clipped: its gradient is larger than ppo's on the same batch (and the
        # same as ppo's when nothing is clipped).
        r = self.forward_backward(model_id, data, 'importance_sampling')
        self.assertGreater(r['clipped:sum'] / n, 0.5)  # reported for importance sampling too, though nothing is clipped
        plain = self.optim_step(model_id, 0.0)
        self.assertGreater(plain['grad_norm'], ppo['grad_norm'])
        self.assertAlmostEqual(plain['grad_norm'], wide['grad_norm'], places=4)

    def test_kl_is_zero_before_any_update(self):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        data = [datum(prompt, ids, logprobs, 1.0)]
        passed, _ = self.step(model_id, data, lr=0.05, kl_coef=0.5)
        self.assertEqual(passed['kl:sum'], 0.0)
        passed, _ = self.step(model_id, data, lr=0.05, kl_coef=0.5)
        self.assertGreater(passed['kl:sum'], 0.0)
        # The penalty is in the loss: -sum(ratio * A) + kl_coef * KL, with A = 1 on every weighted token.
        self.assertAlmostEqual(passed['loss:sum'], -passed['ratio:sum'] + 0.5 * passed['kl:sum'], places=4)
        passed, _ = self.step(model_id, data, lr=0.05)
        self.assertNotIn('kl:sum', passed)

    def test_failed_step_changes_nothing(self):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        good = [datum(prompt, ids, logprobs, 1.0)]
        self.step(model_id, good)
        # Gradients already accumulated stay as they were too.
        self.forward_backward(model_id, good)
        policy = self.policy(model_id)
        pending = [g.clone() for g in policy.pending]
        saved = self.snapshot(model_id)
        for advantage in (3e38, -3e38):
            with self.subTest(advantage=advantage):
                body = {'model_id': model_id, 'forward_backward_input': {'data': [datum(prompt, ids, logprobs, advantage)], 'loss_fn': 'importance_sampling'}}
                status, future = self.host.tinker('forward_backward', body)
                self.assertEqual(status, 200, future)
                status, failed = self.host.result(future)
                self.assertEqual(status, 400, failed)
                self.assertIn('not finite', failed['detail'])
                self.assertIn('nothing was changed', failed['detail'])
        self.assert_unchanged(model_id, saved)
        self.assertEqual(policy.pending_samples, 1)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(policy.pending, pending)))
        stepped = self.optim_step(model_id, 1e-2)
        self.assertEqual((stepped['version'], stepped['samples']), (2.0, 1.0))

    def test_validation(self):
        model_id = self.model()
        good = datum([257, 1, 2], [3, 256], [-1.0, -2.0], 1.0)

        def replaced(key, values):
            return {**good, 'loss_fn_inputs': {**good['loss_fn_inputs'], key: tensor(values)}}

        def fb(data, loss_fn='importance_sampling', **config):
            return {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': loss_fn, 'loss_fn_config': config}}

        tiny = {'model_input': {'chunks': [{'tokens': [1]}]}, 'loss_fn_inputs': {'target_tokens': {'data': [2]}}}
        cases = [
            ('forward_backward', fb([good, replaced('logprobs', [-1.0])]), 400, 'data.1.loss_fn_inputs.logprobs has 1 values'),
            ('forward_backward', fb([replaced('target_tokens', [1, 2, 3, 300])]), 400, 'target_tokens: token ids'),
            ('forward_backward', fb([{**good, 'model_input': {'chunks': [{'tokens': [257, -1, 2, 3]}]}}]), 400, 'model_input: token ids'),
            ('forward_backward', fb([{**good, 'model_input': {'chunks': []}}]), 400, 'model_input has 0 tokens'),
            ('forward_backward', fb([replaced('logprobs', [0.0, 0.0, -1.0, 3.5e38])]), 400, 'logprobs must hold finite float32'),
            ('forward_backward', fb([replaced('advantages', [0.0, 0.0, 1.0, -1e39])]), 400, 'advantages must hold finite float32'),
            ('forward_backward', fb([replaced('advantages', [0.0, 0.0, 1.0, 'high'])]), 422, 'float_parsing'),
            ('forward_backward', fb([{**good, 'loss_fn_inputs': {**good['loss_fn_inputs'], 'advantages': 'high'}}]), 422, 'model_attributes_type'),
            ('forward_backward', fb([replaced('weights', [0.0, 0.0, 0.0, 0.0])]), 400, 'every weight is 0'),
            ('forward_backward', fb([datum([257] + [1] * 128, [3, 256], [-1.0, -2.0], 1.0)]), 400, 'its context'),
            ('forward_backward', fb([]), 400, 'holds 0 datums'),
            ('forward_backward', fb([tiny] * 4097, 'cross_entropy'), 400, 'holds 4097 datums; send 1 to 4096'),
            ('forward_backward', fb([good], 'dpo'), 422, 'literal_error'),
            ('forward_backward', fb([good], 'ppo', clip_low_threshold=1.5), 400, 'clip_low_threshold'),
            ('forward_backward', fb([good], kl_coef=-1), 400, 'kl_coef must be at least 0'),
            ('forward_backward', fb([good], ratio_cap=0), 400, 'ratio_cap must be above 0'),
            ('forward_backward', {**fb([good]), 'model_id': 'ghost'}, 404, 'Model not found'),
            ('forward_backward', [fb([good])], 422, 'model_attributes_type'),
            ('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': -1}}, 422, 'greater_than_equal'),
            ('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': 1e-3, 'beta1': 1}}, 422, 'less_than'),
        ]
        for route, body, status, reason in cases:
            with self.subTest(reason=reason):
                got, response = self.host.tinker(route, body)
                self.assertEqual(got, status, response)
                self.assertIn(reason, json.dumps(response))
        # Numbers JSON cannot carry are not JSON.
        raw = json.dumps(fb([replaced('logprobs', [0.0, 0.0, -1.0, float('nan')])])).encode()
        status, _, answer = self.host.request('POST', '/api/v1/forward_backward', raw, 'application/json')
        self.assertEqual(status, 422, answer)
        self.assertIn(b'json_invalid', answer)
        # Nothing accumulated: optim_step fails.
        status, failed = self.host.result(self.host.tinker('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': 1e-3}})[1])
        self.assertEqual(status, 400, failed)
        self.assertIn('no accumulated gradients', failed['detail'])
        # A body over --max-train-mb (1 MiB here).
        status, response = self.host.tinker('forward_backward', {**fb([good]), 'pad': 'x' * (1024 * 1024)})
        self.assertEqual(status, 413, response)
        policy = self.policy(model_id)
        self.assertEqual((policy.version, policy.pending), (0, None))
        self.assertEqual(self.host.logprobs(model_id, [([257, 1, 2], [3, 256])]), self.host.logprobs(self.model(), [([257, 1, 2], [3, 256])]))


class Checkpoints(ServerTest):
    def test_save_and_load_weights_restore_exactly(self):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        data = [datum(prompt, ids, logprobs, 1.0)]
        seq = [(prompt, ids)]
        self.step(model_id, data)
        saved = self.host.run('save_weights', {'model_id': model_id, 'path': 'round-trip'})
        self.assertEqual(saved, {'path': f'tinker://{model_id}/weights/round-trip', 'type': 'save_weights'})
        self.assertTrue(os.path.isfile(os.path.join(self.host.checkpoint_dir, f'tinker-{model_id}-round-trip.pt')))
        at_save = self.host.logprobs(model_id, seq)
        self.step(model_id, data)
        continued = self.host.logprobs(model_id, seq)
        self.assertNotEqual(continued, at_save)
        self.assertEqual(self.host.run('load_weights', {'model_id': model_id, 'path': saved['path']}), {'type': 'load_weights'})
        self.assertEqual(self.policy(model_id).version, 1)
        self.assertEqual(self.host.logprobs(model_id, seq), at_save)
        # The optimizer state came back too: the same step gives the same weights.
        self.assertEqual(self.step(model_id, data)[1]['version'], 2.0)
        self.assertEqual(self.host.logprobs(model_id, seq), continued)
        # Without the optimizer state, the weights come back with a fresh optimizer: the same step goes elsewhere.
        self.host.run('load_weights', {'model_id': model_id, 'path': saved['path'], 'optimizer': False})
        self.assertEqual(self.host.logprobs(model_id, seq), at_save)
        self.assertEqual(self.policy(model_id).optimizer.state_dict()['state'], {})
        self.step(model_id, data)
        self.assertNotEqual(self.host.logprobs(model_id, seq), continued)
        # Another model loads it as well.
        other = self.model()
        self.host.run('load_weights', {'model_id': other, 'path': saved['path']})
        self.assertEqual(self.host.logprobs(other, seq), at_save)

    def test_paths_that_escape_or_are_malformed_are_refused(self):
        model_id = self.model()
        root = self.host.checkpoint_dir
        kept = self.host.run('save_weights', {'model_id': model_id, 'path': 'kept'})['path']
        self.step(model_id, [datum([257, 1, 2], [3, 256], [-1.0, -2.0], 1.0)])
        before = self.snapshot(model_id)
        # A real checkpoint outside the directory, and a link to it inside.
        outside = os.path.join(os.path.dirname(root), f'outside-{model_id}.pt')
        with open(os.path.join(root, f'tinker-{model_id}-kept.pt'), 'rb') as src, open(outside, 'wb') as dst:
            dst.write(src.read())
        self.addCleanup(os.unlink, outside)
        os.symlink(outside, os.path.join(root, f'tinker-{model_id}-link.pt'))
        with open(os.path.join(root, f'tinker-{model_id}-junk.pt'), 'wb') as f:
            f.write(b'not a checkpoint')
        refused = [
            ('../outside.pt', 400, 'not a tinker:// path'),
            ('/etc/passwd', 400, 'not a tinker:// path'),
            (outside, 400, 'not a tinker:// path'),
            (f'file://{root}/tinker-{model_id}-kept.pt', 400, 'not a tinker:// path'),
            (f'tinker://{model_id}/weights/../kept', 400, 'not a tinker:// path'),
            (f'tinker://{model_id}/weights/kept/..', 400, 'not a tinker:// path'),
            (f'tinker://{model_id}//kept', 400, 'tinker://source_model_id/weights/checkpoint_id'),
            ('tinker:///weights/kept', 400, 'not a tinker:// path'),
            ('tinker:', 400, 'not a tinker:// path'),
            (f'tinker://{model_id}/other/kept', 400, 'weights or sampler_weights'),
            (f'tinker://{model_id}/sampler_weights/kept', 400, 'tinker://source_model_id/weights/checkpoint_id'),
            (f'tinker://{model_id}/kept', 400, 'tinker://source_model_id/weights/checkpoint_id'),
            ('tinker://../weights/kept', 404, 'Checkpoint not found'),
            (f'tinker://x@{model_id}/weights/kept', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}:1/weights/kept', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}/weights/%2e%2e', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}/weights/..', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}/weights/kept\u0000', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}/weights/\ud800', 404, 'Checkpoint not found'),
            (f'tinker://{model_id}/weights/missing', 404, 'Checkpoint not found'),
            (7, 422, 'string_type'),
        ]
        for path, status, reason in refused:
            with self.subTest(path=path):
                got, answer = self.host.tinker('load_weights', {'model_id': model_id, 'path': path})
                self.assertEqual(got, status, answer)
                self.assertIn(reason, json.dumps(answer))
        # Accepted, but what the name leads to is refused when the load runs: a link out of the directory, a file
        # that is no checkpoint.
        for name, reason in (('link', 'outside the checkpoint directory'), ('junk', 'not a readable checkpoint')):
            with self.subTest(name=name):
                status, failed = self.host.result(self.host.tinker('load_weights', {'model_id': model_id, 'path': f'tinker://{model_id}/weights/{name}'})[1])
                self.assertEqual(status, 400, failed)
                self.assertIn(reason, failed['detail'])
        self.assert_unchanged(model_id, before)
        # Names that would leave the directory (or hide in it) are refused, and nothing is written.
        files = sorted(os.listdir(root))
        for name in ('../x', 'a/b', '.hidden', '', 'x' * 256, 'new\n', 'a b'):
            for route in ('save_weights', 'save_weights_for_sampler'):
                with self.subTest(route=route, name=name):
                    status, response = self.host.tinker(route, {'model_id': model_id, 'path': name})
                    self.assertEqual(status, 422, response)
        self.assertEqual(sorted(os.listdir(root)), files)
        for name in ('..', '.hidden', '%2e%2e', 'a%2Fb'):
            with self.subTest(delete=name):
                self.assertEqual(self.delete(model_id, 'weights', name), 422)
        self.assertEqual(self.delete('..', 'weights', 'kept'), 404)
        self.assertEqual(sorted(os.listdir(root)), files)
        # The checkpoint itself is deleted by its name; then it cannot be loaded.
        self.assertEqual(self.delete(model_id, 'weights', 'kept'), 204)
        self.assertFalse(os.path.exists(os.path.join(root, f'tinker-{model_id}-kept.pt')))
        self.assertEqual(self.delete(model_id, 'weights', 'kept'), 404)
        self.assertEqual(self.host.tinker('load_weights', {'model_id': model_id, 'path': kept})[0], 404)

    def test_unknown_model(self):
        for route, body in (('save_weights', {'path': 'x'}), ('save_weights_for_sampler', {'path': 'x'}),
                            ('load_weights', {'path': 'tinker://ghost/weights/x'}), ('selfplay/move_reference', {'mix': 0.5}),
                            ('optim_step', {'adam_params': {}})):
            with self.subTest(route=route):
                self.assertEqual(self.host.tinker(route, {'model_id': 'ghost', **body}), (404, {'detail': 'Model not found'}))
        self.assertEqual(self.delete('ghost', 'sampler_weights', 'x'), 404)
        self.assertEqual(self.delete(self.model(), 'sampler_weights', 'x'), 404)


class Publishing(ServerTest):
    def test_sampler_weights_switch_the_bare_name(self):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id, temperature=0)
        before = self.ok_chat(model=model_id, temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(before['model'], f'{model_id}@0')
        data = [datum(prompt, ids, logprobs, 1.0)]
        self.step(model_id, data, lr=0.05)
        # Training alone does not change what samplers see.
        self.assertEqual(self.ok_chat(model=model_id, max_tokens=1)['model'], f'{model_id}@0')
        published = self.publish(model_id)
        self.assertEqual((published['model'], published['version']), (f'{model_id}@1', 1), published)
        # The same weights published again are the same version.
        self.assertEqual(self.publish(model_id)['model'], f'{model_id}@1')
        after = self.ok_chat(model=model_id, temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(after['model'], f'{model_id}@1')
        old = self.ok_chat(model=f'{model_id}@0', temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(old['choices'][0]['token_ids'], before['choices'][0]['token_ids'])
        lp = lambda r: [t['logprob'] for t in r['choices'][0]['logprobs']['content']]  # noqa: E731
        self.assertEqual(lp(old), lp(before))
        self.assertNotEqual(lp(after)[0], lp(before)[0])
        # What is published is the training weights of the moment: its logprobs are what forward computes now.
        recomputed = self.host.logprobs(model_id, [(after['prompt_token_ids'], after['choices'][0]['token_ids'])])[0]
        for a, b in zip(recomputed, lp(after)):
            self.assertAlmostEqual(a, b, places=4)
        guided = self.ok_chat(model=model_id, guided_choice=CHOICES, temperature=0, logprobs=True)
        self.assertEqual(guided['model'], f'{model_id}@1')
        # --keep 3: after three more unnamed versions, versions 0 and 1 are gone.
        for version in (2, 3, 4):
            self.step(model_id, data, lr=0.05)
            self.assertEqual(self.publish(model_id)['version'], version)
        for gone in (0, 1):
            status, response = self.chat(model=f'{model_id}@{gone}')
            self.assertEqual(status, 404, response)
        self.assertEqual(self.published(model_id), {'id': model_id, 'version': 4, 'published': [2, 3, 4], 'pinned': []})

    def test_named_versions_outlive_keep_until_deleted(self):
        model_id = self.model()
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        data = [datum(prompt, ids, logprobs, 1.0)]
        self.step(model_id, data, lr=0.05)
        published = self.publish(model_id, 'league-1')
        self.assertEqual((published['model'], published['path']), (f'{model_id}@1', f'tinker://{model_id}/league-1'), published)
        at_pin = self.ok_chat(model=f'{model_id}@1', temperature=0, max_tokens=4, logprobs=True)
        for version in (2, 3, 4, 5):
            self.step(model_id, data, lr=0.05)
            self.publish(model_id)
        # keep=3 unnamed versions, and the named one however old.
        self.assertEqual(self.published(model_id), {'id': model_id, 'version': 5, 'published': [1, 3, 4, 5], 'pinned': [1]})
        self.assertEqual(self.ok_chat(model=f'{model_id}@1', temperature=0, max_tokens=4, logprobs=True)['choices'], at_pin['choices'])
        self.assertEqual(self.chat(model=f'{model_id}@2')[0], 404)
        # Naming the version already published keeps it without a new version; so does naming it twice.
        self.assertEqual(self.publish(model_id, 'league-5')['version'], 5)
        self.assertEqual(self.publish(model_id, 'also-5')['version'], 5)
        self.assertEqual(self.published(model_id)['pinned'], [1, 5])
        self.assertEqual(self.host.tinker('save_weights_for_sampler', {'model_id': model_id, 'path': 'league-5'}),
                         (409, {'detail': f"Checkpoint 'league-5' already exists for model '{model_id}'"}))
        # Deleted, a name is forgotten at once; its version stays while another name holds it.
        self.assertEqual(self.delete(model_id, 'sampler_weights', 'league-5'), 204)
        self.assertEqual(self.published(model_id)['pinned'], [1, 5])
        self.assertEqual(self.delete(model_id, 'sampler_weights', 'league-1'), 204)
        self.assertEqual(self.delete(model_id, 'sampler_weights', 'league-1'), 404)
        self.assertEqual(self.published(model_id), {'id': model_id, 'version': 5, 'published': [1, 3, 4, 5], 'pinned': [5]})
        sample = {'prompt': {'chunks': [{'tokens': prompt}]}, 'sampling_params': {'max_tokens': 2}, 'model_path': f'tinker://{model_id}/league-1'}
        self.assertEqual(self.host.tinker('asample', sample)[0], 404)
        # ... and its version is trimmed like the others: once keep newer unnamed versions are published.
        self.assertEqual(self.ok_chat(model=f'{model_id}@1', max_tokens=1)['model'], f'{model_id}@1')
        for version in (6, 7, 8):
            self.step(model_id, data, lr=0.05)
            self.publish(model_id)
        self.assertEqual(self.chat(model=f'{model_id}@1')[0], 404)
        self.assertEqual(self.published(model_id), {'id': model_id, 'version': 8, 'published': [5, 6, 7, 8], 'pinned': [5]})
        self.assertEqual(self.ok_chat(model=f'{model_id}@5', max_tokens=1)['model'], f'{model_id}@5')
        # A deleted name may be used again.
        self.assertEqual(self.publish(model_id, 'league-1')['version'], 8)

    def test_a_failed_save_leaves_its_name_free(self):
        # A checkpoint older than the newest published version, loaded, cannot be published under its old number.
        model_id = self.model()
        data = [datum([257, 1, 2], [3, 256], [-1.0, -2.0], 1.0)]
        self.step(model_id, data)
        old = self.host.run('save_weights', {'model_id': model_id, 'path': 'old'})['path']
        for _ in range(4):
            self.step(model_id, data)
            self.publish(model_id)
        self.host.run('load_weights', {'model_id': model_id, 'path': old})
        status, failed = self.host.result(self.host.tinker('save_weights_for_sampler', {'model_id': model_id, 'path': 'again'})[1])
        self.assertEqual(status, 400, failed)
        self.assertIn('versions only grow', failed['detail'])
        sample = {'prompt': {'chunks': [{'tokens': [257]}]}, 'sampling_params': {'max_tokens': 2}, 'model_path': f'tinker://{model_id}/again'}
        self.assertEqual(self.host.tinker('asample', sample)[0], 404)
        self.assertEqual(self.delete(model_id, 'sampler_weights', 'again'), 404)
        # Past the newest published version, the name saves.
        for _ in range(5):
            self.step(model_id, data)
        self.assertEqual(self.publish(model_id, 'again')['version'], 6)

    def test_the_reference_follows_the_training_weights_by_mix(self):
        model_id = self.model()
        policy = self.policy(model_id)
        _, prompt, ids, logprobs = self.guided_sample(model_id)
        data = [datum(prompt, ids, logprobs, 1.0)]
        kl = lambda: self.step(model_id, data, lr=0.05, kl_coef=0.1)[0]['kl:sum']  # noqa: E731
        self.assertEqual(kl(), 0.0)  # the reference is the initial weights
        kl()
        self.assertGreater(kl(), 0)
        reference = [p.clone() for p in policy.reference.parameters()]
        weights = [p.detach().clone() for p in policy.model.parameters()]
        for mix, status in ((0, 422), (-0.5, 422), (1.5, 400), ('x', 422), (None, 422)):
            with self.subTest(mix=mix):
                got, response = self.host.tinker('selfplay/move_reference', {'model_id': model_id, 'mix': mix})
                self.assertEqual(got, status, response)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(policy.reference.parameters(), reference)))
        # reference <- (1 - mix) reference + mix weights
        self.assertEqual(self.host.run('selfplay/move_reference', {'model_id': model_id, 'mix': 0.5}), {'mix': 0.5, 'type': 'move_reference'})
        for now, r, w in zip(policy.reference.parameters(), reference, weights):
            torch.testing.assert_close(now, 0.5 * r + 0.5 * w, rtol=0, atol=1e-7)
        self.host.run('selfplay/move_reference', {'model_id': model_id, 'mix': 1})
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(policy.reference.parameters(), weights)))
        self.assertAlmostEqual(kl(), 0.0, places=6)  # the reference is now the weights it stepped from
        # A checkpoint carries the reference: loaded, the next step's KL is that of the saved state.
        saved = self.host.run('save_weights', {'model_id': model_id, 'path': 'magnet-ref'})['path']
        at_save = [p.clone() for p in policy.reference.parameters()]
        expected = kl()
        kl()
        self.host.run('selfplay/move_reference', {'model_id': model_id, 'mix': 1})
        self.host.run('load_weights', {'model_id': model_id, 'path': saved})
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(policy.reference.parameters(), at_save)))
        self.assertAlmostEqual(kl(), expected, places=6)


if __name__ == '__main__':
    unittest.main()
