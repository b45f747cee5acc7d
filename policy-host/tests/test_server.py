"""The protocol, against a real server on 127.0.0.1. Each training test has a
policy of its own, so tests do not see each other's updates."""

import copy
import json
import os
import threading
import unittest

import torch

from selfplay_host import msgpack, tokenizer

from .helpers import TEST_MODEL, RunningHost, item

POLICIES = ['tiny', 'up', 'down', 'ppo', 'kl', 'fail', 'ckpt', 'pub', 'checks', 'league', 'magnet']
MESSAGES = [{'role': 'system', 'content': 'You play Kuhn poker.'}, {'role': 'user', 'content': 'Valid actions: [check], [bet]'}]
CHOICES = ['[check]', '[bet]', '[fold]']


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

    def step(self, **body):
        status, response = self.host.post_msgpack('/train/step', body)
        self.assertEqual(status, 200, response)
        return response


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
        """Sampled logprobs equal what training recomputes (teacher forcing) on the same weights."""
        r = self.ok_chat(model='tiny', max_tokens=12, logprobs=True, return_token_ids=True, seed=5)
        choice = r['choices'][0]
        recomputed = self.host.logprobs('tiny', [{'prompt_token_ids': r['prompt_token_ids'], 'completion_token_ids': choice['token_ids']}])[0]
        for a, b in zip(recomputed, [t['logprob'] for t in choice['logprobs']['content']]):
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
        # Teacher-forced recomputation on the training weights (still equal to tiny@0).
        scored = self.host.logprobs('tiny', [{'prompt_token_ids': prompt, 'completion_token_ids': tokenizer.encode_completion(c)} for c in CHOICES])
        for a, b in zip(scored[CHOICES.index(choice['message']['content'])], logprobs):
            self.assertAlmostEqual(a, b, places=5)
        # Temperature 0 picks the choice with the highest sequence logprob.
        greedy = self.ok_chat(model='tiny', guided_choice=CHOICES, temperature=0, n=2)
        best = max(range(len(CHOICES)), key=lambda i: sum(scored[i]))
        self.assertEqual([c['message']['content'] for c in greedy['choices']], [CHOICES[best]] * 2)
        many = self.ok_chat(model='tiny', guided_choice=CHOICES, n=16, seed=1)
        self.assertTrue(all(c['message']['content'] in CHOICES for c in many['choices']))

    def test_guided_choice_mean_scoring(self):
        """Sum scoring favours short choices exponentially in a fresh byte model; mean scoring does not."""
        choices = ['[bet]', '[check]']
        summed = self.ok_chat(model='tiny', guided_choice=choices, n=16, seed=3)
        self.assertEqual({c['message']['content'] for c in summed['choices']}, {'[bet]'})
        mean = self.ok_chat(model='tiny', guided_choice=choices, guided_choice_scoring='mean', n=16, seed=3)
        self.assertEqual({c['message']['content'] for c in mean['choices']}, set(choices))
        greedy = self.ok_chat(model='tiny', guided_choice=choices, guided_choice_scoring='mean', temperature=0, return_token_ids=True)
        prompt = greedy['prompt_token_ids']
        scored = self.host.logprobs('tiny', [{'prompt_token_ids': prompt, 'completion_token_ids': tokenizer.encode_completion(c)} for c in choices])
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

    def test_tolerates_openai_client_fields(self):
        r = self.ok_chat(model='tiny', max_tokens=None, max_completion_tokens=3, stream=False, top_p=0.9, user='me', frequency_penalty=0,
                         messages=[{'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}])
        self.assertLessEqual(r['usage']['completion_tokens'], 3)


class Training(ServerTest):
    def test_msgpack_and_json_round_trips(self):
        body = {'policy': 'tiny', 'items': [{'prompt_token_ids': [257, 1, 2], 'completion_token_ids': [3, 256]}]}
        status, ctype, raw = self.host.request('POST', '/train/forward', msgpack.packb(body), 'application/msgpack')
        self.assertEqual((status, ctype), (200, 'application/msgpack'))
        decoded = msgpack.unpackb(raw)
        self.assertEqual(len(decoded['logprobs'][0]), 2)
        status, as_json = self.host.post('/train/forward', body)
        self.assertEqual(status, 200)
        self.assertEqual(as_json['logprobs'], decoded['logprobs'])
        status, response = self.host.post_msgpack('/train/forward', b'\x81\xa6policy')
        self.assertEqual(status, 400)
        self.assertIn('msgpack', response['error']['message'])
        status, _, _ = self.host.request('POST', '/train/forward', b'x', 'text/plain')
        self.assertEqual(status, 415)

    def test_positive_advantage_raises_the_logprob(self):
        self.assert_step_moves('up', 1.0, 1)

    def test_negative_advantage_lowers_the_logprob(self):
        self.assert_step_moves('down', -1.0, -1)

    def assert_step_moves(self, policy, advantage, sign):
        _, prompt, ids, logprobs = self.guided_sample(policy)
        r = self.step(policy=policy, loss='importance-sampling', learning_rate=1e-2, items=[item(prompt, ids, logprobs, advantage)])
        self.assertEqual(r['version'], 1)
        self.assertEqual((r['samples'], r['tokens']), (1, len(ids)))
        self.assertAlmostEqual(r['kl_sampler'], 0.0, places=5)
        self.assertAlmostEqual(r['loss'], -advantage, places=4)  # ratio 1 before the update: loss = -mean(A)
        for key in ('grad_norm', 'ms', 'entropy', 'clip_fraction'):
            self.assertIn(key, r)
        after = self.host.logprobs(policy, [{'prompt_token_ids': prompt, 'completion_token_ids': ids}])[0]
        self.assertGreater(sign * (sum(after) - sum(logprobs)), 0.1)

    def test_ppo_clip_fraction(self):
        _, prompt, ids, before = self.guided_sample('ppo')
        fresh = {'policy': 'ppo', 'loss': 'ppo-clip', 'clip_epsilon': 0.2, 'items': [item(prompt, ids, before, 1.0)]}
        status, r = self.host.post_msgpack('/train/forward_backward', fresh)
        self.assertEqual(status, 200, r)
        self.assertEqual(r['clip_fraction'], 0.0)
        self.assertAlmostEqual(r['ratio_mean'], 1.0, places=5)
        self.assertEqual(r['pending_samples'], 1)
        status, r = self.host.post_msgpack('/train/optim_step', {'policy': 'ppo', 'learning_rate': 0.05})
        self.assertEqual((status, r['version'], r['samples']), (200, 1, 1), r)
        # Judged against the old logprobs, the moved tokens now lie outside [0.8, 1.2] on the side the advantage pushed.
        status, r = self.host.post_msgpack('/train/forward_backward', fresh)
        self.assertEqual(status, 200, r)
        self.assertGreater(r['ratio_mean'], 1.2)
        self.assertGreater(r['clip_fraction'], 0.5)
        # Plain importance sampling is not clipped: its gradient is larger than ppo-clip's on the same batch.
        status, ppo = self.host.post_msgpack('/train/optim_step', {'policy': 'ppo', 'learning_rate': 0.0})
        self.assertEqual(status, 200, ppo)
        status, r = self.host.post_msgpack('/train/forward_backward', {**fresh, 'loss': 'importance-sampling'})
        self.assertEqual(status, 200, r)
        self.assertGreater(r['clip_fraction'], 0.5)  # reported for importance sampling too, though nothing is clipped
        status, plain = self.host.post_msgpack('/train/optim_step', {'policy': 'ppo', 'learning_rate': 0.0})
        self.assertGreater(plain['grad_norm'], ppo['grad_norm'])

    def test_kl_is_zero_before_any_update(self):
        _, prompt, ids, logprobs = self.guided_sample('kl')
        body = {'policy': 'kl', 'loss': 'importance-sampling', 'kl_coef': 0.5, 'learning_rate': 0.05, 'items': [item(prompt, ids, logprobs, 1.0)]}
        r = self.step(**body)
        self.assertEqual(r['kl'], 0.0)
        r = self.step(**body)
        self.assertGreater(r['kl'], 0.0)
        r = self.step(**{**body, 'kl_coef': 0})
        self.assertIsNone(r['kl'])

    def test_failed_step_changes_nothing(self):
        _, prompt, ids, logprobs = self.guided_sample('fail')
        good = {'policy': 'fail', 'loss': 'importance-sampling', 'learning_rate': 1e-2, 'items': [item(prompt, ids, logprobs, 1.0)]}
        self.step(**good)
        policy = self.host.host.registry.policies['fail']
        params = [p.detach().clone() for p in policy.model.parameters()]
        state = copy.deepcopy(policy.optimizer.state_dict())
        status, r = self.host.post_msgpack('/train/step', {**good, 'items': [item(prompt, ids, logprobs, 3e38)]})
        self.assertEqual(status, 422, r)
        self.assertEqual(r['error']['type'], 'step_rejected')
        status, r = self.host.post_msgpack('/train/forward_backward', {**good, 'items': [item(prompt, ids, logprobs, -3e38)]})
        self.assertEqual(status, 422, r)
        self.assertEqual(policy.version, 1)
        self.assertIsNone(policy.pending)
        for p, saved in zip(policy.model.parameters(), params):
            self.assertTrue(torch.equal(p, saved))
        now = policy.optimizer.state_dict()
        for key, values in state['state'].items():
            for name, value in values.items():
                self.assertTrue(torch.equal(torch.as_tensor(now['state'][key][name]), torch.as_tensor(value)))
        self.assertEqual(self.step(**good)['version'], 2)

    def test_validation(self):
        good = item([257, 1, 2], [3, 256], [-1.0, -2.0], 1.0)
        base = {'policy': 'checks', 'loss': 'importance-sampling', 'learning_rate': 1e-3}
        cases = [
            ({**base, 'items': [good, {**good, 'logprobs': [-1.0]}]}, 400, 'items[1].logprobs'),
            ({**base, 'items': [{**good, 'completion_token_ids': [3, 300]}]}, 400, 'items[0].completion_token_ids'),
            ({**base, 'items': [{**good, 'prompt_token_ids': [257, -1]}]}, 400, 'items[0].prompt_token_ids'),
            ({**base, 'items': [{**good, 'prompt_token_ids': []}]}, 400, 'prompt_token_ids'),
            ({**base, 'items': [{**good, 'logprobs': [float('nan'), -1.0]}]}, 400, 'finite'),
            ({**base, 'items': [{**good, 'advantages': [1.0, float('inf')]}]}, 400, 'finite'),
            ({**base, 'items': [{**good, 'advantages': 'high'}]}, 400, 'advantages'),
            ({**base, 'items': [{**good, 'loss_mask': [1, 2]}]}, 400, 'loss_mask'),
            ({**base, 'items': [{**good, 'loss_mask': [0, 0]}]}, 400, 'masked'),
            ({**base, 'items': [{**good, 'prompt_token_ids': [1] * 127}]}, 400, 'context'),
            ({**base, 'items': []}, 400, 'items'),
            ({**base, 'items': [good] * 4097}, 400, 'items'),
            ({**base, 'loss': 'dpo', 'items': [good]}, 400, 'loss'),
            ({**base, 'learning_rate': -1, 'items': [good]}, 400, 'learning_rate'),
            ({**base, 'clip_epsilon': 0, 'items': [good]}, 400, 'clip_epsilon'),
            ({**base, 'policy': 'ghost', 'items': [good]}, 404, 'ghost'),
        ]
        for body, status, reason in cases:
            with self.subTest(reason=reason):
                got, response = self.host.post_msgpack('/train/step', body)
                self.assertEqual(got, status, response)
                self.assertIn(reason, response['error']['message'])
        status, response = self.host.post_msgpack('/train/optim_step', {'policy': 'checks', 'learning_rate': 1e-3})
        self.assertEqual(status, 409, response)
        status, response = self.host.post_msgpack('/train/step', {**base, 'items': [good], 'pad': b'\0' * (1024 * 1024)})
        self.assertEqual(status, 413, response)
        self.assertEqual(self.host.host.registry.policies['checks'].version, 0)


class Policies(ServerTest):
    def test_checkpoint_and_load_restore_exactly(self):
        _, prompt, ids, logprobs = self.guided_sample('ckpt')
        body = {'policy': 'ckpt', 'loss': 'importance-sampling', 'learning_rate': 1e-2, 'items': [item(prompt, ids, logprobs, 1.0)]}
        seq = [{'prompt_token_ids': prompt, 'completion_token_ids': ids}]
        self.step(**body)
        status, saved = self.host.post('/policies/ckpt/checkpoint', {'name': 'round-trip'})
        self.assertEqual(status, 200, saved)
        self.assertEqual(saved['version'], 1)
        self.assertTrue(saved['path'].startswith(os.path.realpath(self.host.checkpoint_dir)))
        at_save = self.host.logprobs('ckpt', seq)
        self.step(**body)
        continued = self.host.logprobs('ckpt', seq)
        status, loaded = self.host.post('/policies/ckpt/load', {'path': saved['path']})
        self.assertEqual((status, loaded['version']), (200, 1), loaded)
        self.assertEqual(self.host.logprobs('ckpt', seq), at_save)
        # The optimizer state came back too: the same step gives the same weights.
        self.assertEqual(self.step(**body)['version'], 2)
        self.assertEqual(self.host.logprobs('ckpt', seq), continued)
        # Relative paths are read inside the checkpoint directory; the default name carries the version.
        status, loaded = self.host.post('/policies/ckpt/load', {'path': 'round-trip.pt'})
        self.assertEqual(status, 200, loaded)
        status, saved = self.host.post('/policies/ckpt/checkpoint', {})
        self.assertEqual((status, os.path.basename(saved['path'])), (200, 'ckpt-v1.pt'))

    def test_paths_that_escape_are_rejected(self):
        outside = os.path.join(os.path.dirname(self.host.checkpoint_dir), 'outside.pt')
        link = os.path.join(self.host.checkpoint_dir, 'link.pt')
        os.makedirs(self.host.checkpoint_dir, exist_ok=True)
        os.symlink(outside, link)
        for path in ('../outside.pt', '/etc/passwd', outside, 'link.pt', '.', 'sub/../../x.pt'):
            with self.subTest(path=path):
                status, response = self.host.post('/policies/ckpt/load', {'path': path})
                self.assertEqual(status, 400, response)
                self.assertIn('outside', response['error']['message'])
        status, response = self.host.post('/policies/ckpt/load', {'path': 'missing.pt'})
        self.assertEqual(status, 404, response)
        for name in ('../x', 'a/b', '.hidden', ''):
            with self.subTest(name=name):
                status, response = self.host.post('/policies/ckpt/checkpoint', {'name': name})
                self.assertEqual(status, 400, response)
        with open(os.path.join(self.host.checkpoint_dir, 'junk.pt'), 'wb') as f:
            f.write(b'not a checkpoint')
        status, response = self.host.post('/policies/ckpt/load', {'path': 'junk.pt'})
        self.assertEqual(status, 400, response)

    def test_unusable_paths_get_400(self):
        for path in ('a\u0000b', '/tmp/x\u0000.pt', '\u0000', 'lone-\ud800-surrogate.pt'):
            with self.subTest(path=path):
                status, response = self.host.post('/policies/ckpt/load', {'path': path})
                self.assertEqual(status, 400, response)
                self.assertEqual(response['error']['param'], 'path')
                self.assertIn('not a usable path', response['error']['message'])

    def test_unknown_policy(self):
        for action in ('checkpoint', 'load', 'publish', 'reference'):
            status, response = self.host.post(f'/policies/ghost/{action}', {'path': 'x.pt'})
            self.assertEqual(status, 404, response)
            self.assertEqual(response['error']['code'], 'policy_not_found')

    def test_publish_switches_the_bare_name(self):
        _, prompt, ids, logprobs = self.guided_sample('pub', temperature=0)
        before = self.ok_chat(model='pub', temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(before['model'], 'pub@0')
        body = {'policy': 'pub', 'loss': 'importance-sampling', 'learning_rate': 0.05, 'items': [item(prompt, ids, logprobs, 1.0)]}
        self.step(**body)
        # Training alone does not change what samplers see.
        self.assertEqual(self.ok_chat(model='pub', max_tokens=1)['model'], 'pub@0')
        status, published = self.host.post('/policies/pub/publish', {})
        self.assertEqual((status, published['model'], published['version']), (200, 'pub@1', 1), published)
        self.assertEqual(self.host.post('/policies/pub/publish', {})[1]['version'], 1)  # nothing new: same version
        after = self.ok_chat(model='pub', temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(after['model'], 'pub@1')
        old = self.ok_chat(model='pub@0', temperature=0, max_tokens=8, logprobs=True, return_token_ids=True)
        self.assertEqual(old['choices'][0]['token_ids'], before['choices'][0]['token_ids'])
        lp = lambda r: [t['logprob'] for t in r['choices'][0]['logprobs']['content']]
        self.assertEqual(lp(old), lp(before))
        self.assertNotEqual(lp(after)[0], lp(before)[0])
        guided = self.ok_chat(model='pub', guided_choice=CHOICES, temperature=0, logprobs=True)
        self.assertEqual(guided['model'], 'pub@1')
        # --keep 3: after three more versions, pub@0 is gone.
        for version in (2, 3, 4):
            self.step(**body)
            self.assertEqual(self.host.post('/policies/pub/publish', {})[1]['version'], version)
        status, response = self.chat(model='pub@0')
        self.assertEqual(status, 404, response)
        status, health = self.host.get('/health')
        self.assertEqual(next(p for p in health['policies'] if p['id'] == 'pub'), {'id': 'pub', 'version': 4, 'published': [2, 3, 4], 'pinned': []})

    def test_pinned_versions_outlive_keep(self):
        _, prompt, ids, logprobs = self.guided_sample('league')
        body = {'policy': 'league', 'loss': 'importance-sampling', 'learning_rate': 0.05, 'items': [item(prompt, ids, logprobs, 1.0)]}
        self.step(**body)
        status, published = self.host.post('/policies/league/publish', {'pin': True})
        self.assertEqual((status, published['model'], published['pinned']), (200, 'league@1', [1]), published)
        at_pin = self.ok_chat(model='league@1', temperature=0, max_tokens=4, logprobs=True)
        for version in (2, 3, 4, 5):
            self.step(**body)
            published = self.host.post('/policies/league/publish', {})[1]
        # keep=3 unpinned versions, and the pinned one however old.
        self.assertEqual((published['published'], published['pinned']), ([1, 3, 4, 5], [1]))
        self.assertEqual(self.ok_chat(model='league@1', temperature=0, max_tokens=4, logprobs=True)['choices'], at_pin['choices'])
        self.assertEqual(self.chat(model='league@2')[0], 404)
        # Pinning the version already published pins it without a new version.
        self.assertEqual(self.host.post('/policies/league/publish', {'pin': True})[1]['pinned'], [1, 5])
        status, response = self.host.post('/policies/league/publish', {'pin': 'yes'})
        self.assertEqual((status, response['error']['param']), (400, 'pin'), response)

    def test_reference_follows_the_training_weights_by_mix(self):
        _, prompt, ids, logprobs = self.guided_sample('magnet')
        body = {'policy': 'magnet', 'loss': 'importance-sampling', 'learning_rate': 0.05, 'kl_coef': 0.1, 'items': [item(prompt, ids, logprobs, 1.0)]}
        self.assertEqual(self.step(**body)['kl'], 0.0)  # the reference is the initial weights
        self.step(**body)
        drifted = self.step(**body)['kl']
        self.assertGreater(drifted, 0)
        for mix in (0, -0.5, 1.5, 'x'):
            with self.subTest(mix=mix):
                status, response = self.host.post('/policies/magnet/reference', {'mix': mix})
                self.assertEqual((status, response['error']['param']), (400, 'mix'), response)
        status, moved = self.host.post('/policies/magnet/reference', {'mix': 1})
        self.assertEqual((status, moved), (200, {'version': 3, 'mix': 1.0}))
        self.assertAlmostEqual(self.step(**body)['kl'], 0.0, places=6)  # the reference is now the weights it stepped from
        # A checkpoint carries the reference: loaded, the next step's KL is that of the saved state.
        status, saved = self.host.post('/policies/magnet/checkpoint', {'name': 'magnet-ref'})
        self.assertEqual(status, 200, saved)
        expected = self.step(**body)['kl']
        self.step(**body)
        self.host.post('/policies/magnet/reference', {'mix': 1})
        self.assertEqual(self.host.post('/policies/magnet/load', {'path': saved['path']})[0], 200)
        self.assertAlmostEqual(self.step(**body)['kl'], expected, places=6)
        half = self.host.post('/policies/magnet/reference', {'mix': 0.5})
        self.assertEqual(half[0], 200, half)


if __name__ == '__main__':
    unittest.main()
